/**
 * The lease jobs in BullMQ (real Redis): one per shard of each input stream, its lease key as job id,
 * carrying its stream and hash-key range; `ensure` adds only the missing ones; the round's tidy-up
 * removes the unheld jobs of shards no longer listed (and of the single-stream layout), puts failed ones
 * back, and leaves held ones alone.
 */
import { Worker } from 'bullmq';
import pino from 'pino';
import { LeaseQueue } from '../../coordinator/lease-queue';
import { tidyLeaseJobs } from '../../coordinator/lease-queue-tidy';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { initProcessMetrics } from '../../shared/metrics';
import { AppKeys, LEASE_QUEUE, leaseKey, streamKey } from '../../shared/redis/keys';
import { useAppRedis } from '../support/redis';

const ctx = useAppRedis('it-ranges');
const app = ctx.app;
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/it-ranges-in';
const range = (a: string, b: string) => ({ startingHashKey: a, endingHashKey: b });
const job = (n: number): LeaseJobData => ({ streamArn: STREAM, shardId: `shardId-${String(n).padStart(12, '0')}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' }, hashKeyRange: range(String(n), String(n)) });
const id = (n: number) => leaseKey(STREAM, job(n).shardId);

beforeAll(() => initProcessMetrics({ role: 'test' }));

test('the tidy-up removes unheld lease jobs of shards no longer listed (and of the single-stream layout), puts failed ones back, and leaves held ones; the fair share then counts only live shards', async () => {
  const keys = new AppKeys(`${app}-unlisted`);
  const leases = new LeaseQueue(ctx.redis, keys);
  const connection = ctx.redis.duplicate();
  // A worker that takes jobs only when asked: one lease held, one failed.
  const worker = new Worker(LEASE_QUEUE, null, { connection, prefix: keys.bullPrefix, lockDuration: 60_000 });
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line).shardId) });
  try {
    await leases.ensure([job(0), job(1), job(2), job(3)]);
    const held = await worker.getNextJob('token-held');
    expect(held?.id).toBe(id(0));
    const failing = await worker.getNextJob('token-failed');
    expect(failing?.id).toBe(id(1));
    await failing!.moveToFailed(new Error('holder failed'), 'token-failed');
    expect(await leases.queue.getJobState(id(1))).toBe('failed');
    // A lease put back to retry later (delayed) counts too, and so does a lease job of the single-stream layout.
    await leases.queue.add('shardId-000000000004', job(4), { jobId: id(4), delay: 60_000 });
    await leases.queue.add('shardId-000000000009', { shardId: 'shardId-000000000009', parentShardIds: [], start: { type: 'TRIM_HORIZON' } }, { jobId: 'shardId-000000000009' });

    // The stream lists shards 1 and 2 only: 0 (held), 3 (waiting) and 4 (delayed) are gone from it.
    const round = { listings: [{ streamArn: STREAM, listed: new Set([job(1).shardId, job(2).shardId]), finished: new Set<string>() }], readable: new Set([streamKey(STREAM)]) };
    const deps = { leases, checkpoint: async () => undefined, log };
    expect(await tidyLeaseJobs(round, deps)).toEqual({ removed: 3, retried: 1 });
    expect(await leases.queue.getJob(id(3))).toBeUndefined();
    expect(await leases.queue.getJob(id(4))).toBeUndefined();
    expect(await leases.queue.getJob('shardId-000000000009')).toBeUndefined();
    expect(await leases.queue.getJobState(id(0))).toBe('active');
    expect(await leases.queue.getJobState(id(1))).toBe('waiting');
    expect(await leases.queue.getJobState(id(2))).toBe('waiting');
    // The trimmed shards are reported; the single-stream layout's job is not.
    expect(errors.sort()).toEqual([job(3).shardId, job(4).shardId]);
    const counts = await leases.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(3);
    expect(await tidyLeaseJobs(round, deps)).toEqual({ removed: 0, retried: 0 });
  } finally {
    await worker.close(true);
    await leases.queue.obliterate({ force: true });
    await leases.close();
    connection.disconnect();
  }
});

test('ensure() adds only the lease jobs that do not exist, in one round trip for the rest, and never touches existing ones', async () => {
  const leases = new LeaseQueue(ctx.redis, new AppKeys(`${app}-ensure`));
  try {
    const all = Array.from({ length: 300 }, (_, i) => job(i));
    expect(await leases.ensure(all.slice(0, 200))).toBe(200);
    // Its lease key is the job id; the job carries its stream and range, and is named after both.
    const first = (await leases.queue.getJob(id(0)))!;
    expect(first.data).toEqual(job(0));
    expect(first.name).toBe(`it-ranges-in/${job(0).shardId}`);
    const addBulk = jest.spyOn(leases.queue, 'addBulk');
    // A discovery round that finds nothing new adds nothing (BullMQ's add script is not run per shard).
    expect(await leases.ensure(all.slice(0, 200))).toBe(0);
    expect(addBulk).not.toHaveBeenCalled();
    // A changed job (as a holder's retry leaves it) stays as it is, range included; only the new shards are added.
    await (await leases.queue.getJob(id(5)))!.updateData({ ...job(5), failures: 3 });
    expect(await leases.ensure(all.map((l) => ({ ...l, hashKeyRange: range('0', '9') })))).toBe(100);
    expect(addBulk).toHaveBeenCalledTimes(1);
    expect(addBulk.mock.calls[0][0].map((j) => j.opts?.jobId)).toEqual(all.slice(200).map((l) => leaseKey(STREAM, l.shardId)));
    expect((await leases.queue.getJob(id(5)))!.data).toEqual({ ...job(5), failures: 3 });
    expect(await leases.queue.count()).toBe(300);
    // The same shard id in another stream is another lease job.
    const other = 'arn:aws:kinesis:eu-west-1:123456789012:stream/it-ranges-in';
    expect(await leases.ensure([{ ...job(0), streamArn: other }])).toBe(1);
    expect((await leases.queue.getJob(leaseKey(other, job(0).shardId)))!.data.streamArn).toBe(other);
  } finally {
    await leases.queue.obliterate({ force: true });
    await leases.close();
  }
});
