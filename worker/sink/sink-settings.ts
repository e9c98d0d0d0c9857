/** The sink's settings, what the process plugs into it, its counters, and the error `onFatal` gets. */
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { describeError, type KinesisErrorKind } from '../../shared/aws/kinesis-errors';
import type { BackoffPolicy } from '../../shared/backoff';
import type { Clock } from '../../shared/clock';
import type { BatchLimits } from './batch-packer';
import type { BufferBudget } from './buffer-budget';

/** While the output fails, retries are at most this far apart (whatever `backoff.maxMs` says). */
export const FAILING_RETRY_MAX_MS = 5000;

export interface SinkSettings extends BatchLimits {
  /** The output's property group (`OutputStream0`, …): the `output` label of the sink's metrics. Default `OutputStream0`. */
  output?: string;
  lingerMs: number;
  /** ADAPTIVE: send a partial request when the sink is idle (`flush-policy.ts`); FIXED: wait `lingerMs`. FIXED when unset here; the configuration's default is ADAPTIVE. */
  flushMode?: 'ADAPTIVE' | 'FIXED';
  maxInFlightRequests: number;
  maxBufferedRecords: number;
  /** KEY: at most one request per partition key in flight, carrying the key's run in order. Default KEY. */
  ordering?: 'KEY' | 'NONE';
  /** KPL: pack records into aggregated records by output shard. Default NONE. */
  aggregation?: 'NONE' | 'KPL';
  /** With KPL: the largest aggregate. */
  maxAggregateBytes?: number;
  backoff?: BackoffPolicy;
  /**
   * sink.fail-on-error: the first non-retryable PutRecords error calls `onFatal` and the sink sends
   * nothing more, instead of retrying until the output is back. Needs `onFatal`; without one the sink
   * retries (and says so once). Default false.
   */
  failOnError?: boolean;
}

/** What the process around the sink plugs in. */
export interface SinkOptions {
  /** With `failOnError`: called once, with the first non-retryable error; the worker exits non-zero. */
  onFatal?: (err: OutputStreamError) => void;
  /** For pauses, the linger and log intervals. Default the monotonic clock. */
  clock?: Clock;
  /** For `outputFailure.since` (a date). Default the wall clock. */
  wallClock?: Clock;
  /** The room it shares with the other outputs' sinks (`buffer-budget.ts`); default its own, of `maxBufferedRecords`. */
  budget?: BufferBudget;
}

/** A non-retryable PutRecords error of the output stream, as `onFatal` gets it. */
export class OutputStreamError extends Error {
  override readonly name = 'OutputStreamError';

  constructor(
    readonly streamArn: string,
    readonly kind: KinesisErrorKind,
    override readonly cause: unknown,
  ) {
    super(`PutRecords to ${streamArn} failed with a non-retryable error (${kind}): ${describeError(cause)}`);
  }
}

export function sinkSettings(output: OutputStreamConfig): SinkSettings {
  return {
    output: output.group,
    maxRecords: output.maxBatchRecords,
    maxBytes: output.maxBatchBytes,
    lingerMs: output.lingerMs,
    flushMode: output.flushMode,
    maxInFlightRequests: output.maxInFlightRequests,
    maxBufferedRecords: output.maxBufferedRecords,
    ordering: output.ordering,
    aggregation: output.aggregation,
    maxAggregateBytes: output.maxAggregateBytes,
    failOnError: output.failOnError,
  };
}

export interface SinkStats {
  recordsWritten: number;
  bytesWritten: number;
  requests: number;
  retriedRecords: number;
  throttledRecords: number;
  failedRequests: number;
  /** Unsent records dropped because their lease was lost or handed back (`abandon`). */
  droppedRecords: number;
  /** With KEY ordering: records that land after a newer record of their key (refused while it was accepted in the same request). */
  orderViolations: number;
  /** With KPL: Kinesis records written that were aggregates (the others carried one record each). */
  aggregatesWritten: number;
  /** With KPL: records re-sent because their aggregate landed on a shard whose range does not hold them (after a reshard). */
  misplacedRecords: number;
  /** Records Kinesis refused for themselves (found by bisection): their writers dead-letter them. */
  refusedRecords: number;
}

export function emptyStats(): SinkStats {
  return { recordsWritten: 0, bytesWritten: 0, requests: 0, retriedRecords: 0, throttledRecords: 0, failedRequests: 0, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 };
}
