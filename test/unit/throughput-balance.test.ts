/**
 * Load-aware balancing (`worker.balance = THROUGHPUT`) without Redis or processes: the rate meter on
 * a fake clock, the plan every worker computes from the published loads (hot shards, all equal, no
 * data yet, hysteresis, cooldown, a worker joining and leaving), and a simulated cluster that runs
 * meter and plan tick by tick and counts every move.
 */
import { ThroughputMeter } from '../../worker/leases/throughput-meter';
import { planThroughputShare, type LeaseLoad, type ThroughputShareInput } from '../../worker/leases/throughput-share';

const COOLDOWN = 60_000;
const base = { maxPerWorker: 1000, cooldownMs: COOLDOWN, margin: 0.2, minImbalance: 1024 };
const KB = 1024;

function plan(self: string, live: string[], leases: LeaseLoad[], extra: Partial<ThroughputShareInput> = {}) {
  return planThroughputShare({ ...base, self, live, shards: leases.length, leases, ...extra });
}

/** Every worker's plan from the same loads: the capacities and the releases. */
function plans(live: string[], leases: LeaseLoad[], extra: Partial<ThroughputShareInput> = {}) {
  return Object.fromEntries(live.map((w) => [w, plan(w, live, leases, extra)]));
}

const lease = (leaseKey: string, owner: string | undefined, kbps?: number, movedAgoMs?: number): LeaseLoad => ({
  leaseKey,
  owner,
  bytesPerSecond: kbps === undefined ? undefined : kbps * KB,
  movedAgoMs,
});

describe('ThroughputMeter on a fake clock', () => {
  it('has no rate during the warm-up, then the rate over the whole warm-up', () => {
    const m = new ThroughputMeter({ tauMs: 10_000, warmupMs: 3000 });
    m.sample('s', 0, 0);
    m.sample('s', 1000, 1000);
    m.sample('s', 2000, 2000);
    expect(m.rate('s')).toBeUndefined();
    m.sample('s', 30_000, 3000);
    expect(m.rate('s')).toBe(10_000);
  });

  it('follows a step in traffic as an exponential average with its time constant', () => {
    const m = new ThroughputMeter({ tauMs: 10_000, warmupMs: 1000 });
    let bytes = 0;
    m.sample('s', bytes, 0);
    for (let t = 1000; t <= 60_000; t += 1000) m.sample('s', (bytes += 1000), t);
    expect(m.rate('s')).toBeCloseTo(1000, 6);
    for (let t = 61_000; t <= 70_000; t += 1000) m.sample('s', (bytes += 11_000), t);
    // 10 s after a step from 1,000 to 11,000 B/s: 63% of the way.
    expect(m.rate('s')!).toBeGreaterThan(1000 + 0.62 * 10_000);
    expect(m.rate('s')!).toBeLessThan(1000 + 0.64 * 10_000);
  });

  it('starts a lease that moved here from the rate its previous owner published', () => {
    const m = new ThroughputMeter({ tauMs: 10_000, warmupMs: 3000 });
    m.sample('s', 0, 0, 5000);
    expect(m.rate('s')).toBe(5000);
    m.sample('s', 5000, 1000);
    expect(m.rate('s')).toBeCloseTo(5000, 6);
  });

  it('starts over when the lease is held again (a new runner counts from zero) and forgets leases let go', () => {
    const m = new ThroughputMeter({ tauMs: 10_000, warmupMs: 1000 });
    m.sample('s', 0, 0);
    m.sample('s', 50_000, 1000);
    m.sample('s', 10, 2000);
    expect(m.rate('s')).toBe(50_000); // the measurement is kept across the restart of the count
    m.sample('s', 2010, 3000);
    expect(m.rate('s')!).toBeLessThan(50_000);
    m.retain(new Set());
    expect(m.rate('s')).toBeUndefined();
  });
});

describe('planThroughputShare', () => {
  it('with no data yet balances the count: a worker that joins gets half', () => {
    const leases = Array.from({ length: 8 }, (_, i) => lease(`s${i}`, 'a'));
    const p = plans(['a', 'b'], leases);
    expect(p.a.capacity).toBe(4);
    expect(p.b.capacity).toBe(4);
    expect(p.a.release).toHaveLength(4);
    expect(p.b.release).toHaveLength(0);
  });

  it('with nothing held yet gives every worker room for its count share', () => {
    const p = planThroughputShare({ ...base, self: 'b', live: ['a', 'b', 'c'], shards: 8, leases: [] });
    const all = ['a', 'b', 'c'].map((w) => planThroughputShare({ ...base, self: w, live: ['a', 'b', 'c'], shards: 8, leases: [] }).capacity);
    expect(all.reduce((x, y) => x + y, 0)).toBe(8);
    expect(p.capacity).toBeGreaterThanOrEqual(2);
  });

  it('all leases equally loaded and the count even: nothing moves', () => {
    const leases = Array.from({ length: 8 }, (_, i) => lease(`s${i}`, i < 4 ? 'a' : 'b', 10));
    const p = plans(['a', 'b'], leases);
    expect(p.a.moves).toEqual([]);
    expect([p.a.capacity, p.b.capacity]).toEqual([4, 4]);
  });

  it('two hot shards on one worker: one of them moves, and the receiver alone gets the room for it', () => {
    const leases = [lease('h1', 'a', 100), lease('h2', 'a', 100), lease('c1', 'a', 10), lease('c2', 'a', 10), ...['c3', 'c4', 'c5', 'c6'].map((s) => lease(s, 'b', 10))];
    const p = plans(['a', 'b'], leases);
    expect(p.a.release).toHaveLength(1);
    expect(['h1', 'h2']).toContain(p.a.release[0]);
    expect(p.a.moves).toEqual(p.b.moves); // every worker computes the same plan
    expect(p.a.capacity).toBe(3);
    expect(p.b.capacity).toBe(5);
    expect(p.b.release).toEqual([]);
  });

  it('once each worker has one hot shard, nothing moves, though the counts are uneven', () => {
    const leases = [lease('h1', 'a', 100), lease('c1', 'a', 10), lease('c2', 'a', 10), lease('h2', 'b', 100, 5000), ...['c3', 'c4', 'c5', 'c6'].map((s) => lease(s, 'b', 10))];
    const p = plans(['a', 'b'], leases);
    expect(p.a.moves).toEqual([]);
    expect([p.a.capacity, p.b.capacity]).toEqual([3, 5]);
  });

  it('hysteresis: a worker up to 20% above the mean share keeps its leases', () => {
    // a 150, b 110: mean 130, a is 15% above it.
    const leases = [lease('x', 'a', 100), lease('y', 'a', 50), lease('z', 'b', 100), lease('w', 'b', 10)];
    expect(plan('a', ['a', 'b'], leases).moves).toEqual([]);
    // a 170, b 90: a is 31% above the mean 130, and moving y (70) narrows the gap from 80 to 60.
    const skewed = [lease('x', 'a', 100), lease('y', 'a', 70), lease('z', 'b', 80), lease('w', 'b', 10)];
    expect(plan('a', ['a', 'b'], skewed).release).toEqual(['y']);
  });

  it('moves nothing that would only turn the imbalance around (one shard hotter than all others together)', () => {
    const leases = [lease('hot', 'a', 1000), lease('c1', 'b', 10), lease('c2', 'b', 10)];
    const p = plans(['a', 'b'], leases);
    expect(p.a.moves).toEqual([]);
    expect([p.a.capacity, p.b.capacity]).toEqual([1, 2]);
  });

  it('moves nothing on an almost idle stream (below the absolute floor)', () => {
    const leases = [lease('x', 'a', 0.5), lease('y', 'a', 0.4), lease('z', 'b', 0.01)];
    expect(plan('a', ['a', 'b'], leases).moves).toEqual([]);
  });

  it('a lease moved for load within the cooldown stays; after the cooldown it may move again', () => {
    const leases = (movedAgo: number) => [lease('h1', 'a', 100, movedAgo), lease('h2', 'a', 100, movedAgo), ...['c1', 'c2', 'c3'].map((s) => lease(s, 'b', 10))];
    expect(plan('a', ['a', 'b'], leases(COOLDOWN - 1)).moves).toEqual([]);
    expect(plan('a', ['a', 'b'], leases(COOLDOWN)).release).toHaveLength(1);
  });

  it('a lease without a measurement weighs the mean of the measured ones', () => {
    // a: two unmeasured (mean 55 each) + 100 = 210, b: 10. Moving one unmeasured lease is the best narrowing.
    const leases = [lease('h', 'a', 100), lease('n1', 'a'), lease('n2', 'a'), lease('c', 'b', 10)];
    const p = plan('a', ['a', 'b'], leases);
    expect(p.share).toBeCloseTo((100 + 55 + 55 + 10) * KB / 2, 6);
    expect(p.release).toEqual(['h']);
  });

  it('a worker that left: its leases wait, and the least loaded worker gets room for the heaviest of them', () => {
    // c died holding h2 (published 100) and c5; a has h1 and one cold, b three colds.
    const leases = [lease('h1', 'a', 100), lease('c1', 'a', 10), lease('c2', 'b', 10), lease('c3', 'b', 10), lease('c4', 'b', 10), lease('h2', undefined, 100), lease('c5', undefined, 10)];
    const p = plans(['a', 'b'], leases);
    expect(p.a.capacity + p.b.capacity).toBe(7);
    expect(p.b.capacity).toBe(4); // the heaviest waiting lease goes to b, the lighter one to a
    expect(p.a.capacity).toBe(3);
    expect(p.a.moves).toEqual([]);
  });

  it('a worker that joins takes load from the most loaded workers, never more than it needs', () => {
    const leases = [lease('h1', 'a', 100), lease('c1', 'a', 10), lease('c2', 'a', 10), lease('h2', 'b', 100), lease('c3', 'b', 10), lease('c4', 'b', 10), lease('h3', 'b', 100)];
    const p = plans(['a', 'b', 'c'], leases);
    // b (210) hands a hot shard to c; a (120) and b (110) are then within the margin of the mean (113).
    expect(p.b.release).toHaveLength(1);
    expect(['h2', 'h3']).toContain(p.b.release[0]);
    expect(p.a.release).toEqual([]);
    expect([p.a.capacity, p.b.capacity, p.c.capacity]).toEqual([3, 3, 1]);
  });

  it('never gives a worker more than worker.max-leases', () => {
    const leases = Array.from({ length: 6 }, (_, i) => lease(`s${i}`, 'a', 10));
    const p = plans(['a', 'b'], leases, { maxPerWorker: 2 });
    expect(p.b.capacity).toBe(2);
    expect(p.a.release).toHaveLength(2);
  });
});

/**
 * A cluster of workers that each measure their leases and plan every second, as the balancer does;
 * a released lease is taken by a worker with room. Traffic per shard is noisy (±20%, seeded).
 */
describe('a simulated cluster on a fake clock', () => {
  function simulate(opts: { workers: string[]; rates: Record<string, number>; seconds: number; join?: { at: number; worker: string }; leave?: { at: number; worker: string } }) {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const shards = Object.keys(opts.rates);
    const meters = new Map<string, ThroughputMeter>();
    const owner = new Map<string, string | undefined>(shards.map((s) => [s, undefined]));
    const bytes = new Map<string, number>();
    const published = new Map<string, { bps?: number; movedAt?: number }>();
    const capacity = new Map<string, number>();
    const moves: Array<{ t: number; leaseKey: string; from: string }> = [];
    let live = [...opts.workers];
    for (let t = 0; t <= opts.seconds * 1000; t += 1000) {
      if (opts.join && t === opts.join.at * 1000) live = [...live, opts.join.worker];
      if (opts.leave && t === opts.leave.at * 1000) {
        live = live.filter((w) => w !== opts.leave!.worker);
        for (const [s, o] of owner) if (o === opts.leave.worker) owner.set(s, undefined);
      }
      for (const s of shards) if (owner.get(s)) bytes.set(s, (bytes.get(s) ?? 0) + opts.rates[s] * (0.8 + 0.4 * random()));
      for (const w of live) {
        if (!meters.has(w)) meters.set(w, new ThroughputMeter({ tauMs: 10_000, warmupMs: 3000 }));
        const meter = meters.get(w)!;
        const mine = shards.filter((s) => owner.get(s) === w);
        for (const s of mine) {
          meter.sample(s, bytes.get(s) ?? 0, t, published.get(s)?.bps);
          published.set(s, { ...published.get(s), bps: meter.rate(s) });
        }
        meter.retain(new Set(mine));
        const leases = shards
          .filter((s) => owner.get(s) !== undefined || published.has(s))
          .map((s) => ({ leaseKey: s, owner: owner.get(s), bytesPerSecond: published.get(s)?.bps, movedAgoMs: published.get(s)?.movedAt === undefined ? undefined : t - published.get(s)!.movedAt! }));
        const p = planThroughputShare({ ...base, self: w, live, shards: shards.length, leases });
        capacity.set(w, p.capacity);
        for (const s of p.release) {
          owner.set(s, undefined);
          published.set(s, { ...published.get(s), movedAt: t });
          moves.push({ t, leaseKey: s, from: w });
        }
      }
      // BullMQ: a waiting lease goes to a worker with room.
      for (const s of shards) {
        if (owner.get(s) !== undefined) continue;
        const taker = live.find((w) => shards.filter((x) => owner.get(x) === w).length < (capacity.get(w) ?? 0));
        if (taker) {
          owner.set(s, taker);
          bytes.set(s, 0);
        }
      }
    }
    const held = (w: string) => shards.filter((s) => owner.get(s) === w);
    return { moves, held, owner };
  }

  const rates: Record<string, number> = { h1: 200_000, h2: 200_000, c1: 20_000, c2: 20_000, c3: 20_000, c4: 20_000, c5: 20_000, c6: 20_000 };

  it('8 shards, 2 hot, 2 workers: each ends with one hot shard, and no lease moves more than once after the first measurement', () => {
    const { moves, held } = simulate({ workers: ['a', 'b'], rates, seconds: 600 });
    expect(held('a').filter((s) => s.startsWith('h'))).toHaveLength(1);
    expect(held('b').filter((s) => s.startsWith('h'))).toHaveLength(1);
    // The first plan with rates is at 3 s (the warm-up); after it, every lease moved at most once.
    const after = moves.filter((m) => m.t >= 3000);
    expect(after.length).toBeLessThanOrEqual(2);
    expect(new Set(after.map((m) => m.leaseKey)).size).toBe(after.length);
    expect(moves.filter((m) => m.t > 30_000)).toEqual([]);
  });

  it('a third worker joins: it takes a share of the load, and the cluster settles', () => {
    const many: Record<string, number> = { ...rates, h3: 200_000, c7: 20_000, c8: 20_000 };
    const { moves, held } = simulate({ workers: ['a', 'b'], rates: many, seconds: 600, join: { at: 120, worker: 'c' } });
    const load = (w: string) => held(w).reduce((sum, s) => sum + many[s], 0);
    const total = Object.values(many).reduce((a, b) => a + b, 0);
    for (const w of ['a', 'b', 'c']) expect(load(w)).toBeLessThanOrEqual((total / 3) * 1.2 + 1);
    expect(held('c').length).toBeGreaterThan(0);
    expect(moves.filter((m) => m.t > 240_000)).toEqual([]);
    const perLease = new Map<string, number>();
    for (const m of moves.filter((x) => x.t >= 120_000)) perLease.set(m.leaseKey, (perLease.get(m.leaseKey) ?? 0) + 1);
    expect(Math.max(0, ...perLease.values())).toBeLessThanOrEqual(1);
  });

  it('a worker leaves: the other takes every lease, hot ones included', () => {
    const { held } = simulate({ workers: ['a', 'b'], rates, seconds: 200, leave: { at: 100, worker: 'b' } });
    expect(held('a').sort()).toEqual(Object.keys(rates).sort());
  });
});
