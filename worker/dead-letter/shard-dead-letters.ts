/**
 * How a shard's runner dead-letters: stores the letters of a chunk in one Redis round trip (BullMQ's
 * addBulk), counts them by reason, and says so in at most one log line per shard every
 * `DEAD_LETTER_LOG_INTERVAL_MS` (each line with how many it stands for), so an aggregate of 170,000 bad
 * records is 340 writes and one line, not 170,000 of each. Records Kinesis refused for themselves (the
 * sink's bisection) are dead-lettered from their input record, read again by its position
 * (`input-refetch.ts`), so a replay transforms them again (if it cannot be read, from the output record
 * as refused, saying so); their store is retried while the lease is held, since the checkpoint may not
 * pass them before it succeeds.
 */
import { backoffDelay, sleep } from '../../shared/backoff';
import type { Clock } from '../../shared/clock';
import { LogThrottle } from '../../shared/log-throttle';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import { deadLetterOf, type DeadLetter, type OutputRecord } from '../../shared/records';
import type { RejectedRecord } from '../sink/sink-port';
import type { DeadLetterQueue } from './dead-letter-queue';
import type { InputRefetch } from './input-refetch';

/** At most one "records dead-lettered" line per shard per this period. */
export const DEAD_LETTER_LOG_INTERVAL_MS = 10_000;

export interface ShardDeadLettersDeps {
  queue: Pick<DeadLetterQueue, 'add'>;
  streamArn: string;
  shardId: string;
  log: Logger;
  /** Called with how many letters were just stored, by reason (the runner's and the worker's counters). */
  stored: (count: number, byReason: ReadonlyMap<string, number>) => void;
  /** True while the lease is held and not stopping: a failed store may be retried. */
  held: () => boolean;
  /** Reads an input record again by its position (the dead letter of a record Kinesis refused). */
  refetch?: InputRefetch;
  clock: Clock;
}

export class ShardDeadLetters {
  private readonly logThrottle: LogThrottle;

  constructor(private readonly deps: ShardDeadLettersDeps) {
    this.logThrottle = new LogThrottle(DEAD_LETTER_LOG_INTERVAL_MS, deps.clock);
  }

  /** Stores the letters; resolves once Redis has them (throws when it does not answer). */
  async store(letters: readonly DeadLetter[]): Promise<void> {
    await this.deps.queue.add(letters);
    const byReason = new Map<string, number>();
    for (const letter of letters) {
      const reason = letter.reason.split(':')[0];
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    }
    const m = metrics();
    for (const [reason, count] of byReason) m.recordsDeadLettered.inc({ stream: this.deps.streamArn, reason }, count);
    this.deps.stored(letters.length, byReason);
    const count = this.logThrottle.take(letters.length);
    if (count !== undefined) {
      const first = letters[0];
      this.deps.log.warn({ count, reason: first.reason, sequenceNumber: first.sequenceNumber, subSequenceNumber: first.subSequenceNumber }, 'records dead-lettered');
    }
  }

  /**
   * Records Kinesis refused for themselves, dead-lettered from their input records. A failing store is
   * retried while the lease is held; false when it gave up (the checkpoint then stays behind them and
   * the next owner meets them again).
   */
  async storeRefused(rejected: readonly RejectedRecord[]): Promise<boolean> {
    const letters: DeadLetter[] = [];
    for (const { record, reason } of rejected) letters.push(await this.refusedLetter(record, reason));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store(letters);
        return true;
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message, records: letters.length }, 'storing dead letters failed; retrying while the lease is held');
        if (!this.deps.held()) return false;
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2000 }));
      }
    }
  }

  /** The letter of one refused record: from its input, read again, or else from the output record as refused. */
  private async refusedLetter(record: OutputRecord, reason: string): Promise<DeadLetter> {
    const { shardId, streamArn, refetch, log } = this.deps;
    const sequenceNumber = record.inputSequenceNumber;
    if (sequenceNumber !== undefined && refetch) {
      try {
        const input = await refetch(shardId, sequenceNumber, record.inputSubSequenceNumber);
        if (input) return deadLetterOf(input, streamArn, reason);
      } catch (err) {
        log.warn({ err: (err as Error).message, sequenceNumber }, 'reading a refused record\'s input again failed; its dead letter holds the output record');
      }
    }
    const output = { shardId, sequenceNumber: sequenceNumber ?? 'unknown', subSequenceNumber: record.inputSubSequenceNumber, partitionKey: record.partitionKey, data: record.data };
    return deadLetterOf(output, streamArn, `${reason} (the payload is the output record: its input could not be read again)`);
  }
}
