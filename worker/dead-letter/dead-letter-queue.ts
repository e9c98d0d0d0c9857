/**
 * The application's dead-letter BullMQ queue: records that cannot be transformed or delivered, with
 * the raw payload, stream, shard, sequence number (and a KPL user record's sub-sequence number),
 * arrival time and reason. The job id is `<shard>-<sequence>` for a whole Kinesis record (a plain one,
 * or a corrupt aggregate) and `<shard>-<sequence>-<sub>` for one user record of an aggregate, so a
 * record read again after a crash is not dead-lettered twice.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from '../../shared/redis/connection';
import { DEAD_LETTER_QUEUE, type AppKeys } from '../../shared/redis/keys';
import { deadLetterId, type DeadLetter } from '../../shared/records';

export class DeadLetterQueue {
  readonly queue: Queue<DeadLetter>;

  constructor(connection: RedisClient, keys: AppKeys) {
    this.queue = new Queue<DeadLetter>(DEAD_LETTER_QUEUE, { connection, prefix: keys.bullPrefix });
  }

  /** Stores the letters; resolves once Redis has them, so a checkpoint may then move past them. */
  async add(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.queue.addBulk(
      letters.map((letter) => ({
        name: letter.reason.split(':')[0],
        data: letter,
        opts: { jobId: deadLetterId(letter), removeOnComplete: false, removeOnFail: false },
      })),
    );
  }

  count(): Promise<number> {
    return this.queue.count();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
