/**
 * The batched sink: writes records to the output stream with PutRecords, and resolves each `write` once
 * Kinesis has acknowledged its records (or refused one for itself). It ties the parts, each of which
 * holds one job and says how it does it:
 *
 * - `sink-buffer.ts`: the bounded buffer and its reservations (a slow output slows the readers down);
 * - `request-picker.ts`: which records form the next request (arrival order, key order, KPL aggregates);
 * - `flush-policy.ts`: when a partial request goes (FIXED, ADAPTIVE);
 * - `rate-limiting.ts`: how many requests may be in flight (AIMD, as Flink's sink);
 * - `retry-pause.ts`: the backoff before sending again after refused records;
 * - `put-answer.ts`, `aggregation/landing-check.ts`: what an answer acknowledged, and what goes again;
 * - `output-health.ts`: whether the output takes writes (failing after a non-retryable answer);
 * - `refused-requests.ts`, `bisection.ts`: a request refused whole, bisected to the records at fault.
 *
 * A partial failure re-sends only the refused records, at the front of the queue. Records of a lease that
 * was lost or handed back are dropped before they are sent: the new owner re-reads them. A non-retryable
 * answer (the stream deleted, access or its KMS key denied) makes the output fail: records wait, none
 * dropped, and one request at a time probes it at most `FAILING_RETRY_MAX_MS` apart; with `failOnError`
 * the first such answer calls `onFatal` instead and nothing more is sent.
 */
import type { RecordPutter, ShardLister, StreamPing } from '../../shared/aws/kinesis-gateway';
import { monotonicClock, wallClock } from '../../shared/clock';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import type { Logger } from '../../shared/logging';
import type { OutputRecord } from '../../shared/records';
import { isFullBatch, recordSize } from './batch-packer';
import { OutputShardMap } from './aggregation/output-shard-map';
import { FlushPolicy } from './flush-policy';
import { OutputHealth, type OutputFailure } from './output-health';
import { AimdRateLimiting, type RateLimitingStrategy } from './rate-limiting';
import { RequestPicker } from './request-picker';
import { RequestSender } from './request-sender';
import { RetryPause } from './retry-pause';
import { SinkBuffer } from './sink-buffer';
import { WriteGroup, type SinkEntry } from './sink-entry';
import type { RecordOwner, RejectedRecord, SinkPort } from './sink-port';
import { emptyStats, type SinkOptions, type SinkSettings } from './sink-settings';

export { FAILING_RETRY_MAX_MS, OutputStreamError, sinkSettings, type SinkOptions, type SinkSettings, type SinkStats } from './sink-settings';
export type { OutputFailure, RecordOwner, RejectedRecord };

export class KinesisSink implements SinkPort {
  readonly stats = emptyStats();
  private readonly buffer: SinkBuffer;
  private readonly picker: RequestPicker;
  private readonly limiter: RateLimitingStrategy;
  private readonly flushPolicy: FlushPolicy;
  private readonly retryPause: RetryPause;
  private readonly health: OutputHealth;
  private readonly sender: RequestSender;
  /** With KPL: the output's shard ranges. */
  private readonly shardMap: OutputShardMap | undefined;
  private shardMapLoading = false;

  /** With `aggregation: 'KPL'` the putter must also list shards (the gateway does both); `ping` lets a bisection ask the stream. */
  constructor(putter: RecordPutter & Partial<ShardLister> & Partial<StreamPing>, streamArn: string, private readonly settings: SinkSettings, log: Logger, options: SinkOptions = {}) {
    const clock = options.clock ?? monotonicClock;
    const buffer = (this.buffer = new SinkBuffer(options.budget ?? settings.maxBufferedRecords));
    this.picker = new RequestPicker(settings);
    this.limiter = new AimdRateLimiting(settings.maxInFlightRequests);
    const inFlight = () => this.sender.inFlight;
    this.flushPolicy = new FlushPolicy(settings.flushMode ?? 'FIXED', settings.lingerMs, {
      get pendingCount() {
        return buffer.pending.length;
      },
      get inFlight() {
        return inFlight();
      },
      limiter: this.limiter,
      pump: (eager) => this.pump(eager),
    });
    this.retryPause = new RetryPause(clock, () => {
      this.flushPolicy.expire(); // retries do not wait for another linger period
      this.pump();
    });
    this.health = new OutputHealth(log, () => ({ records: buffer.buffered, maxAttempts: buffer.maxAttempts() }), clock, options.wallClock ?? wallClock, settings.output);
    if (settings.failOnError && !options.onFatal) log.warn('sink.fail-on-error is set but nothing stops the process on a failure here; non-retryable PutRecords errors are retried instead');
    if (settings.aggregation === 'KPL') {
      if (!putter.listShards) throw new Error('KPL aggregation needs a putter that lists shards');
      this.shardMap = new OutputShardMap(putter as ShardLister, streamArn);
    }
    const { stats, picker, limiter, flushPolicy, retryPause, health, shardMap } = this;
    this.sender = new RequestSender({ putter, streamArn, settings, options, log, clock, stats, buffer, picker, limiter, flushPolicy, retryPause, health, shardMap, pump: () => this.pump() });
  }

  /** Requests currently allowed in flight. */
  get requestLimit(): number {
    return this.limiter.limit;
  }

  /** True while the output pushes back: throttled recently (fewer requests allowed), pausing to retry, or failing. */
  get congested(): boolean {
    return this.limiter.pushedBack || this.retryPause.active || this.health.failing;
  }

  /** Undefined while the output takes writes; else since when it fails and why (`/readyz` reads it). */
  get outputFailure(): OutputFailure | undefined {
    return this.health.failure;
  }

  /** False while the output fails: readers should not read more (see `waitUntilAccepting`). */
  get accepting(): boolean {
    return !this.health.failing;
  }

  /** Resolves when the output takes writes again, or the signal aborts; never after `failOnError` stopped the sink. */
  waitUntilAccepting(signal?: AbortSignal): Promise<void> {
    return this.health.waitUntilHealthy(signal);
  }

  get room(): number {
    return this.buffer.room;
  }

  /** Records accepted but not yet acknowledged. */
  get buffered(): number {
    return this.buffer.buffered;
  }

  reserve(count: number, signal?: AbortSignal): Promise<void> {
    return this.buffer.reserve(count, signal);
  }

  /**
   * Queues records; resolves once Kinesis has acknowledged each of them or refused it for itself (with
   * the refused ones, for their writer to dead-letter). Never resolves for records dropped because
   * `owner` lost its lease.
   */
  write(records: readonly OutputRecord[], owner?: RecordOwner): Promise<readonly RejectedRecord[]> {
    if (this.sender.closed) throw new Error('sink is closed');
    const group = new WriteGroup(records.length);
    const pending = this.buffer.pending;
    let bytes = 0;
    for (const record of records) {
      const size = recordSize(record.partitionKey, record.data);
      const hashKey = this.shardMap ? partitionKeyHash(record.partitionKey) : 0n;
      const entry: SinkEntry = { data: record.data, key: record.partitionKey, hashKey, size, group, owner, attempts: 0, inputSequenceNumber: record.inputSequenceNumber, inputSubSequenceNumber: record.inputSubSequenceNumber };
      if (record.explicitHashKey !== undefined) (entry as { explicitHashKey?: string }).explicitHashKey = record.explicitHashKey;
      pending.push(entry);
      bytes += size;
    }
    this.buffer.added(records.length, bytes, owner);
    this.flushPolicy.recordsWaiting();
    this.pump();
    this.flushPolicy.written(records.length);
    return group.done;
  }

  /** Sends everything buffered now; resolves when nothing is left unacknowledged, or the signal aborts. */
  flush(signal?: AbortSignal): Promise<void> {
    if (this.buffer.buffered === 0) return Promise.resolve();
    this.flushPolicy.expire();
    this.pump();
    return this.buffer.empty(signal);
  }

  /**
   * The owner's lease was handed back: its unsent records leave the buffer at once (their `write`
   * promises never resolve; the next owner re-reads them); records in flight finish, and are dropped
   * if they come back for a retry. A later `write` by the owner is kept. Returns how many were removed.
   */
  abandon(owner: RecordOwner): number {
    this.buffer.abandon(owner);
    return this.dropGone();
  }

  /** Stops timers and sending (answers of requests in flight are still taken); call after flush. */
  close(): void {
    this.sender.closed = true;
    this.flushPolicy.close();
    this.retryPause.close();
  }

  /** Sends full requests while there is room; partial ones too when the flush policy lets them (`eager`: one may go now). */
  private pump(eager = false): void {
    const sender = this.sender;
    if (sender.closed || sender.halted || this.retryPause.active) return;
    if (this.shardMap && !this.shardMap.ranges) {
      if (!this.shardMapLoading) {
        this.shardMapLoading = true;
        void sender.loadShardMap().finally(() => (this.shardMapLoading = false));
      }
      return;
    }
    this.dropGone();
    const buffer = this.buffer;
    while (sender.inFlight < this.limiter.limit && buffer.pending.length > 0) {
      const full = isFullBatch(buffer.pending.length, buffer.pendingBytes, this.settings);
      if (!full && !this.flushPolicy.partialMayGo(eager, buffer.flushing)) break;
      const request = this.picker.take(buffer, this.shardMap?.ranges);
      if (!request) break; // every pending key is in flight: wait for an answer
      // Nagle: one partial request per eager pump; what gathers meanwhile waits for its answer.
      if (!full) eager = false;
      void sender.send(request, !full);
    }
    if (buffer.pending.length === 0) this.flushPolicy.emptied();
    // After the sends above, so an idle sink means nothing could be sent (see RefusalSink.idle).
    sender.refusals.pump();
  }

  private dropGone(): number {
    const dropped = this.buffer.dropGone();
    if (dropped > 0) {
      this.stats.droppedRecords += dropped;
      this.picker.reset();
    }
    return dropped;
  }
}
