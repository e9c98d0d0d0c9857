/**
 * Sends the sink's PutRecords requests and carries out what each answer says: acknowledged records
 * resolve their writes; refused ones go back to the front of the buffer (the picker frees their keys);
 * throttling lowers the requests allowed in flight and pauses with backoff; a whole request refused for
 * what it carries goes to the bisection (`refused-requests.ts`); a non-retryable answer makes the output
 * fail (`output-health.ts`), or, with `failOnError`, stops the sink and calls `onFatal`. Per-key order
 * breaks that no sink can repair (a refused record followed by an accepted one of its key in one plain
 * request) are counted and logged, never hidden.
 */
import type { RecordPutter, ShardLister, StreamPing } from '../../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError, isRequestRefusal, type KinesisErrorKind } from '../../shared/aws/kinesis-errors';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../shared/backoff';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import { checkLanded } from './aggregation/landing-check';
import type { OutputShardMap } from './aggregation/output-shard-map';
import type { FlushPolicy } from './flush-policy';
import { newlyOvertaken } from './key-order';
import type { OutputHealth } from './output-health';
import { acceptedFlags, sortAnswer } from './put-answer';
import type { RateLimitingStrategy } from './rate-limiting';
import { refusalSinkOf } from './refusal-adapter';
import { RefusedRequests } from './refused-requests';
import type { RequestPicker } from './request-picker';
import type { RetryPause } from './retry-pause';
import type { SinkBuffer } from './sink-buffer';
import type { PutRequest, SinkEntry } from './sink-entry';
import { FAILING_RETRY_MAX_MS, OutputStreamError, type SinkOptions, type SinkSettings, type SinkStats } from './sink-settings';

/** The sink's parts the sender works with. */
export interface SenderParts {
  readonly putter: RecordPutter & Partial<ShardLister> & Partial<StreamPing>;
  readonly streamArn: string;
  readonly settings: SinkSettings;
  readonly options: SinkOptions;
  readonly log: Logger;
  readonly clock: Clock;
  readonly stats: SinkStats;
  readonly buffer: SinkBuffer;
  readonly picker: RequestPicker;
  readonly limiter: RateLimitingStrategy;
  readonly flushPolicy: FlushPolicy;
  readonly retryPause: RetryPause;
  readonly health: OutputHealth;
  readonly shardMap: OutputShardMap | undefined;
  /** Sends what may go now. */
  pump(): void;
}

export class RequestSender {
  inFlight = 0;
  /** With failOnError, after the first non-retryable error: nothing more is sent. */
  halted = false;
  /** The sink was closed: nothing more is sent. */
  closed = false;
  readonly refusals: RefusedRequests<SinkEntry>;

  constructor(private readonly parts: SenderParts) {
    this.refusals = new RefusedRequests(refusalSinkOf(parts, this), parts.log, parts.clock, parts.settings.output ?? 'OutputStream0');
  }

  async send(request: PutRequest, partial: boolean): Promise<void> {
    const { parts } = this;
    this.inFlight += 1;
    parts.flushPolicy.sent(partial);
    parts.stats.requests += 1;
    const batch = request.members;
    let retry: SinkEntry[] = batch;
    let throttled = false;
    /** Refused whole for what it carries: its records went to the bisection, keys still held. */
    let bisected = false;
    /** A non-retryable error of the whole request. */
    let fatal: { err: unknown; kind: KinesisErrorKind } | undefined;
    const m = metrics();
    const output = parts.settings.output ?? 'OutputStream0';
    const stopTimer = m.putRecordsDuration.startTimer({ output });
    try {
      const result = await parts.putter.putRecords(parts.streamArn, request.entries);
      stopTimer();
      const answer = sortAnswer(request, result, (start, end) => this.acknowledge(batch, start, end));
      ({ retry, throttled } = answer);
      if (answer.elsewhere.length > 0) {
        const landing = {
          acknowledge: (entries: readonly SinkEntry[], aggregate: boolean) => this.acknowledge(entries, 0, entries.length, aggregate),
          misplaced: (n: number) => {
            parts.stats.misplacedRecords += n;
            m.sinkMisplacedRecords.inc({ output }, n);
          },
        };
        retry.push(...(await checkLanded(parts.shardMap!, answer.elsewhere, landing, parts.log)));
      }
      m.recordsWritten.inc({ stream: parts.streamArn, output }, batch.length - retry.length);
      if (retry.length < batch.length) this.refusals.noteAccepted();
      if (retry.length > 0 && retry.length < batch.length && parts.picker.perKey && !parts.shardMap) this.countOrderViolations(batch, acceptedFlags(result, batch.length));
      if (retry.length > 0) parts.log.debug({ failed: retry.length, of: batch.length, code: result.entries.find((e) => e.ErrorCode)?.ErrorCode }, 'PutRecords partial failure; re-sending the failed entries');
    } catch (err) {
      stopTimer();
      parts.stats.failedRequests += 1;
      if (isRequestRefusal(err) && !this.failingWith(err)) {
        // About its records until shown otherwise: bisected, not retried as it is.
        bisected = true;
        this.refusals.add(batch, err);
      } else {
        const kind = classifyKinesisError(err);
        throttled = kind === 'throttled';
        // Non-retryable errors and retries while failing are logged by the output health, once a minute.
        if (kind === 'fatal' || kind === 'not-found') fatal = { err, kind };
        else if (!parts.health.failing) parts.log.warn({ err: describeError(err), kind, records: batch.length }, 'PutRecords failed; the whole request will be retried');
      }
    } finally {
      this.inFlight -= 1;
      parts.flushPolicy.answered(partial);
      if (bisected) parts.picker.reset();
      else parts.picker.release(batch);
    }
    if (bisected) return parts.pump();
    this.answered(batch.length, retry, throttled, fatal);
  }

  /** What an answer does to the sink: retries to the front, the rate, the output's health, the backoff. */
  private answered(sent: number, retry: SinkEntry[], throttled: boolean, fatal: { err: unknown; kind: KinesisErrorKind } | undefined): void {
    const { stats, buffer, limiter, health, retryPause } = this.parts;
    if (retry.length > 0) {
      stats.retriedRecords += retry.length;
      const output = this.parts.settings.output ?? 'OutputStream0';
      metrics().putRecordsRetried.inc({ output }, retry.length);
      if (throttled) {
        stats.throttledRecords += retry.length;
        metrics().putRecordsThrottled.inc({ output }, retry.length);
        limiter.throttled();
      }
      for (const entry of retry) entry.attempts += 1;
      // Back to the front, in their original order, so they go out before anything newer.
      buffer.requeue(retry);
      this.parts.picker.reset();
    }
    // Any accepted record shows the output takes writes; a request refused whole proves nothing.
    if (retry.length < sent) {
      health.succeeded();
    } else if (fatal) {
      if (this.nonRetryable(fatal.err, fatal.kind)) return buffer.wake();
    } else {
      health.attemptFailed(); // retryable, while failing or not (counted only while failing)
    }
    if (retry.length > 0) {
      // The answers of one burst count as one step of the backoff, not one step each.
      retryPause.stepOncePerBurst(this.retryBackoff(), throttled ? 50 : 0);
    } else {
      retryPause.reset();
      limiter.accepted();
      this.parts.pump();
      this.parts.flushPolicy.acceptedWhole();
    }
    buffer.wake();
  }

  /**
   * Records `start` up to `end` of `entries`, accepted where they belong (`aggregate`: one aggregate
   * carried them; by default, when there are several). Their room is given back by the buffer's `wake`
   * after the answer, once per answer, not per record.
   */
  acknowledge(entries: readonly SinkEntry[], start: number, end: number, aggregate = end - start > 1): void {
    const stats = this.parts.stats;
    if (aggregate) stats.aggregatesWritten += 1;
    for (let k = start; k < end; k++) {
      const entry = entries[k];
      stats.recordsWritten += 1;
      stats.bytesWritten += entry.size;
      entry.group.acknowledge();
    }
    this.parts.buffer.settledQuietly(end - start);
  }

  /**
   * A non-retryable answer: the output fails from now on (logged by the health, once a minute). With
   * failOnError the sink stops and hands the error on; else one request at a time probes the output.
   * Returns true when the sink stopped.
   */
  nonRetryable(err: unknown, kind: KinesisErrorKind): boolean {
    const { parts } = this;
    parts.health.nonRetryable(err, kind);
    if (parts.settings.failOnError && parts.options.onFatal) {
      if (this.halted) return true;
      this.halted = true;
      parts.retryPause.close();
      try {
        parts.options.onFatal(new OutputStreamError(parts.streamArn, kind, err));
      } catch (callbackErr) {
        parts.log.error({ err: describeError(callbackErr) }, "the sink's onFatal callback threw");
      }
      return true;
    }
    parts.limiter.failing();
    return false;
  }

  /** The backoff of retries: capped at FAILING_RETRY_MAX_MS while the output fails. */
  retryBackoff(): BackoffPolicy | undefined {
    const { settings, health } = this.parts;
    if (!health.failing) return settings.backoff;
    const policy = settings.backoff ?? DEFAULT_BACKOFF;
    return { baseMs: Math.min(policy.baseMs, FAILING_RETRY_MAX_MS), maxMs: Math.min(policy.maxMs, FAILING_RETRY_MAX_MS) };
  }

  /** The first shard map comes before the first aggregate; a failed load is retried after a backoff. */
  async loadShardMap(): Promise<void> {
    const { parts } = this;
    try {
      await parts.shardMap!.refresh();
    } catch (err) {
      const kind = classifyKinesisError(err);
      if (kind === 'fatal' || kind === 'not-found') {
        if (this.nonRetryable(err, kind)) return;
      } else if (parts.health.failing) {
        parts.health.attemptFailed();
      } else {
        parts.log.warn({ err: describeError(err) }, 'ListShards of the output stream failed; retrying before sending');
      }
      parts.retryPause.step(this.retryBackoff());
      return;
    }
    parts.pump();
    parts.flushPolicy.resumed();
  }

  /** While the output fails with this very answer, a refusal is one more failed attempt, not a new bisection. */
  private failingWith(err: unknown): boolean {
    const { health } = this.parts;
    return health.failing && health.failure?.error === describeError(err);
  }

  /**
   * Refused records overtaken by an accepted record of their key in the same request land late once
   * re-sent; nothing can move the accepted one back, so the break is counted and logged, never hidden.
   */
  private countOrderViolations(batch: readonly SinkEntry[], accepted: readonly boolean[]): void {
    const overtaken = newlyOvertaken(batch, accepted);
    if (overtaken.length === 0) return;
    this.parts.stats.orderViolations += overtaken.length;
    metrics().sinkOrderViolations.inc({ output: this.parts.settings.output ?? 'OutputStream0' }, overtaken.length);
    const keys = [...new Set(overtaken.map((entry) => entry.key))];
    this.parts.log.warn({ records: overtaken.length, keys: keys.slice(0, 5), moreKeys: Math.max(0, keys.length - 5) }, 'per-key order broken: Kinesis refused records but accepted newer ones of the same key in the same request; the refused ones are re-sent and land after them');
  }
}
