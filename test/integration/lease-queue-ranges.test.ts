/** Lease jobs carry their shard's hash-key range; jobs of earlier versions get it added once (real Redis). */
import { LeaseQueue } from '../../coordinator/lease-queue';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { AppKeys } from '../../shared/redis/keys';
import { useAppRedis } from '../support/redis';

const ctx = useAppRedis('it-ranges');
const app = ctx.app;

test('a lease job created without a hash-key range (an earlier version) gets it added; others are left as they are', async () => {
  const leases = new LeaseQueue(ctx.redis, new AppKeys(app));
  try {
    const range = (a: string, b: string) => ({ startingHashKey: a, endingHashKey: b });
    const old: LeaseJobData = { shardId: 'shardId-000000000000', parentShardIds: [], start: { type: 'TRIM_HORIZON' } };
    const other: LeaseJobData = { shardId: 'shardId-000000000001', parentShardIds: [], start: { type: 'TRIM_HORIZON' }, hashKeyRange: range('5', '9') };
    await leases.ensure([old, other]);
    const now = [{ ...old, hashKeyRange: range('0', '4') }, { ...other, hashKeyRange: range('5', '8') }, { shardId: 'shardId-000000000002', parentShardIds: [], start: { type: 'TRIM_HORIZON' as const }, hashKeyRange: range('9', '9') }];
    // ensure() never changes an existing job.
    await leases.ensure(now.slice(0, 2));
    expect((await leases.queue.getJob(old.shardId))!.data.hashKeyRange).toBeUndefined();

    expect(await leases.addHashKeyRanges(now)).toBe(1);
    expect((await leases.queue.getJob(old.shardId))!.data).toEqual({ ...old, hashKeyRange: range('0', '4') });
    expect((await leases.queue.getJob(other.shardId))!.data.hashKeyRange).toEqual(range('5', '9'));
    expect(await leases.queue.getJob('shardId-000000000002')).toBeUndefined();
    expect(await leases.addHashKeyRanges(now)).toBe(0);
  } finally {
    await leases.close();
  }
});

test('lease jobs of shards the stream no longer lists are removed unless a worker holds them; the fair share then counts only live shards', async () => {
  const leases = new LeaseQueue(ctx.redis, new AppKeys(`${app}-unlisted`));
  try {
    const job = (n: number): LeaseJobData => ({ shardId: `shardId-00000000000${n}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' } });
    await leases.ensure([job(0), job(1)]);
    // A lease put back to retry later (delayed) counts too.
    await leases.queue.add(job(2).shardId, job(2), { jobId: job(2).shardId, delay: 60_000 });
    const removed = await leases.removeUnlisted(new Set([job(0).shardId]));
    expect(removed.sort()).toEqual([job(1).shardId, job(2).shardId]);
    const counts = await leases.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
    expect(await leases.removeUnlisted(new Set([job(0).shardId]))).toEqual([]);
  } finally {
    await leases.queue.obliterate({ force: true });
    await leases.close();
  }
});

test('ensure() adds only the lease jobs that do not exist, in one round trip for the rest, and never touches existing ones', async () => {
  const leases = new LeaseQueue(ctx.redis, new AppKeys(`${app}-ensure`));
  try {
    const job = (n: number): LeaseJobData => ({ shardId: `shardId-${String(n).padStart(12, '0')}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' } });
    const all = Array.from({ length: 300 }, (_, i) => job(i));
    expect(await leases.ensure(all.slice(0, 200))).toBe(200);
    const addBulk = jest.spyOn(leases.queue, 'addBulk');
    // A discovery round that finds nothing new adds nothing (BullMQ's add script is not run per shard).
    expect(await leases.ensure(all.slice(0, 200))).toBe(0);
    expect(addBulk).not.toHaveBeenCalled();
    // A moved job (a held lease, here one completed) stays as it is; only the new shards are added.
    await (await leases.queue.getJob(job(5).shardId))!.updateData({ ...job(5), failures: 3 });
    expect(await leases.ensure(all)).toBe(100);
    expect(addBulk).toHaveBeenCalledTimes(1);
    expect(addBulk.mock.calls[0][0].map((j) => j.opts?.jobId)).toEqual(all.slice(200).map((l) => l.shardId));
    expect((await leases.queue.getJob(job(5).shardId))!.data.failures).toBe(3);
    expect(await leases.queue.count()).toBe(300);
  } finally {
    await leases.queue.obliterate({ force: true });
    await leases.close();
  }
});
