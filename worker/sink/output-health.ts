/**
 * Whether the output stream takes writes, as the sink sees it. A PutRecords request that fails with a
 * non-retryable error (`classifyKinesisError` says 'fatal' or 'not-found': the stream deleted, access
 * or a KMS key denied, a validation error) starts the *failing* state; only a request that gets records
 * accepted ends it. Retryable errors while failing (throttling, transient) keep it.
 *
 * While failing, the failure is logged once at once and then at most once a minute (with the attempts
 * failed since the last line), not once per retry; `shardflow_sink_output_failing` is 1. Time comes
 * from injected clocks (a monotonic one for the intervals, the wall clock for `since`), so the
 * one-line-per-minute rule is tested without waiting.
 */
import { describeError, type KinesisErrorKind } from '../../shared/aws/kinesis-errors';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import { Waiters } from './waiters';

/** A failing output, readable synchronously (the worker's `/readyz` reports it). */
export interface OutputFailure {
  /** The last non-retryable error, as "Name: message". */
  readonly error: string;
  /** When the output started failing, in ms since the epoch (by the sink's clock). */
  readonly since: number;
  /** PutRecords attempts failed since then, the first one included. */
  readonly attempts: number;
}

/** What waits for the output, for the log lines. */
export interface WaitingRecords {
  /** Records accepted by the sink and not acknowledged. */
  readonly records: number;
  /** The most PutRecords attempts any waiting record has had. */
  readonly maxAttempts: number;
}

/** At most one error line per this period while the output fails. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;

const HINTS: Partial<Record<KinesisErrorKind, string>> = {
  'not-found': 'the output stream does not exist (deleted, or a wrong stream.arn)',
  fatal: "check the output stream's permissions (kinesis:PutRecords, and kms:GenerateDataKey for an encrypted stream), its KMS key and the request",
};

export class OutputHealth {
  /** `since`: a date (wall clock); `started`: by the monotonic clock, for durations. */
  private current: { error: string; since: number; started: number; attempts: number } | undefined;
  private lastLineAt = 0;
  private attemptsSinceLine = 0;
  private readonly waiters = new Waiters();

  constructor(
    private readonly log: Logger,
    private readonly waiting: () => WaitingRecords,
    private readonly clock: Clock,
    private readonly wallClock: Clock,
    /** The `output` label of its metrics. */
    private readonly output = 'OutputStream0',
  ) {
    // A series from the start: an output that never failed shows 0, not nothing (alerts read its absence as unknown).
    metrics().sinkOutputFailing.set({ output }, 0);
  }

  get failing(): boolean {
    return this.current !== undefined;
  }

  /** Undefined while the output takes writes. */
  get failure(): OutputFailure | undefined {
    const current = this.current;
    return current && { error: current.error, since: current.since, attempts: current.attempts };
  }

  /**
   * A request failed with a non-retryable error: starts the failing state (logged at once) or adds an
   * attempt to it. Returns true when it starts the failing state.
   */
  nonRetryable(err: unknown, kind: KinesisErrorKind): boolean {
    metrics().sinkFatalErrors.inc({ output: this.output, error: errorName(err) });
    const error = describeError(err);
    if (this.current) {
      this.current.error = error;
      this.attemptFailed();
      return false;
    }
    const now = this.clock();
    this.current = { error, since: this.wallClock(), started: now, attempts: 1 };
    this.lastLineAt = now;
    this.attemptsSinceLine = 0;
    metrics().sinkOutputFailing.set({ output: this.output }, 1);
    const waiting = this.waiting();
    this.log.error(
      { err: error, kind, hint: HINTS[kind], waitingRecords: waiting.records, maxRecordAttempts: waiting.maxAttempts },
      'output stream not writable: PutRecords failed with a non-retryable error; records wait (none dropped) and are retried every few seconds until it is writable again (logged once a minute while it lasts)',
    );
    return true;
  }

  /** Any failed attempt while failing (retryable ones too): counted, and logged at most once a minute. */
  attemptFailed(): void {
    const current = this.current;
    if (!current) return;
    current.attempts += 1;
    this.attemptsSinceLine += 1;
    const now = this.clock();
    if (now - this.lastLineAt < FAILURE_LOG_INTERVAL_MS) return;
    const waiting = this.waiting();
    this.log.error(
      { err: current.error, failingForMs: now - current.started, failedAttempts: this.attemptsSinceLine, totalAttempts: current.attempts, waitingRecords: waiting.records, maxRecordAttempts: waiting.maxAttempts },
      'output stream still not writable; records wait and are retried',
    );
    this.lastLineAt = now;
    this.attemptsSinceLine = 0;
  }

  /** A request got records accepted: the output takes writes again. */
  succeeded(): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    metrics().sinkOutputFailing.set({ output: this.output }, 0);
    const waiting = this.waiting();
    this.log.info(
      { failedForMs: this.clock() - current.started, failedAttempts: current.attempts, lastError: current.error, waitingRecords: waiting.records, maxRecordAttempts: waiting.maxAttempts },
      'output stream writable again',
    );
    this.waiters.wakeAll();
  }

  /** Resolves when the output is healthy (at once if it is), or when the signal aborts. */
  waitUntilHealthy(signal?: AbortSignal): Promise<void> {
    if (!this.current) return Promise.resolve();
    return this.waiters.wait(signal);
  }
}

/** The error's name for the metric label (a small set: the SDK's exception names). */
export function errorName(err: unknown): string {
  const name = (err as { name?: unknown })?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'Error';
}
