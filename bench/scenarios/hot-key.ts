/**
 * What one hot partition key costs the sink: one worker copies the same number of stock records twice,
 * back to back on the in-memory Kinesis, once with every record under the one key `partitionkey` (as
 * the reference example's producer writes them) and once with a random key per record. The input
 * stream has one shard in both runs, so the readers do the same work and only the sink's per-key
 * ordering (`sink.ordering` = KEY, the default: one request per key in flight) differs; the output
 * stream has four shards, which spread keys use and the hot key cannot. The figure is the ratio of the
 * two rates (target ≥ 0.8), per `sink.aggregation` setting. The machines are shared and noisy, so the
 * pair runs several times in alternating order (random, one, one, random, …) and the figure is the
 * median of the pairs' ratios, each pair run back to back.
 */
import { randomUUID } from 'node:crypto';
import { randomStock } from '../../generator/stock-records';
import { uniqueName } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { atLeast, type Figure, type Scenario } from '../scenario';
import { benchProperties, shardflowCopy, type CopyRun } from './throughput';

const HOT_KEY = 'partitionkey';
const OUTPUT_SHARDS = 4;

type Keys = 'hot' | 'spread';

async function copy(kinesis: MemoryEndpoint, keys: Keys, aggregation: string | undefined, records: number, timeoutMs: number): Promise<CopyRun> {
  const input = uniqueName(`hot-key-${keys}-in`);
  const output = uniqueName(`hot-key-${keys}-out`);
  const inputArn = await kinesis.createStream(input, 1);
  const outputArn = await kinesis.createStream(output, OUTPUT_SHARDS);
  const now = new Date();
  const data = Buffer.from(JSON.stringify(randomStock(now)));
  await kinesis.putAll(inputArn, Array.from({ length: records }, () => ({ PartitionKey: keys === 'hot' ? HOT_KEY : randomUUID(), Data: data })));
  const groups = benchProperties(kinesis.endpoint, inputArn, outputArn, 'POLLING');
  if (aggregation) groups.OutputStream0 = { ...groups.OutputStream0, 'sink.aggregation': aggregation };
  const contender = `${keys === 'hot' ? 'one key' : 'random keys'}${aggregation ? `, ${aggregation}` : ''}`;
  return shardflowCopy(kinesis, contender, `hot-key-${keys}-${aggregation ?? 'NONE'}`, groups, output, records, timeoutMs);
}

/** The `sink.aggregation` settings compared (undefined: the default, no aggregation). */
export const AGGREGATIONS: ReadonlyArray<string | undefined> = [undefined, 'KPL'];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const hotKey: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 100_000;
  const pairs = quick ? 2 : 3;
  const timeoutMs = quick ? 120_000 : 300_000;
  const kinesis = await MemoryEndpoint.start();
  const figures: Figure[] = [];
  const runs: CopyRun[] = [];
  try {
    for (const aggregation of AGGREGATIONS) {
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      const spreadRates: number[] = [];
      const hotRates: number[] = [];
      for (let p = 0; p < pairs; p++) {
        const order = p % 2 === 0 ? (['spread', 'hot'] as const) : (['hot', 'spread'] as const);
        const pair = new Map<Keys, CopyRun>();
        for (const keys of order) {
          const r = await copy(kinesis, keys, aggregation, records, timeoutMs);
          log(`  ${r.contender}: ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} records/s, ${r.cpuSecondsPer1000.toFixed(3)} CPU s per 1,000`);
          pair.set(keys, r);
          runs.push(r);
        }
        spreadRates.push(pair.get('spread')!.recordsPerSecond);
        hotRates.push(pair.get('hot')!.recordsPerSecond);
        ratios.push(pair.get('hot')!.recordsPerSecond / pair.get('spread')!.recordsPerSecond);
        cpuRatios.push(pair.get('hot')!.cpuSecondsPer1000 / pair.get('spread')!.cpuSecondsPer1000);
      }
      const label = aggregation ?? 'NONE';
      figures.push({ name: `random keys, aggregation ${label} records/s (median)`, value: median(spreadRates), unit: 'records/s' });
      figures.push({ name: `one key, aggregation ${label} records/s (median)`, value: median(hotRates), unit: 'records/s' });
      figures.push(atLeast(`one key / random keys, aggregation ${label} (median of ${pairs} pairs)`, median(ratios), 'x', 0.8));
      // CPU per record varies less with the machine's load than rates do: a second view of the same cost.
      figures.push({ name: `one key / random keys, aggregation ${label}, CPU per record (median)`, value: median(cpuRatios), unit: 'x' });
      log(`  one key / random keys, ${label}: ${ratios.map((r) => r.toFixed(2)).join(', ')} (CPU per record ${cpuRatios.map((r) => r.toFixed(2)).join(', ')})`);
    }
  } finally {
    await kinesis.stop();
  }
  return { scenario: 'hot-key', figures, details: { records, pairs, inputShards: 1, outputShards: OUTPUT_SHARDS, runs } };
};
