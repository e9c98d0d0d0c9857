/**
 * The lease jobs in BullMQ (the coordinator's `LeaseJobStore`): exactly one job per shard, with the
 * shard id as job id, so a restart or a second discovery never creates a second lease for a shard. An
 * active job is a held lease; a waiting job is a shard no worker reads yet; a completed job is a
 * finished shard. The only code on the coordinator's side that knows BullMQ.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '../shared/redis/connection';
import { LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import type { LeaseJobData } from '../shared/leases/lease-job';
import type { LeaseJobStore } from './lease-job-store';

export class LeaseQueue implements LeaseJobStore {
  readonly queue: Queue<LeaseJobData>;
  private readonly events: QueueEvents | undefined;

  /** @param eventsConnection for `onShardFinished` (BullMQ's blocking event reads): a connection of its own. */
  constructor(
    private readonly connection: RedisClient,
    private readonly keys: AppKeys,
    eventsConnection?: RedisClient,
  ) {
    this.queue = new Queue<LeaseJobData>(LEASE_QUEUE, { connection, prefix: keys.bullPrefix });
    if (eventsConnection) this.events = new QueueEvents(LEASE_QUEUE, { connection: eventsConnection, prefix: keys.bullPrefix, autorun: false });
  }

  /** Calls `listener` whenever a lease job completes (a shard finished), once `listen` runs. */
  onShardFinished(listener: () => void): void {
    this.events?.on('completed', () => listener());
  }

  /** Reads the queue's events until `close`. */
  async listen(): Promise<void> {
    await this.events?.run();
  }

  /**
   * Creates the lease jobs that do not exist yet; existing ones are left exactly as they are. Runs every
   * discovery round for every shard, so it first asks which job keys exist (one EXISTS each, pipelined in
   * one round trip) and adds only the missing ones: adding an existing job id costs BullMQ's add script
   * about six Redis commands, which at thousands of shards was most of the coordinator's Redis load.
   * Two coordinators racing to add the same shard stay safe: the job id makes the add idempotent.
   */
  async ensure(leases: readonly LeaseJobData[]): Promise<number> {
    if (leases.length === 0) return 0;
    const pipeline = this.connection.pipeline();
    for (const lease of leases) pipeline.exists(this.keys.leaseJob(lease.shardId));
    const exists = (await pipeline.exec()) ?? [];
    const missing = leases.filter((_, i) => {
      const [err, found] = exists[i] ?? [null, 0];
      return err !== null || found !== 1; // unknown counts as missing: adding is idempotent
    });
    if (missing.length === 0) return 0;
    await this.queue.addBulk(
      missing.map((data) => ({ name: data.shardId, data, opts: { jobId: data.shardId, removeOnComplete: false, removeOnFail: false } })),
    );
    return missing.length;
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

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }
}
