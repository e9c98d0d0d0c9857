/** The one-call lock renewal against a real Redis and real BullMQ lease locks. */
import { AppKeys } from '../../shared/redis/keys';
import { LockRenewal } from '../../worker/leases/lock-renewal';
import { holdLeaseJobs } from '../support/held-lease-jobs';
import { useAppRedis } from '../support/redis';

const ctx = useAppRedis('it-renew');
const keys = new AppKeys(ctx.app);
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/it-renew-in';

test('extends only the locks that still hold their token, takes the renewed jobs off the stalled set, and names the others', async () => {
  // BullMQ renews nothing by itself here (lockRenewTime far above the test), so only LockRenewal extends.
  const jobs = await holdLeaseJobs(ctx.redis, keys, STREAM, ['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'], { lockDuration: 2000, lockRenewTime: 3_600_000, stalledInterval: 3_600_000 });
  // The lease jobs' ids: their lease keys.
  const { queue, tokens, leaseKeys: shards } = jobs;
  try {
    const [a, b, c] = shards;
    const lock = (id: string) => keys.leaseLock(id);
    // b's lock now belongs to another worker; c's lock is gone.
    await ctx.redis.set(lock(b), 'another-worker', 'PX', 2000);
    await ctx.redis.del(lock(c));
    await ctx.redis.sadd(queue.keys.stalled, a, b, c);

    const renewal = new LockRenewal(ctx.redis, keys);
    const failed = await renewal.extend(shards, shards.map((id) => tokens.get(id)!), 60_000);
    expect(failed.sort()).toEqual([b, c]);
    expect(await ctx.redis.pttl(lock(a))).toBeGreaterThan(50_000);
    expect(await ctx.redis.get(lock(a))).toBe(tokens.get(a));
    // The other owner's lock is left exactly as it was: not extended, not taken.
    expect(await ctx.redis.get(lock(b))).toBe('another-worker');
    expect(await ctx.redis.pttl(lock(b))).toBeLessThanOrEqual(2000);
    expect(await ctx.redis.exists(lock(c))).toBe(0);
    expect((await ctx.redis.smembers(queue.keys.stalled)).sort()).toEqual([b, c]);
    expect(await renewal.extend([], [], 1000)).toEqual([]);
  } finally {
    await jobs.close();
  }
});
