/**
 * LeaseBalancer on the in-memory lease store and a fake clock: real lease loops whose holders hand a
 * lease back gracefully when it is stopped, a heartbeat that says who is alive, and the balancer's
 * ticks driven by the test. COUNT: the fair share, the newest leases handed back, the cap, the ramp
 * (a bounded number of leases taken per tick while workers join: a slow start ends balanced with no
 * lease handed back, a join into a balanced fleet, survivors taking a leaver's leases at once);
 * THROUGHPUT: measured rates published, one hot lease moved to the idle worker and published as let
 * go. No Redis.
 */
import pino from 'pino';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { leaseKey } from '../../shared/redis/keys';
import { RAMP_FIRST_STEP, ShareRamp, rampedCapacity } from '../../worker/leases/fair-share';
import { LeaseBalancer, type LeaseBalancerDeps } from '../../worker/leases/lease-balancer';
import type { Lease } from '../../worker/leases/lease';
import { LeaseLoop, type LeaseOutcome } from '../../worker/leases/lease-loop';
import type { Membership } from '../../worker/leases/worker-heartbeat';
import { InMemoryLeaseLoads } from '../support/in-memory-lease-loads';
import { InMemoryLeaseTable } from '../support/in-memory-lease-store';

const log = pino({ level: 'silent' });
const TIMEOUT = 10_000;
const clock = () => Date.now();
const flush = () => jest.advanceTimersByTimeAsync(0);
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const OTHER = 'arn:aws:kinesis:us-east-1:123456789012:stream/other';
const shard = (n: number) => `shardId-${String(n).padStart(12, '0')}`;
/** The lease job of shard `n` of STREAM. */
const job = (n: number): LeaseJobData => otherJob(n, STREAM);
/** The lease job of shard `n` of `streamArn`. */
const otherJob = (n: number, streamArn: string): LeaseJobData => ({ streamArn, shardId: shard(n), parentShardIds: [], start: { type: 'TRIM_HORIZON' } });
/** The lease key of shard `n` (of `streamArn`): what the loop, the table and the loads know a lease by. */
const key = (n: number, streamArn = STREAM): string => leaseKey(streamArn, shard(n));

beforeEach(() => jest.useFakeTimers({ now: 1_700_000_000_000 }));
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

/** Workers sharing one lease table; `live` is what every heartbeat answers (undefined: the state is lost). */
function cluster(extra: Partial<LeaseBalancerDeps> = {}) {
  const table = new InMemoryLeaseTable(clock);
  const loads = new InMemoryLeaseLoads(clock);
  const membership: { live: string[] | undefined } = { live: [] };
  /** Leases handed back gracefully (stopped, then released), all workers together. */
  const handedBack: string[] = [];
  const worker = async (id: string) => {
    const store = table.worker(id, TIMEOUT);
    // The holder reads until the lease stops, then hands it back (flush, checkpoint, release).
    const hold = (lease: Lease) =>
      new Promise<LeaseOutcome>((resolve) =>
        lease.signal.addEventListener('abort', () => {
          if (!lease.isLost) handedBack.push(lease.leaseKey);
          resolve(lease.isLost ? { type: 'lost' } : { type: 'released' });
        }),
      );
    const loop = new LeaseLoop({ store, leaseTimeoutMs: TIMEOUT, clock, log, hold });
    const beat = async (): Promise<Membership | undefined> => (membership.live ? { live: membership.live, redisNowMs: clock() } : undefined);
    const balancer = new LeaseBalancer({ membership: { beat }, leases: store, loads, workerId: id, maxLeases: 100, intervalMs: 1000, clock, held: () => loop.leases, setCapacity: (n) => loop.setCapacity(n), log, ...extra });
    await loop.start();
    return { id, loop, balancer, held: () => loop.leases.map((l) => l.leaseKey) };
  };
  return { table, loads, membership, worker, handedBack };
}

type Worker = Awaited<ReturnType<ReturnType<typeof cluster>['worker']>>;

/** One balancer tick of every worker, a second apart from the last round (the interval), the hand-backs settled. */
async function round(workers: readonly Worker[]): Promise<void> {
  await jest.advanceTimersByTimeAsync(1000);
  for (const w of workers) {
    await w.balancer.tick();
    await flush();
  }
}

/** Every shard held by exactly one worker, and no worker more than one lease above another. */
function balanced(workers: readonly Worker[], shards: number): boolean {
  const counts = workers.map((w) => w.held().length);
  const all = new Set(workers.flatMap((w) => w.held()));
  return all.size === shards && counts.reduce((a, b) => a + b, 0) === shards && Math.max(...counts) - Math.min(...counts) <= 1;
}

test('COUNT: a worker alone takes every lease; when another joins it hands back the newest above its share, which the other takes', async () => {
  const c = cluster();
  await c.table.ensure([0, 1, 2, 3, 4, 5].map(job));
  const a = await c.worker('a');
  c.membership.live = ['a'];
  expect(await a.balancer.tick()).toBe(6);
  await flush();
  expect(a.held()).toHaveLength(RAMP_FIRST_STEP); // its first tick: the ramp's first step
  expect(await a.balancer.tick()).toBe(6);
  await flush();
  expect(a.held()).toHaveLength(6);

  const b = await c.worker('b');
  c.membership.live = ['a', 'b'];
  expect(await a.balancer.tick()).toBe(3);
  await flush();
  expect(a.held()).toEqual([0, 1, 2].map((n) => key(n))); // the oldest stay
  expect(c.table.count()).toEqual({ held: 3, waiting: 3, delayed: 0 });
  expect(await b.balancer.tick()).toBe(3);
  await flush();
  expect(b.held().sort()).toEqual([3, 4, 5].map((n) => key(n)));
  // Nothing moves while the share holds.
  await a.balancer.tick();
  await b.balancer.tick();
  await flush();
  expect([a.held().length, b.held().length]).toEqual([3, 3]);
});

describe('the share ramp', () => {
  it('steps: the first step after the live set grew (its own first beat included), doubling every beat without a newcomer; a leaver does not restart it', () => {
    const ramp = new ShareRamp();
    expect(ramp.step(['a'])).toBe(RAMP_FIRST_STEP);
    expect(ramp.step(['a'])).toBe(2 * RAMP_FIRST_STEP);
    expect(ramp.step(['a'])).toBe(4 * RAMP_FIRST_STEP);
    expect(ramp.step(['a', 'b'])).toBe(RAMP_FIRST_STEP); // b joined
    expect(ramp.step(['a', 'b'])).toBe(2 * RAMP_FIRST_STEP);
    expect(ramp.step(['a'])).toBe(4 * RAMP_FIRST_STEP); // b left: no restart
    expect(ramp.step(['a', 'c'])).toBe(RAMP_FIRST_STEP); // one left, another joined: a newcomer
    for (let i = 0; i < 100; i++) ramp.step(['a', 'c']);
    expect(Number.isFinite(ramp.step(['a', 'c']))).toBe(true);
  });

  it('the capacity: the target, at most a step above what the worker holds and (COUNT) above the mean a live worker holds; never below 0', () => {
    expect(rampedCapacity({ target: 64, held: 0, step: 4 })).toBe(4);
    expect(rampedCapacity({ target: 64, held: 60, step: 16 })).toBe(64);
    expect(rampedCapacity({ target: 64, held: 80, step: 4 })).toBe(64); // above the target: the target (the excess is handed back)
    expect(rampedCapacity({ target: 64, held: 40, step: 8, meanHeld: 20.5 })).toBe(29); // started early: waits for the others to catch up
    expect(rampedCapacity({ target: 64, held: 10, step: 8, meanHeld: 20.5 })).toBe(18);
    expect(rampedCapacity({ target: 0, held: 3, step: 4 })).toBe(0);
  });
});

test('COUNT ramp: a worker alone takes its leases in doubling steps: 1,000 within 9 ticks', async () => {
  const c = cluster({ maxLeases: 1000 });
  await c.table.ensure(Array.from({ length: 1000 }, (_, n) => job(n)));
  const a = await c.worker('a');
  c.membership.live = ['a'];
  const held: number[] = [];
  for (let t = 0; t < 9; t++) {
    await round([a]);
    held.push(a.held().length);
  }
  expect(held).toEqual([4, 12, 28, 60, 124, 252, 508, 1000, 1000]);
});

test('COUNT ramp: 16 workers joining one per second over 16 s share 512 shards with no lease handed back, balanced 4 ticks after the last joined', async () => {
  const c = cluster();
  await c.table.ensure(Array.from({ length: 512 }, (_, n) => job(n)));
  const workers: Worker[] = [];
  const most: number[] = [];
  for (let i = 0; i < 16; i++) {
    const w = await c.worker(`worker-${String(i).padStart(2, '0')}`);
    workers.push(w);
    c.membership.live = workers.map((x) => x.id);
    await round(workers);
    most.push(Math.max(...workers.map((x) => x.held().length)));
  }
  // The first workers' fair share was 512, 256, 170, ...: none held more than a step above the others.
  expect(Math.max(...most)).toBeLessThanOrEqual(32);
  let ticks = 0;
  while (!balanced(workers, 512) && ticks < 20) {
    await round(workers);
    ticks += 1;
  }
  expect(workers.map((w) => w.held().length)).toEqual(new Array(16).fill(32));
  expect(ticks).toBeLessThanOrEqual(4);
  expect(c.handedBack).toEqual([]);
});

test('COUNT ramp: a worker joining a balanced fleet: the others hand back their excess at once, the newcomer takes it in steps', async () => {
  const c = cluster();
  await c.table.ensure(Array.from({ length: 256 }, (_, n) => job(n)));
  const workers = [await c.worker('a'), await c.worker('b'), await c.worker('c'), await c.worker('d')];
  c.membership.live = workers.map((w) => w.id);
  for (let t = 0; t < 6; t++) await round(workers);
  expect(workers.map((w) => w.held().length)).toEqual([64, 64, 64, 64]);

  const e = await c.worker('e');
  workers.push(e);
  c.membership.live = workers.map((w) => w.id);
  await round(workers);
  // Over-share leases go back in the same tick, whatever the step; the newcomer took its first step.
  expect(workers.slice(0, 4).map((w) => w.held().length)).toEqual([52, 51, 51, 51]);
  expect(e.held()).toHaveLength(RAMP_FIRST_STEP);
  expect(c.handedBack).toHaveLength(12 + 3 * 13);
  let ticks = 1;
  while (!balanced(workers, 256)) {
    await round(workers);
    ticks += 1;
  }
  expect(e.held()).toHaveLength(51);
  expect(ticks).toBeLessThanOrEqual(4); // 4, then 8, 16, 32 (the mean bound allows it: 41 leases wait)
});

test('COUNT ramp: a worker leaving does not restart the ramp: the survivors take its leases in the next tick', async () => {
  const c = cluster({ maxLeases: 1000 });
  await c.table.ensure(Array.from({ length: 300 }, (_, n) => job(n)));
  const workers = [await c.worker('a'), await c.worker('b'), await c.worker('c')];
  c.membership.live = workers.map((w) => w.id);
  for (let t = 0; t < 6; t++) await round(workers);
  expect(workers.map((w) => w.held().length)).toEqual([100, 100, 100]);

  const [a, b, gone] = workers;
  // A graceful stop: out of the live set, every lease handed back.
  gone.balancer.stop();
  c.membership.live = ['a', 'b'];
  await gone.loop.pause();
  for (const lease of gone.loop.leases) lease.stop();
  await flush();
  expect(c.table.count().waiting).toBe(100);
  await round([a, b]);
  expect([a.held().length, b.held().length]).toEqual([150, 150]);
});

test('COUNT: a lease put off to retry later counts as a shard to share; never more than worker.max-leases', async () => {
  const c = cluster();
  await c.table.ensure([0, 1, 2, 3].map(job));
  c.table.delay(key(3), 60_000);
  c.membership.live = ['a', 'b'];
  const b = await c.worker('b');
  expect(await b.balancer.tick()).toBe(2); // 4 shards over 2 workers, though only 3 can be taken now
  await flush();
  expect(b.held()).toHaveLength(2);

  const capped = cluster({ maxLeases: 2 });
  await capped.table.ensure([0, 1, 2, 3, 4].map(job));
  capped.membership.live = ['a'];
  const a = await capped.worker('a');
  expect(await a.balancer.tick()).toBe(2);
  await flush();
  expect(a.held()).toHaveLength(2);
});

test('a tick after the application\'s state was lost changes nothing', async () => {
  const c = cluster();
  await c.table.ensure([0, 1].map(job));
  const a = await c.worker('a');
  c.membership.live = ['a'];
  await a.balancer.tick();
  await flush();
  c.membership.live = undefined;
  await c.table.ensure([2, 3].map(job));
  expect(await a.balancer.tick()).toBe(2);
  await flush();
  expect(a.held()).toHaveLength(2);
});

test('start ticks every interval until stop; a tick under way when it stops changes nothing more', async () => {
  let answer: (() => void) | undefined;
  const live = ['a'];
  // The third beat hangs until the test answers it.
  let beats = 0;
  const beat = async (): Promise<Membership> => {
    if (++beats === 3) await new Promise<void>((resolve) => (answer = resolve));
    return { live, redisNowMs: clock() };
  };
  const c = cluster({ membership: { beat } });
  await c.table.ensure([0, 1, 2].map(job));
  const a = await c.worker('a');
  const tick = jest.spyOn(a.balancer, 'tick');
  a.balancer.start();
  await jest.advanceTimersByTimeAsync(2000);
  expect(tick).toHaveBeenCalledTimes(2);
  expect(a.held()).toHaveLength(3);
  await jest.advanceTimersByTimeAsync(1000); // the third tick waits for its beat
  live.push('b');
  a.balancer.stop();
  answer!();
  await jest.advanceTimersByTimeAsync(5000);
  expect(tick).toHaveBeenCalledTimes(3);
  expect(a.held()).toHaveLength(3); // the share of two workers came after the stop: nothing handed back
});

test('THROUGHPUT: the plan\'s capacity rises in the same steps', async () => {
  const c = cluster({ balance: 'THROUGHPUT', cooldownMs: 60_000, bytesRead: () => 0 });
  await c.table.ensure(Array.from({ length: 40 }, (_, n) => job(n)));
  const a = await c.worker('a');
  c.membership.live = ['a'];
  const held: number[] = [];
  for (let t = 0; t < 4; t++) {
    await round([a]);
    held.push(a.held().length);
  }
  expect(held).toEqual([4, 12, 28, 40]);
  expect(a.balancer.target).toBe(40);
});

test('THROUGHPUT: measures and publishes the leases\' rates, moves one hot lease to the idle worker, and publishes it as let go', async () => {
  // Two streams with the same shard ids: a lease is known by its stream and shard, never by the shard alone.
  const rates: Record<string, number> = { [key(0)]: 200_000, [key(0, OTHER)]: 200_000, [key(2)]: 2000, [key(2, OTHER)]: 2000 };
  const since = clock();
  const bytesRead = (id: string) => (rates[id] * (clock() - since)) / 1000;
  const c = cluster({ balance: 'THROUGHPUT', cooldownMs: 60_000, bytesRead });
  await c.table.ensure([job(0), otherJob(0, OTHER), job(2), otherJob(2, OTHER)]);
  const a = await c.worker('a');
  const b = await c.worker('b');
  c.membership.live = ['a', 'b'];
  // No measurement yet: a count split; a ticks first and takes the two hot shards.
  await a.balancer.tick();
  await flush();
  await b.balancer.tick();
  await flush();
  expect(a.held()).toEqual([key(0), key(0, OTHER)]);
  const letGo: Array<{ leaseKey: string; at: number; published: unknown }> = [];
  for (let second = 1; second <= 10; second++) {
    await jest.advanceTimersByTimeAsync(1000);
    const before = a.held();
    await a.balancer.tick();
    await flush();
    // A lease handed over is published as let go (no owner), with when it moved, before anyone takes it.
    for (const id of before.filter((held) => !a.held().includes(held))) letGo.push({ leaseKey: id, at: clock(), published: (await c.loads.read()).get(id) });
    await b.balancer.tick();
    await flush();
  }
  // One hot lease each, after one move.
  expect(a.held()).toHaveLength(1);
  expect(b.held()).toHaveLength(3);
  const movedId = [key(0), key(0, OTHER)].find((id) => b.held().includes(id))!;
  expect(letGo).toEqual([{ leaseKey: movedId, at: expect.any(Number), published: expect.objectContaining({ owner: '', movedAt: letGo[0]?.at }) }]);
  const published = await c.loads.read();
  expect(published.get(movedId)).toMatchObject({ owner: 'b', movedAt: letGo[0].at });
  expect(published.get(movedId)!.bytesPerSecond).toBeGreaterThan(150_000);
  expect(published.get(a.held()[0])).toMatchObject({ owner: 'a', movedAt: undefined });
  expect(published.get(key(2))).toMatchObject({ owner: 'b' });
  expect(published.get(key(2, OTHER))).toMatchObject({ owner: 'b' });
  expect(published.size).toBe(4);
});
