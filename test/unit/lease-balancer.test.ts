/**
 * LeaseBalancer on the in-memory lease store and a fake clock: real lease loops whose holders hand a
 * lease back gracefully when it is stopped, a heartbeat that says who is alive, and the balancer's
 * ticks driven by the test. COUNT: the fair share, the newest leases handed back, the cap; THROUGHPUT:
 * measured rates published, one hot lease moved to the idle worker and published as let go. No Redis.
 */
import pino from 'pino';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { LeaseBalancer, type LeaseBalancerDeps } from '../../worker/leases/lease-balancer';
import { LeaseLoop } from '../../worker/leases/lease-loop';
import type { Membership } from '../../worker/leases/worker-heartbeat';
import { InMemoryLeaseLoads } from '../support/in-memory-lease-loads';
import { InMemoryLeaseTable } from '../support/in-memory-lease-store';

const log = pino({ level: 'silent' });
const TIMEOUT = 10_000;
const clock = () => Date.now();
const flush = () => jest.advanceTimersByTimeAsync(0);
const job = (n: number): LeaseJobData => ({ shardId: `shardId-${String(n).padStart(12, '0')}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' } });

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
  const worker = async (id: string) => {
    const store = table.worker(id, TIMEOUT);
    // The holder reads until the lease stops, then hands it back (flush, checkpoint, release).
    const loop = new LeaseLoop({ store, leaseTimeoutMs: TIMEOUT, clock, log, hold: (lease) => new Promise((resolve) => lease.signal.addEventListener('abort', () => resolve(lease.isLost ? { type: 'lost' } : { type: 'released' }))) });
    const beat = async (): Promise<Membership | undefined> => (membership.live ? { live: membership.live, redisNowMs: clock() } : undefined);
    const balancer = new LeaseBalancer({ membership: { beat }, leases: store, loads, workerId: id, maxLeases: 100, intervalMs: 1000, clock, held: () => loop.leases, setCapacity: (n) => loop.setCapacity(n), log, ...extra });
    await loop.start();
    return { id, loop, balancer, held: () => loop.leases.map((l) => l.shardId) };
  };
  return { table, loads, membership, worker };
}

test('COUNT: a worker alone takes every lease; when another joins it hands back the newest above its share, which the other takes', async () => {
  const c = cluster();
  await c.table.ensure([0, 1, 2, 3, 4, 5].map(job));
  const a = await c.worker('a');
  c.membership.live = ['a'];
  expect(await a.balancer.tick()).toBe(6);
  await flush();
  expect(a.held()).toHaveLength(6);

  const b = await c.worker('b');
  c.membership.live = ['a', 'b'];
  expect(await a.balancer.tick()).toBe(3);
  await flush();
  expect(a.held()).toEqual([0, 1, 2].map((n) => job(n).shardId)); // the oldest stay
  expect(c.table.count()).toEqual({ held: 3, waiting: 3, delayed: 0 });
  expect(await b.balancer.tick()).toBe(3);
  await flush();
  expect(b.held().sort()).toEqual([3, 4, 5].map((n) => job(n).shardId));
  // Nothing moves while the share holds.
  await a.balancer.tick();
  await b.balancer.tick();
  await flush();
  expect([a.held().length, b.held().length]).toEqual([3, 3]);
});

test('COUNT: a lease put off to retry later counts as a shard to share; never more than worker.max-leases', async () => {
  const c = cluster();
  await c.table.ensure([0, 1, 2, 3].map(job));
  c.table.delay(job(3).shardId, 60_000);
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

test('THROUGHPUT: measures and publishes the leases\' rates, moves one hot lease to the idle worker, and publishes it as let go', async () => {
  const rates: Record<string, number> = { [job(0).shardId]: 200_000, [job(1).shardId]: 200_000, [job(2).shardId]: 2000, [job(3).shardId]: 2000 };
  const since = clock();
  const bytesRead = (shardId: string) => (rates[shardId] * (clock() - since)) / 1000;
  const c = cluster({ balance: 'THROUGHPUT', cooldownMs: 60_000, bytesRead });
  await c.table.ensure([0, 1, 2, 3].map(job));
  const a = await c.worker('a');
  const b = await c.worker('b');
  c.membership.live = ['a', 'b'];
  // No measurement yet: a count split; a ticks first and takes the two hot shards.
  await a.balancer.tick();
  await flush();
  await b.balancer.tick();
  await flush();
  expect(a.held()).toEqual([job(0).shardId, job(1).shardId]);
  const letGo: Array<{ shardId: string; at: number; published: unknown }> = [];
  for (let second = 1; second <= 10; second++) {
    await jest.advanceTimersByTimeAsync(1000);
    const before = a.held();
    await a.balancer.tick();
    await flush();
    // A lease handed over is published as let go (no owner), with when it moved, before anyone takes it.
    for (const shardId of before.filter((id) => !a.held().includes(id))) letGo.push({ shardId, at: clock(), published: (await c.loads.read()).get(shardId) });
    await b.balancer.tick();
    await flush();
  }
  // One hot lease each, after one move.
  expect(a.held()).toHaveLength(1);
  expect(b.held()).toHaveLength(3);
  const movedId = [job(0).shardId, job(1).shardId].find((id) => b.held().includes(id))!;
  expect(letGo).toEqual([{ shardId: movedId, at: expect.any(Number), published: expect.objectContaining({ owner: '', movedAt: letGo[0]?.at }) }]);
  const published = await c.loads.read();
  expect(published.get(movedId)).toMatchObject({ owner: 'b', movedAt: letGo[0].at });
  expect(published.get(movedId)!.bytesPerSecond).toBeGreaterThan(150_000);
  expect(published.get(a.held()[0])).toMatchObject({ owner: 'a', movedAt: undefined });
  expect(published.get(job(2).shardId)).toMatchObject({ owner: 'b' });
});
