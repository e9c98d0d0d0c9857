/**
 * The BullMQ lease store against a real Redis: it takes lease jobs up to its capacity, each with its lock
 * at the fencing key holding the lease's token; renews only the locks that still hold their tokens; and
 * ends each lease as the port says (release: waiting at once, failure count reset; retry: delayed with
 * the failure count; complete; fail; abandon: left exactly as it is).
 */
import pino from 'pino';
import { LeaseQueue } from '../../coordinator/lease-queue';
import { wallClock } from '../../shared/clock';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { AppKeys, leaseKey } from '../../shared/redis/keys';
import { BullmqLeaseStore } from '../../worker/leases/bullmq-lease-store';
import type { StoredLease } from '../../worker/leases/lease-store';
import { useAppRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const ctx = useAppRedis('it-leasestore');
const log = pino({ level: 'silent' });
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/it-leasestore-in';
const job = (n: number, extra: Partial<LeaseJobData> = {}): LeaseJobData => ({ streamArn: STREAM, shardId: `shardId-${String(n).padStart(12, '0')}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' }, ...extra });

test('takes up to its capacity, renews with fencing, and ends each lease as the port says', async () => {
  const keys = new AppKeys(ctx.app);
  const leases = new LeaseQueue(ctx.redis, keys);
  await leases.ensure([job(0, { failures: 2 }), job(1), job(2), job(3), job(4), job(5), job(6)]);
  const connection = ctx.redis.duplicate();
  const store = new BullmqLeaseStore({ connection, redis: ctx.redis, keys, workerId: 'worker-test', leaseTimeoutMs: 20_000, wallClock, log });
  const taken = new Map<string, StoredLease>();
  let cleaningUp = false;
  try {
    await store.waitUntilReady();
    await store.setCapacity(6);
    await store.start((lease) => (cleaningUp ? void store.abandon(lease) : taken.set(lease.leaseKey, lease)));
    await waitFor(() => taken.size === 6 || undefined, 10_000, 'six leases taken');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(taken.size).toBe(6);
    expect(await store.count()).toEqual({ held: 6, waiting: 1, delayed: 0 });
    for (const lease of taken.values()) expect(await ctx.redis.get(keys.leaseLock(lease.leaseKey))).toBe(lease.token);
    await store.setCapacity(0); // nothing is taken again: each job stays as its end left it

    const [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map((n) => taken.get(leaseKey(STREAM, job(n).shardId))!);
    await ctx.redis.set(keys.leaseLock(e.leaseKey), 'another-worker', 'PX', 20_000);
    expect(await store.renew([a, b, e], 60_000)).toEqual([e.leaseKey]);
    expect(await ctx.redis.pttl(keys.leaseLock(a.leaseKey))).toBeGreaterThan(50_000);
    expect(await ctx.redis.pttl(keys.leaseLock(e.leaseKey))).toBeLessThanOrEqual(20_000);

    const state = (lease: StoredLease) => leases.queue.getJobState(lease.leaseKey);
    await store.release(a);
    expect(await state(a)).toBe('waiting');
    expect((await leases.queue.getJob(a.leaseKey))!.data.failures).toBe(0);
    await store.retryLater(b, 60_000, 3);
    expect(await state(b)).toBe('delayed');
    expect((await leases.queue.getJob(b.leaseKey))!.data.failures).toBe(3);
    await store.complete(c);
    await store.fail(d, new Error('holder failed'));
    await waitFor(async () => (await state(c)) === 'completed' && (await state(d)) === 'failed', 10_000, 'the completed and the failed lease job');
    // Abandoned (lost): left exactly as it is, whether its lock is another's or, lost by time, still ours.
    await store.abandon(e);
    await store.abandon(f);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await state(e)).toBe('active');
    expect(await ctx.redis.get(keys.leaseLock(e.leaseKey))).toBe('another-worker');
    expect(await state(f)).toBe('active');
    expect(await ctx.redis.get(keys.leaseLock(f.leaseKey))).toBe(f.token);
  } finally {
    // Whatever failed: take nothing more, and end every lease, so close() does not wait for one.
    cleaningUp = true;
    await store.pause();
    for (const lease of taken.values()) await store.abandon(lease);
    await store.close();
    await leases.queue.obliterate({ force: true });
    await leases.close();
    connection.disconnect();
  }
});
