/**
 * The standard (POLLING) reader: GetRecords in a loop on one shard. Handles an expired iterator (a
 * new one after the last sequence number returned), throttling and transient errors (jittered
 * backoff) and shard end (NextShardIterator null, with the ChildShards of the last response).
 */
import type { ShardFetcher } from '../../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError } from '../../shared/aws/kinesis-errors';
import { backoffDelay, sleep } from '../../shared/backoff';
import type { Logger } from '../../shared/logging';
import type { StartPosition } from '../../shared/position';
import { metrics } from '../../shared/metrics';
import type { RecordBatch, ShardReader } from '../shard-reader';
import type { Clock } from '../../shared/clock';

export interface PollingSettings {
  maxRecords: number;
  /** Smallest gap between two GetRecords calls. */
  intervalMs: number;
  /** Pause after a call that returned no records. */
  emptyIntervalMs: number;
  /**
   * The longest pause on a shard that keeps answering with no records: the pause after an empty page
   * doubles from `emptyIntervalMs` up to this, and drops back on the first record. Default (or not above
   * `emptyIntervalMs`): no growth.
   */
  idleIntervalMs?: number;
}

/**
 * The pause before the next GetRecords call, after `emptyStreak` empty pages in a row (0: the last page
 * had records). An idle shard costs a GetRecords call (about a millisecond and a half of CPU) per pause,
 * so thousands of quiet shards polled every 250 ms would keep cores busy learning that nothing arrived;
 * doubling towards the idle interval makes that cost small while a record that ends a quiet spell still
 * waits at most one idle interval (the cap), and a busy shard is paced exactly as before.
 */
export function pollGap(settings: PollingSettings, emptyStreak: number): number {
  if (emptyStreak === 0) return settings.intervalMs;
  const empty = Math.max(settings.emptyIntervalMs, settings.intervalMs);
  const cap = Math.max(empty, settings.idleIntervalMs ?? 0);
  if (cap <= empty) return empty;
  // At least 1 ms to double from, so a zero empty interval still grows.
  return Math.min(cap, Math.max(empty, 1) * 2 ** Math.min(emptyStreak - 1, 30));
}

export class PollingReader implements ShardReader {
  readonly kind = 'POLLING';
  private iterator: string | undefined;
  private lastSequence: string | undefined;
  private lastCallAt = Number.NEGATIVE_INFINITY;
  /** Empty pages in a row since the last page with records. */
  private emptyStreak = 0;
  private failures = 0;

  constructor(
    private readonly fetcher: ShardFetcher,
    private readonly streamArn: string,
    private readonly shardId: string,
    private readonly start: StartPosition,
    private readonly settings: PollingSettings,
    private readonly log: Logger,
    /** Monotonic time, for the gaps between calls. */
    private readonly clock: Clock,
  ) {}

  async next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch> {
    const limit = Math.max(1, Math.min(this.settings.maxRecords, maxRecords ?? this.settings.maxRecords));
    await sleep(this.lastCallAt + pollGap(this.settings, this.emptyStreak) - this.clock(), signal);
    while (!signal.aborted) {
      try {
        this.iterator ??= await this.newIterator();
        this.lastCallAt = this.clock();
        if (this.iterator === undefined) return { records: [], shardEnded: true, childShardIds: [] };
        const result = await this.fetcher.getRecords(this.streamArn, this.shardId, this.iterator, limit);
        this.failures = 0;
        const records = result.records;
        if (records.length > 0) this.lastSequence = records[records.length - 1].sequenceNumber;
        this.iterator = result.nextIterator;
        this.emptyStreak = records.length === 0 ? this.emptyStreak + 1 : 0;
        const shardEnded = result.nextIterator === undefined;
        return {
          records,
          millisBehindLatest: result.millisBehindLatest,
          shardEnded,
          childShardIds: result.childShardIds,
        };
      } catch (err) {
        const kind = classifyKinesisError(err);
        if (kind === 'expired-iterator') {
          this.log.info({ after: this.lastSequence }, 'shard iterator expired; getting a new one after the last record read');
          this.iterator = undefined;
          continue;
        }
        if (kind === 'fatal' || kind === 'not-found') throw err;
        const delay = backoffDelay(this.failures++, { baseMs: 200, maxMs: 10_000 });
        metrics().readThrottles.inc({ stream: this.streamArn, shard: this.shardId });
        this.log.warn({ err: describeError(err), kind, retryInMs: delay }, 'GetRecords failed; retrying');
        await sleep(delay, signal);
      }
    }
    return { records: [], shardEnded: false, childShardIds: [] };
  }

  private newIterator(): Promise<string | undefined> {
    return this.fetcher.getShardIterator(this.streamArn, this.shardId, this.iteratorStart());
  }

  /** After the last record returned when there is one, so a new iterator never skips or repeats. */
  private iteratorStart(): StartPosition {
    return this.lastSequence ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequence } : this.start;
  }

  async close(): Promise<void> {
    this.iterator = undefined;
  }
}
