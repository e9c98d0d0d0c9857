/**
 * The enhanced fan-out (EFO) reader: one SubscribeToShard event stream per lease, pulled one event at a
 * time and only when the caller asks, so when the sink is full and the runner stops asking, the reader
 * stops pulling and HTTP flow control holds the service back (no unbounded buffering).
 *
 * The service chooses an event's size (catching up, an event carries up to 10,000 records), so `next()`
 * returns at most `maxRecords` of it (the runner's share of the sink) and holds the rest, returning it
 * on the following calls before anything new is pulled from the stream. The runner then transforms and
 * waits with one share's worth, as with polling, instead of a whole event per shard: with 4 shards
 * catching up that was 40,000 transformed records waiting for a 10,000-record sink. The held part is
 * parsed records, so this pays only with the runner reading a part once the sink has room for it
 * (together: EFO peak RSS 0.93 ×; alone: no gain; docs/benchmarks.md). The event's
 * ContinuationSequenceNumber counts as returned only with its last record, so a subscription that ends
 * while part of an event is held re-subscribes after the event, once the held records are returned.
 *
 * A subscription ends after `source.efo.subscription.max-duration` (AWS ends each after 5 minutes) or
 * when it breaks; the reader then re-subscribes after the last ContinuationSequenceNumber it returned,
 * so nothing is skipped and nothing already returned comes again. ResourceInUseException (the previous
 * subscription is still open), LimitExceededException and transient errors are retried with backoff;
 * ResourceNotFoundException (the consumer is gone) is logged and retried with a fresh consumer ARN.
 * The event whose ContinuationSequenceNumber is null ends the shard and names its children.
 */
import type { RecordPage, ShardSubscriber } from '../../shared/aws/kinesis-gateway';
import { StreamEventError } from '../../shared/aws/record-mapping';
import type { StartPosition } from '../../shared/position';
import { classifyKinesisError, describeError } from '../../shared/aws/kinesis-errors';
import { backoffDelay, sleep } from '../../shared/backoff';
import type { Logger } from '../../shared/logging';
import type { RecordBatch, ShardReader } from '../shard-reader';
import type { ShardEndProbe } from './shard-end-probe';
import { metrics } from '../../shared/metrics';
import type { Clock } from '../../shared/clock';

/** Consecutive ResourceNotFound answers before the reader gives the shard up to its lease holder. */
const NOT_FOUND_TRIES = 3;

export interface EfoSettings {
  subscriptionTimeoutMs: number;
  maxSubscriptionMs: number;
  /** AWS allows one SubscribeToShard call per second per shard and consumer. */
  minSubscribeGapMs: number;
}

/** Hands out the consumer ARN; `invalidate` after ResourceNotFoundException forces a fresh look-up. */
export interface ConsumerArnSource {
  get(signal: AbortSignal): Promise<string>;
  invalidate(): void;
}

interface Subscription {
  iterator: AsyncIterator<RecordPage>;
  controller: AbortController;
  timer: NodeJS.Timeout;
  expired: boolean;
}

export class EfoReader implements ShardReader {
  readonly kind = 'EFO';
  private subscription: Subscription | undefined;
  private continuation: string | undefined;
  private lastSubscribeAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  /** The part of the last event not returned yet (see the header); nothing is pulled while it is there. */
  private held: RecordPage | undefined;
  /** Subscriptions opened so far (for status and tests). */
  subscriptions = 0;

  constructor(
    private readonly subscriber: ShardSubscriber,
    private readonly consumer: ConsumerArnSource,
    private readonly streamArn: string,
    private readonly shardId: string,
    private readonly start: StartPosition,
    private readonly settings: EfoSettings,
    private readonly log: Logger,
    /** Monotonic time, for the gap between subscriptions. */
    private readonly clock: Clock,
    /** Confirms a shard's end when the service does not say so in an event (kinesis-local). */
    private readonly endProbe?: ShardEndProbe,
  ) {}

  async next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch> {
    if (this.held !== undefined && !signal.aborted) {
      // The rest of an event (never empty): returned before anything new is pulled from the stream.
      this.endProbe?.busy();
      return this.take(this.held, maxRecords);
    }
    while (!signal.aborted) {
      try {
        const subscription = this.subscription ?? (await this.subscribe(signal));
        const result = await subscription.iterator.next();
        if (result.done) {
          this.endSubscription('the service ended the subscription');
          continue;
        }
        const batch = this.take(result.value, maxRecords);
        this.failures = 0;
        if (batch.records.length > 0) this.endProbe?.busy();
        else if (!batch.shardEnded) {
          const end = await this.endProbe?.maybeProbe(this.continuation).catch((err) => {
            // Only a probe: the subscription goes on, and the next idle spell asks again.
            this.log.debug({ err: describeError(err) }, 'shard end probe failed');
            return undefined;
          });
          if (end?.ended) {
            this.endSubscription('shard end confirmed by GetRecords');
            return { ...batch, shardEnded: true, childShardIds: end.childShardIds };
          }
        }
        return batch;
      } catch (err) {
        if (signal.aborted) break;
        const expired = this.subscription?.expired === true;
        this.endSubscription(expired ? 'maximum subscription duration reached' : 'subscription broke');
        if (expired) continue;
        await this.onError(err, signal);
      }
    }
    this.endSubscription('reader stopped');
    return { records: [], shardEnded: false, childShardIds: [] };
  }

  /**
   * At most `maxRecords` of `page`; the rest is held for the next call. Only the event's last part
   * carries its end of shard and moves the continuation on.
   */
  private take(page: RecordPage, maxRecords: number | undefined): RecordBatch {
    const limit = maxRecords === undefined ? Infinity : Math.max(1, maxRecords);
    if (page.records.length <= limit) {
      this.held = undefined;
      return this.toBatch(page);
    }
    // The rest as its own array, so the records returned are not kept alive by the held event.
    this.held = { ...page, records: page.records.slice(limit) };
    return { records: page.records.slice(0, limit), millisBehindLatest: page.millisBehindLatest, shardEnded: false, childShardIds: [] };
  }

  private toBatch(page: RecordPage): RecordBatch {
    const shardEnded = page.continuation === undefined;
    if (shardEnded) this.endSubscription('shard end');
    else this.continuation = page.continuation;
    return { records: page.records, millisBehindLatest: page.millisBehindLatest, shardEnded, childShardIds: page.childShardIds };
  }

  private async subscribe(signal: AbortSignal): Promise<Subscription> {
    await sleep(this.lastSubscribeAt + this.settings.minSubscribeGapMs - this.clock(), signal);
    const consumerArn = await this.consumer.get(signal);
    // The lease may have gone while we waited: never open a subscription for a shard we no longer own.
    if (signal.aborted) throw new StreamEventError('AbortError', 'reader stopped before subscribing');
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const timeout = setTimeout(() => controller.abort(new Error('subscription timeout')), this.settings.subscriptionTimeoutMs);
    this.lastSubscribeAt = this.clock();
    let stream: AsyncIterable<RecordPage>;
    try {
      stream = await this.subscriber.subscribe(consumerArn, this.shardId, this.startingPosition(), controller.signal);
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      if (controller.signal.aborted && !signal.aborted) throw new StreamEventError('SubscriptionTimeout', `SubscribeToShard did not answer within ${this.settings.subscriptionTimeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timeout);
    }
    this.subscriptions += 1;
    const subscription: Subscription = {
      iterator: stream[Symbol.asyncIterator](),
      controller,
      expired: false,
      timer: setTimeout(() => {
        subscription.expired = true;
        controller.abort(new Error('maximum subscription duration'));
      }, this.settings.maxSubscriptionMs),
    };
    controller.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
    this.subscription = subscription;
    this.log.debug({ from: this.continuation ?? this.start, subscription: this.subscriptions }, 'subscribed to shard');
    return subscription;
  }

  /** After the last continuation sequence number returned; else the lease's (or checkpoint's) start position. */
  private startingPosition(): StartPosition {
    return this.continuation ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.continuation } : this.start;
  }

  private endSubscription(reason: string): void {
    const subscription = this.subscription;
    if (!subscription) return;
    this.subscription = undefined;
    clearTimeout(subscription.timer);
    if (!subscription.controller.signal.aborted) subscription.controller.abort(new Error(reason));
    void subscription.iterator.return?.().catch(() => undefined);
    this.log.debug({ reason, continuation: this.continuation }, 'subscription ended');
  }

  private async onError(err: unknown, signal: AbortSignal): Promise<void> {
    const name = (err as Error)?.name ?? '';
    const attempt = this.failures++;
    metrics().readThrottles.inc({ stream: this.streamArn, shard: this.shardId });
    let delay: number;
    if (name === 'ResourceInUseException') {
      // The previous subscription on this shard (perhaps the lease's previous owner's) is still open.
      delay = 1000 + backoffDelay(attempt, { baseMs: 500, maxMs: 5000 });
      this.log.info({ retryInMs: delay }, 'shard subscription still held by an earlier subscription; retrying');
    } else if (name === 'ResourceNotFoundException') {
      // The consumer may have been re-registered (a fresh ARN helps), or the shard is gone: after a few
      // tries the lease holder looks at the stream's shards and finishes a trimmed shard.
      if (attempt >= NOT_FOUND_TRIES - 1) throw err;
      this.consumer.invalidate();
      delay = 1000 + backoffDelay(attempt, { baseMs: 1000, maxMs: 10_000 });
      this.log.error({ err: describeError(err), retryInMs: delay }, 'EFO consumer or shard not found: the consumer may have been deregistered; waiting and retrying');
    } else {
      const kind = name === 'SubscriptionTimeout' || name === 'InternalFailureException' ? 'transient' : classifyKinesisError(err);
      if (kind === 'fatal') throw err;
      delay = backoffDelay(attempt, { baseMs: 200, maxMs: 10_000 });
      this.log.warn({ err: describeError(err), kind, retryInMs: delay }, 'shard subscription failed; re-subscribing');
    }
    await sleep(delay, signal);
  }

  async close(): Promise<void> {
    this.held = undefined;
    this.endSubscription('reader closed');
  }
}
