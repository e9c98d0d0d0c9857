/**
 * The lease jobs in BullMQ (the coordinator's `LeaseJobStore`): exactly one job per shard of each input
 * stream, with the lease key as job id, so a restart or a second discovery never creates a second lease for a shard. An
 * active job is a held lease; a waiting job is a shard no worker reads yet; a completed job is a
 * finished shard. The only code on the coordinator's side that knows BullMQ.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { RedisClient } from '../shared/redis/connection';
import { LEASE_QUEUE, leaseKey, streamNameOf, type AppKeys } from '../shared/redis/keys';
import type { LeaseJobData } from '../shared/leases/lease-job';
import type { LeaseJobStore, TidyVerdict, UnheldLeaseJob } from './lease-job-store';

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
    const ids = leases.map((lease) => leaseKey(lease.streamArn!, lease.shardId));
    for (const id of ids) pipeline.exists(this.keys.leaseJob(id));
    const exists = (await pipeline.exec()) ?? [];
    const missing = leases.flatMap((data, i) => {
      const [err, found] = exists[i] ?? [null, 0];
      return err !== null || found !== 1 ? [{ data, id: ids[i] }] : []; // unknown counts as missing: adding is idempotent
    });
    if (missing.length === 0) return 0;
    await this.queue.addBulk(
      // The name is what the dashboard shows first: the stream's name and the shard.
      missing.map(({ data, id }) => ({ name: `${streamNameOf(data.streamArn!)}/${data.shardId}`, data, opts: { jobId: id, removeOnComplete: false, removeOnFail: false } })),
    );
    return missing.length;
  }

  async tidy(verdict: (job: UnheldLeaseJob) => TidyVerdict): Promise<{ removed: string[]; retried: number }> {
    const failed = new Set(await this.queue.getRanges(['failed'], 0, -1, true));
    const others = await this.queue.getRanges(['waiting', 'delayed', 'prioritized'], 0, -1, true);
    const removed: string[] = [];
    let retried = 0;
    for (const id of new Set([...failed, ...others])) {
      const decision = verdict({ id, failed: failed.has(id) });
      if (decision === 'retry' && failed.has(id)) {
        const job = await this.queue.getJob(id);
        if (job && (await job.isFailed())) {
          await job.retry();
          retried += 1;
        }
      } else if (decision === 'remove') {
        // 0: the job is locked (a worker took it meanwhile) and stays; its holder decides.
        if ((await this.queue.remove(id)) === 1) removed.push(id);
      }
    }
    return { removed, retried };
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }
}
