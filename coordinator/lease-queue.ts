/**
 * The BullMQ lease queue: exactly one job per shard, with the shard id as job id, so a restart or a
 * second discovery never creates a second lease for a shard. An active job is a held lease; a
 * waiting job is a shard no worker reads yet; a completed job is a finished shard.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from '../shared/redis/connection';
import { LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import type { LeaseJobData } from '../shared/leases/lease-job';

export class LeaseQueue {
  readonly queue: Queue<LeaseJobData>;

  constructor(connection: RedisClient, keys: AppKeys) {
    this.queue = new Queue<LeaseJobData>(LEASE_QUEUE, { connection, prefix: keys.bullPrefix });
  }

  /** Creates the lease jobs that do not exist yet; existing ones are left exactly as they are. */
  async ensure(leases: readonly LeaseJobData[]): Promise<void> {
    if (leases.length === 0) return;
    await this.queue.addBulk(
      leases.map((data) => ({ name: data.shardId, data, opts: { jobId: data.shardId, removeOnComplete: false, removeOnFail: false } })),
    );
  }

  /**
   * Adds the hash-key range to existing lease jobs that have none (created by coordinators of earlier
   * versions), so their next holder checks KPL user records against it. Returns how many were updated.
   */
  async addHashKeyRanges(leases: readonly LeaseJobData[]): Promise<number> {
    let updated = 0;
    for (const lease of leases) {
      if (!lease.hashKeyRange) continue;
      const job = await this.queue.getJob(lease.shardId);
      if (!job || job.data.hashKeyRange) continue;
      await job.updateData({ ...job.data, hashKeyRange: lease.hashKeyRange });
      updated += 1;
    }
    return updated;
  }

  /** Puts failed lease jobs of unfinished shards back in the queue (a lease job should never stay failed). */
  async retryFailed(isFinished: (shardId: string) => boolean): Promise<number> {
    const failed = await this.queue.getFailed();
    let retried = 0;
    for (const job of failed) {
      if (isFinished(job.data.shardId)) continue;
      await job.retry();
      retried += 1;
    }
    return retried;
  }

  /**
   * Removes the lease jobs of shards the stream no longer lists (trimmed past retention) that no worker
   * holds; a held one is finished by its holder when its reads say the shard is gone. Returns the
   * removed shard ids. Fair share counts lease jobs, so it then counts only live shards.
   */
  async removeUnlisted(listed: ReadonlySet<string>): Promise<string[]> {
    const ids = await this.queue.getRanges(['waiting', 'delayed', 'prioritized', 'failed'], 0, -1, true);
    const removed: string[] = [];
    for (const id of new Set(ids)) {
      if (listed.has(id)) continue;
      // 0: the job is locked (a worker took it meanwhile) and stays; its holder decides.
      if ((await this.queue.remove(id)) === 1) removed.push(id);
    }
    return removed;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
