/**
 * Lease jobs held by a plain BullMQ Worker on a real Redis, as a worker process holds them, for the tests
 * of what reads their locks (fencing, lock renewal, BullMQ's layout): the jobs are added, taken, and held
 * with the tokens the Worker was given until `close`. Each job is a shard of one input stream, with its
 * lease key (`<stream key>|<shard id>`) as job id, as the coordinator creates them.
 */
import { Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { LEASE_QUEUE, leaseKey, type AppKeys } from '../../shared/redis/keys';
import { waitFor } from './wait';

export interface HeldLeaseJobs {
  queue: Queue;
  /** The lease key (job id) of each shard, in the order given. */
  leaseKeys: string[];
  /** The lock token of each job, by lease key (job id). */
  tokens: Map<string, string>;
  /** Lets the jobs go and closes the Worker and the queue. */
  close(): Promise<void>;
}

export async function holdLeaseJobs(redis: Redis, keys: AppKeys, streamArn: string, shardIds: readonly string[], options: Partial<WorkerOptions>): Promise<HeldLeaseJobs> {
  const queue = new Queue(LEASE_QUEUE, { connection: redis, prefix: keys.bullPrefix });
  const leaseKeys = shardIds.map((shardId) => leaseKey(streamArn, shardId));
  const streamName = streamArn.slice(streamArn.lastIndexOf('/') + 1);
  for (const [i, shardId] of shardIds.entries()) await queue.add(`${streamName}/${shardId}`, { streamArn, shardId }, { jobId: leaseKeys[i] });
  const tokens = new Map<string, string>();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const connection = redis.duplicate();
  const worker = new Worker(
    LEASE_QUEUE,
    async (job, token) => {
      tokens.set(job.id!, token!);
      await held;
    },
    { connection, prefix: keys.bullPrefix, concurrency: shardIds.length, ...options },
  );
  const close = async () => {
    release();
    await worker.close();
    await queue.close();
    connection.disconnect();
  };
  try {
    await waitFor(() => tokens.size === shardIds.length || undefined, 10_000, `${shardIds.length} lease job(s) taken`);
  } catch (err) {
    await close();
    throw err;
  }
  return { queue, leaseKeys, tokens, close };
}
