/**
 * KPL aggregation end to end, on the in-memory Kinesis: one worker copies the same stock records twice,
 * back to back in the same run:
 *   - plain: one Kinesis record per stock record in, `sink.aggregation` NONE out;
 *   - aggregated: the input written as a KPL producer writes it (user records packed per input shard into
 *     aggregates of up to 50 KiB, each keyed by its first user record), `sink.aggregation` KPL out.
 * Figures: user records/s through the worker, Kinesis records in and out, and CPU per 1,000 user records,
 * with the aggregated path's CPU as a ratio of the plain path's (de-aggregation, MD5 checks and packing
 * against one parse of a Kinesis record each).
 */
import { aggregateEntries, plainEntries } from '../../generator/aggregate-entries';
import { randomStock, stockUserRecord } from '../../generator/stock-records';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import type { UserRecord } from '../../shared/kpl/aggregated-record';
import { uniqueName } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import type { Figure, Scenario } from '../scenario';
import { benchProperties, shardflowCopy, type CopyRun } from './throughput';

const SHARDS = 4;

type Path = 'plain' | 'aggregated';

interface PathRun extends CopyRun {
  kinesisRecordsIn: number;
  kinesisRecordsOut: number;
}

/** Splits user records by the shard of a stream with SHARDS equal hash ranges, as a KPL groups them. */
function byShard(records: readonly UserRecord[]): UserRecord[][] {
  const groups: UserRecord[][] = Array.from({ length: SHARDS }, () => []);
  const width = (1n << 128n) / BigInt(SHARDS);
  for (const r of records) groups[Math.min(SHARDS - 1, Number(partitionKeyHash(r.partitionKey) / width))].push(r);
  return groups;
}

async function copy(kinesis: MemoryEndpoint, path: Path, records: number, timeoutMs: number): Promise<PathRun> {
  const input = uniqueName(`agg-${path}-in`);
  const output = uniqueName(`agg-${path}-out`);
  const inputArn = await kinesis.createStream(input, SHARDS);
  const outputArn = await kinesis.createStream(output, SHARDS);
  const now = new Date();
  const users = Array.from({ length: records }, () => stockUserRecord(randomStock(now), 'random'));
  const entries = path === 'plain' ? plainEntries(users) : byShard(users).flatMap((group) => (group.length > 0 ? aggregateEntries(group) : []));
  await kinesis.putAll(inputArn, entries.map((e) => e.entry));
  const groups = benchProperties(kinesis.endpoint, inputArn, outputArn, 'POLLING');
  if (path === 'aggregated') groups.OutputStream0 = { ...groups.OutputStream0, 'sink.aggregation': 'KPL' };
  const contender = path === 'plain' ? 'plain in, NONE out' : 'aggregated in, KPL out';
  const result = await shardflowCopy(kinesis, contender, `aggregation-${path}`, groups, output, records, timeoutMs);
  return { ...result, kinesisRecordsIn: entries.length, kinesisRecordsOut: (await kinesis.stats(output)).records };
}

export const aggregation: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 200_000;
  const timeoutMs = quick ? 120_000 : 300_000;
  const kinesis = await MemoryEndpoint.start();
  const runs = new Map<Path, PathRun>();
  try {
    for (const path of ['plain', 'aggregated'] as const) {
      const r = await copy(kinesis, path, records, timeoutMs);
      log(`  ${r.contender}: ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} user records/s, ${r.kinesisRecordsIn.toLocaleString('en-US')} Kinesis records in, ${r.kinesisRecordsOut.toLocaleString('en-US')} out, ${r.cpuSecondsPer1000.toFixed(4)} CPU s per 1,000`);
      runs.set(path, r);
    }
  } finally {
    await kinesis.stop();
  }
  const plain = runs.get('plain')!;
  const aggregated = runs.get('aggregated')!;
  const figures: Figure[] = [];
  for (const r of [plain, aggregated]) {
    figures.push({ name: `${r.contender}: user records/s`, value: r.recordsPerSecond, unit: 'records/s' });
    figures.push({ name: `${r.contender}: Kinesis records in / out`, value: r.kinesisRecordsIn / r.kinesisRecordsOut, unit: 'ratio' });
    figures.push({ name: `${r.contender}: CPU per 1,000 user records`, value: r.cpuSecondsPer1000, unit: 'CPU s' });
  }
  figures.push({ name: 'aggregated / plain, user records/s', value: aggregated.recordsPerSecond / plain.recordsPerSecond, unit: 'x' });
  figures.push({ name: 'aggregated / plain, CPU per user record', value: aggregated.cpuSecondsPer1000 / plain.cpuSecondsPer1000, unit: 'x' });
  return { scenario: 'aggregation', figures, details: { records, shards: SHARDS, runs: [...runs.values()] } };
};
