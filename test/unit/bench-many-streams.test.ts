/**
 * The many-streams benchmark's pure parts, without processes: the two layouts and their run order, the
 * streams file made from the one-stream properties, the balance read from the workers' status (a lease
 * is its stream and shard), the Redis command rates, and the table's medians and ratios.
 */
import {
  balanceOf,
  commandRates,
  figuresOf,
  labelOf,
  layoutsOf,
  manyStreamsProperties,
  mediansOf,
  pairedRatios,
  parseCommandStats,
  parseComparison,
  parseProps,
  runOrder,
  logCounts,
  type RunResult,
} from '../../bench/scenarios/many-streams';

const arn = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;

describe('layouts', () => {
  it('splits S leases into one stream of S shards and N streams of S/N', () => {
    const { one, many } = layoutsOf({ shards: 800, streams: 200, workers: 8, rounds: 3 });
    expect(one).toEqual({ kind: 'one', streams: 1, shardsPerStream: 800 });
    expect(many).toEqual({ kind: 'many', streams: 200, shardsPerStream: 4 });
    expect([labelOf(one), labelOf(many)]).toEqual(['1×800', '200×4']);
  });

  it('refuses streams that do not divide the shards, a single stream and fractions', () => {
    expect(() => layoutsOf({ shards: 64, streams: 10, workers: 2, rounds: 3 })).toThrow(/dividing/);
    expect(() => layoutsOf({ shards: 64, streams: 1, workers: 2, rounds: 3 })).toThrow(/at least 2 streams/);
    expect(() => layoutsOf({ shards: 64, streams: 16, workers: 1.5, rounds: 3 })).toThrow(/whole numbers/);
  });

  it('alternates which layout runs first, so drift on the machine falls on both', () => {
    expect(runOrder(3)).toEqual(['one', 'many', 'many', 'one', 'one', 'many']);
    expect(runOrder(0)).toEqual([]);
  });

  it('reads SHARDFLOW_BENCH_MANY_STREAMS and _PROPS', () => {
    expect(parseComparison(undefined)).toBeUndefined();
    expect(parseComparison(' ')).toBeUndefined();
    expect(parseComparison('800x200x8')).toEqual({ shards: 800, streams: 200, workers: 8, rounds: 3 });
    expect(parseComparison('64x16x2x5')).toEqual({ shards: 64, streams: 16, workers: 2, rounds: 5 });
    expect(() => parseComparison('800x8')).toThrow(/<shards>x<streams>x<workers>/);
    expect(() => parseComparison('800x300x8')).toThrow(/dividing/);
    expect(parseProps('source.shard.idle-interval=10 s, Cluster.x = a=b')).toEqual({ 'source.shard.idle-interval': '10 s', 'Cluster.x': 'a=b' });
    expect(parseProps(undefined)).toEqual({});
    expect(() => parseProps('novalue')).toThrow(/key=value/);
  });
});

describe('manyStreamsProperties', () => {
  it('moves the input group\'s keys but its stream into the streams file\'s defaults, and names the file in Application', () => {
    const one = {
      InputStream0: { 'stream.arn': arn('in-0'), 'aws.region': 'us-east-1', 'source.shard.discovery.interval': '10000 ms' },
      OutputStream0: { 'stream.arn': arn('out') },
      Dashboard: { enabled: 'false' },
    };
    const { groups, streams } = manyStreamsProperties(one, [arn('in-0'), arn('in-1')], '/tmp/x/streams.json');
    expect(groups).toEqual({ OutputStream0: { 'stream.arn': arn('out') }, Dashboard: { enabled: 'false' }, Application: { 'streams-file': '/tmp/x/streams.json' } });
    expect(streams).toEqual({ defaults: { 'aws.region': 'us-east-1', 'source.shard.discovery.interval': '10000 ms' }, streams: [arn('in-0'), arn('in-1')] });
    expect(one.InputStream0['stream.arn']).toBe(arn('in-0')); // not changed in place
  });

  it('fails without an InputStream0 group', () => {
    expect(() => manyStreamsProperties({ OutputStream0: {} }, [], 'f')).toThrow(/InputStream0/);
  });
});

describe('balanceOf', () => {
  const lease = (stream: string, shardId: string) => ({ stream: arn(stream), shardId }) as RunLease;
  type RunLease = Parameters<typeof balanceOf>[0][number]['leases'][number];
  const now = 1_000_000;

  it('counts a lease as its stream and shard: the same shard id in two streams is two leases', () => {
    const statuses = [
      { updatedAt: now - 100, leases: [lease('a', 'shardId-0'), lease('a', 'shardId-1')] },
      { updatedAt: now - 100, leases: [lease('b', 'shardId-0'), lease('b', 'shardId-1')] },
    ];
    expect(balanceOf(statuses, now, 4, 2)).toEqual({ balanced: true, live: 2, held: 4, distinct: 4, fewest: 2, most: 2 });
  });

  it('is not balanced while a lease is held twice, one is missing, shares differ by two, or a worker is missing', () => {
    const twice = [
      { updatedAt: now, leases: [lease('a', 'shardId-0'), lease('a', 'shardId-1')] },
      { updatedAt: now, leases: [lease('a', 'shardId-1'), lease('b', 'shardId-0')] },
    ];
    expect(balanceOf(twice, now, 4, 2)).toMatchObject({ balanced: false, held: 4, distinct: 3 });
    const uneven = [
      { updatedAt: now, leases: [lease('a', 'shardId-0'), lease('a', 'shardId-1'), lease('b', 'shardId-0')] },
      { updatedAt: now, leases: [lease('b', 'shardId-1')] },
    ];
    expect(balanceOf(uneven, now, 4, 2)).toMatchObject({ balanced: false, fewest: 1, most: 3 });
    expect(balanceOf(uneven.slice(0, 1), now, 3, 2)).toMatchObject({ balanced: false, live: 1 });
  });

  it('leaves out workers that have not published for 2.5 s (killed or frozen)', () => {
    const statuses = [
      { updatedAt: now - 2500, leases: [lease('a', 'shardId-0')] },
      { updatedAt: now - 2499, leases: [lease('a', 'shardId-1')] },
    ];
    expect(balanceOf(statuses, now, 2, 2)).toEqual({ balanced: false, live: 1, held: 1, distinct: 1, fewest: 1, most: 1 });
    expect(balanceOf(statuses, now, 1, 1).balanced).toBe(true); // the survivor alone, holding the one lease
    expect(balanceOf([], now, 0, 0)).toEqual({ balanced: true, live: 0, held: 0, distinct: 0, fewest: 0, most: 0 });
  });
});

describe('Redis command rates', () => {
  const info = (calls: Record<string, number>) =>
    ['# Commandstats', ...Object.entries(calls).map(([k, n]) => `cmdstat_${k}:calls=${n},usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0`), ''].join('\r\n');

  it('parses INFO commandstats', () => {
    expect(parseCommandStats(info({ get: 12, evalsha: 3, 'client|setname': 2 }))).toEqual(new Map([['get', 12], ['evalsha', 3], ['client|setname', 2]]));
  });

  it('is per lease per second, largest first, without the measurement\'s own INFO', () => {
    const before = parseCommandStats(info({ get: 100, info: 4, exists: 10 }));
    const after = parseCommandStats(info({ get: 300, info: 5, exists: 50, mget: 20, zadd: 7 }));
    // 10 s, 4 leases: get 200 -> 5/lease/s, exists 40 -> 1, mget 20 -> 0.5; info 1 (ours) -> left out; zadd 7 new -> 0.175.
    const rates = commandRates(before, after, 10, 4);
    expect(Object.keys(rates.byCommand)).toEqual(['get', 'exists', 'mget', 'zadd']);
    expect(rates.byCommand).toEqual({ get: 5, exists: 1, mget: 0.5, zadd: 0.175 });
    expect(rates.total).toBeCloseTo(6.675, 10);
  });
});

describe('medians and the table', () => {
  const run = (kind: 'one' | 'many', round: number, balancedFromSpawnS: number, redis: number, load = 1): RunResult =>
    ({
      kind,
      round,
      streams: kind === 'one' ? 1 : 16,
      shardsPerStream: kind === 'one' ? 64 : 4,
      balancedFromSpawnS,
      redisCommandsPerLeasePerS: redis,
      workerCpuPercentPerLease: 0.1,
      coordinatorCpuMsPerRound: kind === 'one' ? 100 : 150,
      idleCpuPercentPerLease: 0.12,
      workersRssMiB: 200,
      loadAverage1m: { before: load, atBalance: load, windowStart: load, windowEnd: load + 1 },
    }) as RunResult;
  const runs = [run('one', 0, 5, 2.0), run('many', 0, 6, 2.1), run('many', 1, 5.5, 2.3), run('one', 1, 4, 2.0, 3), run('one', 2, 7, 1.9), run('many', 2, 5, 2.0)];

  it('takes the median of each layout\'s runs, the load beside', () => {
    const one = mediansOf(runs.filter((r) => r.kind === 'one'), '1×64');
    expect(one).toMatchObject({ label: '1×64', runs: 3, balancedFromSpawnS: 5, redisCommandsPerLeasePerS: 2.0, loadAtBalance: 1, loadOverWindow: 1.5 });
  });

  it('pairs the runs of a round for the spread of the ratio', () => {
    expect(pairedRatios(runs, 'balancedFromSpawnS')).toEqual([1.2, 1.375, 0.714]);
    expect(pairedRatios(runs.slice(0, 3), 'balancedFromSpawnS')).toEqual([1.2]);
  });

  it('judges the ratios many/one of the costs against ≤ 1.1 and shows the load average', () => {
    const one = mediansOf(runs.filter((r) => r.kind === 'one'), '1×64');
    const many = mediansOf(runs.filter((r) => r.kind === 'many'), '16×4');
    const figures = figuresOf(one, many);
    const byName = new Map(figures.map((f) => [f.name, f]));
    expect(byName.get('16×4/1×64 balanced after spawn')).toEqual({ name: '16×4/1×64 balanced after spawn', value: 5.5 / 5, unit: 'ratio', target: '≤ 1.1', met: true });
    expect(byName.get('16×4/1×64 idle Redis commands per lease')).toMatchObject({ value: 2.1 / 2.0, met: true });
    expect(byName.get('16×4/1×64 coordinator CPU per discovery round')).toEqual({ name: '16×4/1×64 coordinator CPU per discovery round', value: 1.5, unit: 'ratio' });
    expect(byName.get('16×4/1×64 workers RSS (sum)')).toEqual({ name: '16×4/1×64 workers RSS (sum)', value: 1, unit: 'ratio' });
    expect(byName.get('1×64 balanced after spawn')).toEqual({ name: '1×64 balanced after spawn', value: 5, unit: 's' });
    expect(byName.get('16×4 load average (1 min) over the idle window')).toMatchObject({ value: 1.5, unit: 'load' });
  });
});

describe('logCounts', () => {
  it('counts the lines of JSON logs at a level and above by message (and error), skipping the rest', () => {
    const a = [
      JSON.stringify({ level: 30, msg: 'lease taken' }),
      JSON.stringify({ level: 40, msg: 'slow', err: 'timeout' }),
      JSON.stringify({ level: 50, msg: 'holding the lease failed', err: { message: 'boom' } }),
      'not json',
      '{"level":50,"msg":"cut',
    ].join('\n');
    const b = JSON.stringify({ level: 40, msg: 'slow', err: 'timeout' });
    expect(logCounts([a, b], 40)).toEqual({ 'slow: timeout': 2, 'holding the lease failed: {"message":"boom"}': 1 });
    expect(logCounts([a, b], 30, false)).toEqual({ 'lease taken': 1, slow: 2, 'holding the lease failed': 1 });
  });

  it('leaves out the Node end-of-life notice every process logs', () => {
    const notice = JSON.stringify({ level: 40, msg: 'Node 20.20.2 is past its end of life (Node 20 ended on 2026-04-30), …' });
    expect(logCounts([notice], 40)).toEqual({});
  });
});
