/**
 * `sink.aggregation = KPL` end to end: the real CLI (coordinator and worker) copies records of a few
 * hot keys from kinesis-local to an output stream that is split while the copy runs. The output is
 * read back as a KCL-family reader would: every Kinesis record de-aggregated by aws-kinesis-agg (an
 * independent implementation, MD5 checked), user records outside their shard's hash range dropped.
 * What that reader keeps must be every input record exactly once, each key in input order; copies
 * outside a range may exist only as the sink's own count of records re-sent after the reshard.
 */
import { ListShardsCommand, SplitShardCommand, type Shard } from '@aws-sdk/client-kinesis';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { AppKeys } from '../../shared/redis/keys';
import { readWorkerStatuses } from '../../worker/status-reporter';
import { useClusterHarness } from '../support/harness';
import { theirDeaggregate } from '../support/kinesis-agg';
import { createStream, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { uniqueName, waitFor } from '../support/wait';

const h = useClusterHarness();
const KEYS = 12;

/** `perKey` records of each key, interleaved, each naming its key and its place in the key's order. */
function batch(phase: number, perKey: number) {
  const out = [];
  for (let n = 0; n < perKey; n++) {
    for (let k = 0; k < KEYS; k++) {
      out.push({ PartitionKey: `key-${k}`, Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'INTC', price: n, key: `key-${k}`, seq: phase * 1_000_000 + n })) });
    }
  }
  return out;
}

interface UserRecord {
  shardId: string;
  key: string;
  seq: number;
  inRange: boolean;
}

test('KPL: every record de-aggregates (MD5 checked), inside its shard; exactly once and in key order across an output split', async () => {
  const app = h.app('it-kpl');
  const inputArn = await createStream(h.client, uniqueName('kin'), 1);
  const outputArn = await createStream(h.client, uniqueName('kout'), 2);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { OutputStream0: { 'sink.aggregation': 'KPL' } }));
  h.start('coordinator', properties, app);
  h.start('worker', properties, app);

  const first = batch(1, 150);
  await putAll(h.client, inputArn, first);
  await waitFor(async () => ((await readAll(h.client, outputArn)).length > 0 ? true : undefined), 60_000, 'the first output');
  // Split an output shard while the copy runs; the second batch is written while and after it happens.
  const split = putAll(h.client, inputArn, batch(2, 150));
  const parent = (await h.client.send(new ListShardsCommand({ StreamARN: outputArn }))).Shards![0];
  const start = BigInt(parent.HashKeyRange!.StartingHashKey!);
  const end = BigInt(parent.HashKeyRange!.EndingHashKey!);
  await h.client.send(new SplitShardCommand({ StreamARN: outputArn, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
  await split;
  const total = first.length * 2;

  const shards = new Map<string, Shard>();
  const read = await waitFor(async () => {
    for (const s of (await h.client.send(new ListShardsCommand({ StreamARN: outputArn }))).Shards ?? []) shards.set(s.ShardId!, s);
    const users: UserRecord[] = [];
    for (const r of await readAll(h.client, outputArn)) {
      const shard = shards.get(r.shardId)!;
      const lo = BigInt(shard.HashKeyRange!.StartingHashKey!);
      const hi = BigInt(shard.HashKeyRange!.EndingHashKey!);
      // theirDeaggregate checks the MD5 and throws on a bad one.
      const records = isAggregated(r.data) ? theirDeaggregate(r.data, r.partitionKey).map((u) => ({ key: u.partitionKey, data: u.data })) : [{ key: r.partitionKey, data: r.data }];
      for (const u of records) {
        const hash = partitionKeyHash(u.key);
        users.push({ shardId: r.shardId, key: u.key, seq: (JSON.parse(u.data.toString()) as { seq: number }).seq, inRange: hash >= lo && hash <= hi });
      }
    }
    return users.filter((u) => u.inRange).length >= total ? users : undefined;
  }, 120_000, `${total} records in range in the output`);

  expect(shards.size).toBe(4); // the split happened: parent closed, two children
  const kept = read.filter((u) => u.inRange);
  // Exactly once, as a range-checking reader sees it.
  const ids = kept.map((u) => `${u.key}/${u.seq}`);
  expect(new Set(ids).size).toBe(total);
  expect(ids).toHaveLength(total);
  // Per-key order: readAll reads shards in id order, a parent before its children, each in sequence order.
  for (let k = 0; k < KEYS; k++) {
    const seqs = kept.filter((u) => u.key === `key-${k}`).map((u) => u.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }
  // Aggregation really happened.
  const aggregated = (await readAll(h.client, outputArn)).filter((r) => isAggregated(r.data)).length;
  expect(aggregated).toBeGreaterThan(0);
  // Out-of-range copies only where the worker counted records re-sent after the reshard.
  const statuses = await waitFor(async () => {
    const s = await readWorkerStatuses(h.redis, new AppKeys(app));
    return s.length > 0 && s[0].sink.recordsWritten >= total ? s : undefined;
  }, 10_000, 'the worker status');
  const misplaced = read.filter((u) => !u.inRange).length;
  expect(misplaced).toBe(statuses[0].sink.misplacedRecords);
  process.stderr.write(`KPL integration: ${total} records, ${aggregated} aggregates, ${misplaced} out-of-range copies re-sent after the split\n`);
  expect(await h.stopAll()).toEqual([0, 0]);
});
