import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Metrics } from '../../shared/metrics';

const STREAM = 'arn:aws:kinesis:us-east-1:000000000000:stream/in';
const OTHER_STREAM = 'arn:aws:kinesis:us-east-1:000000000000:stream/other';

/** The exposition lines of series that carry a shard label, without the default metrics. */
async function shardLines(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => !line.startsWith('#') && line.includes('shard="'));
}

/** Puts one series on every metric of the class that has a shard label, for each shard (and stream, where it has one). */
function touchEveryShardMetric(m: Metrics, shards: string[], streams: string[]): string[] {
  const names: string[] = [];
  for (const metric of Object.values(m)) {
    if (!(metric instanceof Counter || metric instanceof Gauge || metric instanceof Histogram)) continue;
    const labelNames = (metric as unknown as { labelNames: string[] }).labelNames;
    if (!labelNames.includes('shard')) continue;
    names.push((metric as unknown as { name: string }).name);
    for (const shard of shards) {
      for (const stream of labelNames.includes('stream') ? streams : [undefined]) {
        const labels: Record<string, string> = { shard };
        if (stream !== undefined) labels.stream = stream;
        for (const other of labelNames.filter((l) => l !== 'shard' && l !== 'stream')) labels[other] = other === 'reader' ? 'POLLING' : 'x';
        if (metric instanceof Counter) metric.inc(labels, 3);
        else if (metric instanceof Gauge) metric.set(labels, 3);
        else metric.observe(labels, 0.1);
        // A shard read by both readers over its life (EFO after POLLING) has two lag series.
        if (labelNames.includes('reader') && metric instanceof Gauge) metric.set({ ...labels, reader: 'EFO' }, 4);
      }
    }
  }
  return names;
}

test('removeShardSeries removes every series of the shard and leaves the other shards and streams', async () => {
  const m = new Metrics({ app: 'unit' });
  const names = touchEveryShardMetric(m, ['shardId-000000000001', 'shardId-000000000002'], [STREAM, OTHER_STREAM]);
  // The per-shard metrics docs/operations.md lists (and any added later, which this test then covers too).
  expect(names).toEqual(expect.arrayContaining([
    'shardflow_aggregated_records_read_total',
    'shardflow_millis_behind_latest',
    'shardflow_read_throttles_total',
    'shardflow_records_duplicated_total',
    'shardflow_records_read_total',
    'shardflow_user_records_outside_shard_total',
  ]));
  m.leasesHeld.set(2);
  m.recordsTransformed.inc({ stream: STREAM }, 5);

  await m.removeShardSeries(STREAM, 'shardId-000000000001');

  const lines = await shardLines(m.registry);
  const gone = lines.filter((l) => l.includes('shard="shardId-000000000001"'));
  // Only the series of the other stream are left for this shard (a worker reads one input stream, so in practice none).
  expect(gone.length).toBeGreaterThan(0);
  expect(gone.every((l) => l.includes(`stream="${OTHER_STREAM}"`))).toBe(true);
  // Every metric still has the other shard's series.
  for (const name of names) expect(lines.some((l) => l.startsWith(`${name}{`) && l.includes('shard="shardId-000000000002"'))).toBe(true);
  // Series without a shard are untouched.
  const text = await m.registry.metrics();
  expect(text).toMatch(/^shardflow_leases_held\{app="unit"\} 2$/m);
  expect(text).toMatch(/^shardflow_records_transformed_total\{stream="[^"]+",app="unit"\} 5$/m);

  await m.removeShardSeries(OTHER_STREAM, 'shardId-000000000001');
  expect((await shardLines(m.registry)).filter((l) => l.includes('shard="shardId-000000000001"'))).toEqual([]);
  // A shard that comes back starts its series again.
  m.recordsRead.inc({ stream: STREAM, shard: 'shardId-000000000001' }, 1);
  expect(await m.registry.metrics()).toMatch(/^shardflow_records_read_total\{stream="[^"]+",shard="shardId-000000000001",app="unit"\} 1$/m);
});

test('a shard with no series, or removed twice, is no error', async () => {
  const m = new Metrics();
  await m.removeShardSeries(STREAM, 'shardId-000000000009');
  m.millisBehindLatest.set({ shard: 'shardId-000000000009', reader: 'POLLING' }, 10);
  await m.removeShardSeries(STREAM, 'shardId-000000000009');
  await m.removeShardSeries(STREAM, 'shardId-000000000009');
  expect(await shardLines(m.registry)).toEqual([]);
});
