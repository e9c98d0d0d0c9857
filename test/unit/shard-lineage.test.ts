import { planLeases, type LeasePlanInput, type ShardInfo } from '../../coordinator/shard-lineage';
import type { InitialPosition } from '../../shared/config/app-config';

const LATEST: InitialPosition = { type: 'LATEST' };
const TRIM_HORIZON: InitialPosition = { type: 'TRIM_HORIZON' };
const AT_TIMESTAMP: InitialPosition = { type: 'AT_TIMESTAMP', timestamp: new Date('2024-05-01T12:00:00.000Z') };

function shard(shardId: string, parentShardIds: string[] = [], closed = false): ShardInfo {
  return { shardId, parentShardIds, closed };
}

/** Without `initial`, this is the application's first discovery: every listed shard is initial. */
function plan(shards: ShardInfo[], opts: { finished?: string[]; initial?: string[]; position?: InitialPosition } = {}) {
  const input: LeasePlanInput = {
    shards,
    finished: new Set(opts.finished ?? []),
    initialShards: new Set(opts.initial ?? shards.map((s) => s.shardId)),
    firstDiscovery: opts.initial === undefined,
    initialPosition: opts.position ?? TRIM_HORIZON,
  };
  return planLeases(input);
}

const ids = (p: ReturnType<typeof plan>) => p.lease.map((l) => l.shardId);

describe('planLeases: initial positions', () => {
  const open = [shard('s0'), shard('s1')];

  it.each([
    ['LATEST', LATEST, { type: 'LATEST' }],
    ['TRIM_HORIZON', TRIM_HORIZON, { type: 'TRIM_HORIZON' }],
    ['AT_TIMESTAMP', AT_TIMESTAMP, { type: 'AT_TIMESTAMP', timestamp: '2024-05-01T12:00:00.000Z' }],
  ])('starts the initial shards at %s', (_name, position, start) => {
    expect(plan(open, { position })).toEqual({
      lease: [
        { shardId: 's0', parentShardIds: [], start },
        { shardId: 's1', parentShardIds: [], start },
      ],
      skip: [],
    });
  });

  it('gives AT_TIMESTAMP as an ISO string', () => {
    const p = plan([shard('s0')], { position: { type: 'AT_TIMESTAMP', timestamp: new Date(1714564800123) } });
    expect(p.lease[0].start).toEqual({ type: 'AT_TIMESTAMP', timestamp: '2024-05-01T12:00:00.123Z' });
    expect(typeof (p.lease[0].start as { timestamp: string }).timestamp).toBe('string');
  });

  it.each([
    ['LATEST', LATEST],
    ['TRIM_HORIZON', TRIM_HORIZON],
    ['AT_TIMESTAMP', AT_TIMESTAMP],
  ])('starts shards that appeared later at TRIM_HORIZON (with %s)', (_name, position) => {
    const p = plan([shard('s0'), shard('new1')], { position, initial: ['s0'] });
    expect(p.lease.find((l) => l.shardId === 'new1')?.start).toEqual({ type: 'TRIM_HORIZON' });
    expect(p.skip).toEqual([]);
  });

  it('returns nothing for an empty stream', () => {
    expect(plan([], { position: LATEST })).toEqual({ lease: [], skip: [] });
  });
});

describe('planLeases: parents first', () => {
  it('does not lease a split child until its parent is finished', () => {
    const shards = [shard('p', [], true), shard('c1', ['p']), shard('c2', ['p'])];
    expect(plan(shards, { initial: ['p'] })).toEqual({ lease: [{ shardId: 'p', parentShardIds: [], start: { type: 'TRIM_HORIZON' } }], skip: [] });

    const after = plan(shards, { initial: ['p'], finished: ['p'] });
    expect(after).toEqual({
      lease: [
        { shardId: 'c1', parentShardIds: ['p'], start: { type: 'TRIM_HORIZON' } },
        { shardId: 'c2', parentShardIds: ['p'], start: { type: 'TRIM_HORIZON' } },
      ],
      skip: [],
    });
  });

  it('does not lease a merge child until both parents are finished', () => {
    const shards = [shard('a', [], true), shard('b', [], true), shard('m', ['a', 'b'])];
    expect(ids(plan(shards, { initial: ['a', 'b'] }))).toEqual(['a', 'b']);
    expect(ids(plan(shards, { initial: ['a', 'b'], finished: ['a'] }))).toEqual(['b']);
    expect(ids(plan(shards, { initial: ['a', 'b'], finished: ['b'] }))).toEqual(['a']);
    const done = plan(shards, { initial: ['a', 'b'], finished: ['a', 'b'] });
    expect(done.lease).toEqual([{ shardId: 'm', parentShardIds: ['a', 'b'], start: { type: 'TRIM_HORIZON' } }]);
  });

  it('counts a parent absent from the listing (trimmed) as finished', () => {
    const p = plan([shard('c', ['gone'])], { initial: ['c'] });
    expect(p.lease).toEqual([{ shardId: 'c', parentShardIds: ['gone'], start: { type: 'TRIM_HORIZON' } }]);
  });

  it('leases a merge child when one parent is finished and the other is gone', () => {
    const shards = [shard('a', [], true), shard('m', ['a', 'gone'])];
    expect(ids(plan(shards, { initial: ['a', 'm'] }))).toEqual(['a']);
    expect(ids(plan(shards, { initial: ['a', 'm'], finished: ['a'] }))).toEqual(['m']);
  });

  it('does not lease a grandchild while its parent (itself a child) is unfinished', () => {
    const shards = [shard('g', [], true), shard('p', ['g'], true), shard('c', ['p'])];
    expect(ids(plan(shards, { initial: ['g'] }))).toEqual(['g']);
    expect(ids(plan(shards, { initial: ['g'], finished: ['g'] }))).toEqual(['p']);
    expect(ids(plan(shards, { initial: ['g'], finished: ['g', 'p'] }))).toEqual(['c']);
  });

  it('does not depend on the order of the listing', () => {
    const shards = [shard('m', ['a', 'b']), shard('b', [], true), shard('a', [], true)];
    expect(ids(plan(shards, { initial: ['a', 'b'] }))).toEqual(['b', 'a']);
    expect(ids(plan(shards, { initial: ['a', 'b'], finished: ['a', 'b'] }))).toEqual(['m']);
  });
});

describe('planLeases: finished and skipped shards', () => {
  it('never leases a finished shard', () => {
    const shards = [shard('s0', [], true), shard('s1'), shard('s2', [], true)];
    expect(ids(plan(shards, { finished: ['s0', 's2'] }))).toEqual(['s1']);
    expect(plan(shards, { finished: ['s0', 's1', 's2'] })).toEqual({ lease: [], skip: [] });
  });

  it('never leases a finished shard with LATEST either, nor lists it as skipped again', () => {
    const shards = [shard('s0', [], true), shard('s1')];
    expect(plan(shards, { position: LATEST, finished: ['s0'] })).toEqual({ lease: [{ shardId: 's1', parentShardIds: [], start: { type: 'LATEST' } }], skip: [] });
  });

  it('with LATEST, skips the closed initial shards and leases their open children at LATEST', () => {
    const shards = [shard('p', [], true), shard('c1', ['p']), shard('c2', ['p']), shard('other')];
    expect(plan(shards, { position: LATEST })).toEqual({
      lease: [
        { shardId: 'c1', parentShardIds: ['p'], start: { type: 'LATEST' } },
        { shardId: 'c2', parentShardIds: ['p'], start: { type: 'LATEST' } },
        { shardId: 'other', parentShardIds: [], start: { type: 'LATEST' } },
      ],
      skip: ['p'],
    });
  });

  it('with LATEST, skips a whole closed chain present at the first discovery', () => {
    const shards = [shard('g', [], true), shard('p', ['g'], true), shard('a', [], true), shard('m', ['p', 'a'])];
    expect(plan(shards, { position: LATEST })).toEqual({
      lease: [{ shardId: 'm', parentShardIds: ['p', 'a'], start: { type: 'LATEST' } }],
      skip: ['g', 'p', 'a'],
    });
  });

  it('with LATEST, does not skip a closed shard that appeared later; its children wait for it', () => {
    const shards = [shard('s0'), shard('late', [], true), shard('child', ['late'])];
    expect(plan(shards, { position: LATEST, initial: ['s0'] })).toEqual({
      lease: [
        { shardId: 's0', parentShardIds: [], start: { type: 'LATEST' } },
        { shardId: 'late', parentShardIds: [], start: { type: 'TRIM_HORIZON' } },
      ],
      skip: [],
    });
  });

  it.each([
    ['TRIM_HORIZON', TRIM_HORIZON, { type: 'TRIM_HORIZON' }],
    ['AT_TIMESTAMP', AT_TIMESTAMP, { type: 'AT_TIMESTAMP', timestamp: '2024-05-01T12:00:00.000Z' }],
  ])('with %s, reads closed initial shards instead of skipping them', (_name, position, start) => {
    const shards = [shard('p', [], true), shard('c', ['p'])];
    expect(plan(shards, { position })).toEqual({ lease: [{ shardId: 'p', parentShardIds: [], start }], skip: [] });
  });

  it('does not change the finished set it is given', () => {
    const finished = new Set<string>();
    planLeases({ shards: [shard('p', [], true), shard('c', ['p'])], finished, initialShards: new Set(['p', 'c']), firstDiscovery: true, initialPosition: LATEST });
    expect(finished.size).toBe(0);
  });
});

describe('planLeases: LATEST skips only what was closed at the first discovery', () => {
  it('an initial shard that closes later (a split while it is read) is still leased to its end, and its children wait', () => {
    const shards = [shard('p', [], true), shard('c1', ['p']), shard('c2', ['p'])];
    expect(plan(shards, { position: LATEST, initial: ['p'] })).toEqual({
      lease: [{ shardId: 'p', parentShardIds: [], start: { type: 'LATEST' } }],
      skip: [],
    });
  });
});
