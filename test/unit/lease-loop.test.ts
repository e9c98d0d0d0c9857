/**
 * The lease loop on the in-memory lease store and a fake clock (jest's fake timers drive the clock, the
 * renewer's timer and the leases' watchdogs): taking up to the capacity, each lease's own first renewal,
 * renewals stamped with their start, a failed renewal losing the lease, and how each outcome ends the
 * lease in the store. No Redis.
 */
import pino from 'pino';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { leaseKey } from '../../shared/redis/keys';
import { safetyMargin, type Lease } from '../../worker/leases/lease';
import { LeaseLoop, type LeaseOutcome } from '../../worker/leases/lease-loop';
import { InMemoryLeaseTable } from '../support/in-memory-lease-store';

const log = pino({ level: 'silent' });
const TIMEOUT = 9000; // renewal interval 3 s: a round every 1.5 s renews the leases renewed more than 1.5 s ago
const clock = () => Date.now();
const flush = () => jest.advanceTimersByTimeAsync(0);
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const job = (n: number, extra: Partial<LeaseJobData> = {}): LeaseJobData => ({ streamArn: STREAM, shardId: `shardId-${String(n).padStart(12, '0')}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' }, ...extra });
/** Job `n`'s lease key: what the loop and the store know its lease by. */
const key = (n: number): string => leaseKey(STREAM, job(n).shardId);

/** A worker's loop whose holder keeps each lease until the test ends it with an outcome. */
function setup() {
  const table = new InMemoryLeaseTable(clock);
  const store = table.worker('w1', TIMEOUT);
  const holds = new Map<string, { lease: Lease; data: LeaseJobData; end: (outcome: LeaseOutcome | Error) => void }>();
  const loop = new LeaseLoop({
    store,
    leaseTimeoutMs: TIMEOUT,
    clock,
    log,
    hold: (lease, data) =>
      new Promise<LeaseOutcome>((resolve, reject) => holds.set(lease.leaseKey, { lease, data, end: (o) => (o instanceof Error ? reject(o) : resolve(o)) })),
  });
  return { table, store, loop, holds };
}

/** A loop started on these lease jobs, holding the first `capacity` of them. */
async function holding(jobs: LeaseJobData[], capacity: number) {
  const s = setup();
  await s.table.ensure(jobs);
  await s.loop.start();
  await s.loop.setCapacity(capacity);
  await flush();
  return s;
}

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

test('takes leases up to the capacity, more when it grows, and starts each with a renewal of its own', async () => {
  const { table, loop } = setup();
  await table.ensure([job(0), job(1), job(2), job(3), job(4)]);
  await loop.start();
  await flush();
  expect(loop.leases).toEqual([]); // no capacity before the balancer's first tick
  await loop.setCapacity(2);
  await flush();
  expect(loop.leases.map((l) => l.leaseKey)).toEqual([key(0), key(1)]);
  expect(table.count()).toEqual({ held: 2, waiting: 3, delayed: 0 });
  await loop.setCapacity(4);
  await flush();
  expect(loop.leases).toHaveLength(4);
  // One renewal per lease as it was taken, each holding the token it was taken with.
  expect(table.renewals.map((r) => r.leaseKeys)).toEqual([0, 1, 2, 3].map((n) => [key(n)]));
  for (const lease of loop.leases) expect(table.lock(lease.leaseKey)).toBe(lease.token);
});

test('a lease whose lock is gone by its first renewal is lost at once, never held, and left alone', async () => {
  const { table, loop, holds, store } = setup();
  await table.ensure([job(0)]);
  table.renewalLatencyMs = 100;
  await loop.start();
  await loop.setCapacity(1);
  table.steal(key(0)); // another worker took it while the first renewal was on its way
  await jest.advanceTimersByTimeAsync(100);
  expect(holds.size).toBe(0);
  expect(loop.leases).toEqual([]);
  expect(table.jobs.get(key(0))).toMatchObject({ state: 'active', token: expect.stringMatching(/^thief:/) });
  expect(store.taken.size).toBe(0); // the room is free again
});

test('keeps the held leases renewed in one call per round, every third of the timeout, stamped with when each renewal started', async () => {
  const { table, holds } = await holding([job(0), job(1), job(2)], 3);
  const takenAt = clock();
  table.renewals.length = 0;
  await jest.advanceTimersByTimeAsync(30_000);
  // Rounds every 1.5 s; a lease renewed 1.5 s ago or less waits for the next: one call every 3 s for all three.
  expect(table.renewals.map((r) => r.at - takenAt)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 3000));
  for (const r of table.renewals) expect(r.leaseKeys).toHaveLength(3);
  for (const { lease } of holds.values()) expect(lease.isLost).toBe(false);

  // A slow answer: the deadline counts from the renewal's start, not from its answer.
  table.renewalLatencyMs = 2000;
  await jest.advanceTimersByTimeAsync(3000 + 2000);
  const started = table.renewals.at(-1)!.at;
  expect(clock() - started).toBe(2000);
  for (const { lease } of holds.values()) expect(lease.sendDeadline).toBe(started + TIMEOUT - safetyMargin(TIMEOUT));
});

test('a renewal that finds the lock another\'s loses the lease with the reason; the lost lease is left alone and its room taken again', async () => {
  const { table, loop, holds } = await holding([job(0), job(1)], 1);
  const { lease, end } = holds.get(key(0))!;
  table.steal(key(0));
  await jest.advanceTimersByTimeAsync(3000);
  expect(lease.isLost).toBe(true);
  expect(lease.signal.aborted).toBe(true);
  expect(lease.lostReason).toBe('lock renewal failed: another worker may own the shard');
  end({ type: 'lost' });
  await flush();
  expect(table.jobs.get(key(0))).toMatchObject({ state: 'active', token: expect.stringMatching(/^thief:/) });
  expect(loop.leases.map((l) => l.leaseKey)).toEqual([key(1)]);
});

test('ends each lease in the store as its outcome says', async () => {
  const { table, loop, holds } = await holding([job(0), job(1, { failures: 2 }), job(2), job(3), job(4), job(5)], 6);
  await loop.setCapacity(0); // nothing is taken again: each job stays as its end left it
  const end = (n: number, outcome: LeaseOutcome | Error) => holds.get(key(n))!.end(outcome);
  const state = (n: number) => table.jobs.get(key(n))!;
  end(0, { type: 'finished' });
  end(1, { type: 'released' });
  end(2, { type: 'retry', delayMs: 5000, failures: 3 });
  end(3, { type: 'lost' });
  holds.get(key(4))!.lease.lose('fenced checkpoint write');
  end(4, { type: 'released' }); // released after it was lost: left alone too
  end(5, new Error('Connection is closed.'));
  await flush();
  expect(state(0).state).toBe('completed');
  expect(state(1)).toMatchObject({ state: 'waiting', data: { failures: 0 } });
  expect(state(2)).toMatchObject({ state: 'delayed', availableAt: clock() + 5000, data: { failures: 3 } });
  expect(state(3)).toMatchObject({ state: 'active' });
  expect(table.lock(key(3))).toBeDefined();
  expect(state(4)).toMatchObject({ state: 'active' });
  expect(state(5)).toMatchObject({ state: 'failed', failedReason: 'Connection is closed.' });
  expect(loop.leases).toEqual([]);
  // The lost ones are not renewed any more: their locks expire and the stalled check puts them back.
  await jest.advanceTimersByTimeAsync(TIMEOUT);
  expect(table.checkStalled().sort()).toEqual([key(3), key(4)]);
});

test('a lease taken while pausing is released at once; close waits for the held leases to end, then stops renewing', async () => {
  const { table, loop, holds } = await holding([job(0), job(1)], 1);
  table.renewalLatencyMs = 100;
  await loop.setCapacity(2); // job 1 is taken; its first renewal is on its way
  await loop.pause();
  await jest.advanceTimersByTimeAsync(100);
  expect(holds.has(key(1))).toBe(false);
  expect(table.jobs.get(key(1))!.state).toBe('waiting');

  let closed = false;
  void loop.close().then(() => (closed = true));
  table.renewalLatencyMs = 0;
  const before = table.renewals.length;
  await jest.advanceTimersByTimeAsync(2 * TIMEOUT);
  expect(closed).toBe(false);
  // A lease handing over while the worker closes keeps its lock renewed.
  expect(table.renewals.length).toBeGreaterThan(before);
  expect(holds.get(key(0))!.lease.isLost).toBe(false);
  holds.get(key(0))!.end({ type: 'released' });
  await flush();
  expect(closed).toBe(true);
  const renewals = table.renewals.length;
  await jest.advanceTimersByTimeAsync(30_000);
  expect(table.renewals).toHaveLength(renewals);
});

test('publishes a held lease\'s progress on its job', async () => {
  const { table, loop } = await holding([job(0)], 1);
  await loop.publishProgress(key(0), { recordsRead: 7 });
  await loop.publishProgress(leaseKey(STREAM, 'shardId-999'), { recordsRead: 1 });
  await loop.publishProgress(job(0).shardId, { recordsRead: 2 }); // a shard id alone names no lease
  expect(table.jobs.get(key(0))!.progress).toEqual({ recordsRead: 7 });
});
