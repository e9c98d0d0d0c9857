/** The one-call lock renewal against a real Redis and real BullMQ lease locks. */
import { Queue, Worker } from 'bullmq';
import { AppKeys, LEASE_QUEUE } from '../../shared/redis/keys';
import { LockRenewal } from '../../worker/leases/lock-renewal';
import { useAppRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const ctx = useAppRedis('it-renew');
const keys = new AppKeys(ctx.app);

test('extends only the locks that still hold their token, takes the renewed jobs off the stalled set, and names the others', async () => {
  const queue = new Queue(LEASE_QUEUE, { connection: ctx.redis, prefix: keys.bullPrefix });
  const shards = ['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'];
  for (const shardId of shards) await queue.add(shardId, { shardId }, { jobId: shardId });
  const tokens = new Map<string, string>();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const workerConnection = ctx.redis.duplicate();
  // BullMQ renews nothing by itself here (lockRenewTime far above the test), so only LockRenewal extends.
  const worker = new Worker(
    LEASE_QUEUE,
    async (job, token) => {
      tokens.set(job.id!, token!);
      await held;
    },
    { connection: workerConnection, prefix: keys.bullPrefix, concurrency: 3, lockDuration: 2000, lockRenewTime: 3_600_000, stalledInterval: 3_600_000 },
  );
  try {
    await waitFor(() => tokens.size === 3 || undefined, 10_000, 'three lease jobs taken');
    const [a, b, c] = shards;
    const lock = (id: string) => `${queue.toKey('')}${id}:lock`;
    // b's lock now belongs to another worker; c's lock is gone.
    await ctx.redis.set(lock(b), 'another-worker', 'PX', 2000);
    await ctx.redis.del(lock(c));
    await ctx.redis.sadd(queue.keys.stalled, a, b, c);

    const renewal = new LockRenewal(ctx.redis);
    const failed = await renewal.extend(queue.keys.stalled, queue.toKey(''), shards, shards.map((id) => tokens.get(id)!), 60_000);
    expect(failed.sort()).toEqual([b, c]);
    expect(await ctx.redis.pttl(lock(a))).toBeGreaterThan(50_000);
    expect(await ctx.redis.get(lock(a))).toBe(tokens.get(a));
    // The other owner's lock is left exactly as it was: not extended, not taken.
    expect(await ctx.redis.get(lock(b))).toBe('another-worker');
    expect(await ctx.redis.pttl(lock(b))).toBeLessThanOrEqual(2000);
    expect(await ctx.redis.exists(lock(c))).toBe(0);
    expect((await ctx.redis.smembers(queue.keys.stalled)).sort()).toEqual([b, c]);
    expect(await renewal.extend(queue.keys.stalled, queue.toKey(''), [], [], 1000)).toEqual([]);
  } finally {
    release();
    await worker.close(true);
    await queue.close();
    workerConnection.disconnect();
  }
});
