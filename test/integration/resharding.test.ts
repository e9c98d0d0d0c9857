/**
 * Shard end: when the input stream's shard is split, the worker finishes the parent (every record
 * delivered, SHARD_END recorded with its children, lease job completed) and the coordinator leases the
 * children, which are read from TRIM_HORIZON.
 */
import { randomUUID } from 'node:crypto';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { Queue } from 'bullmq';
import { createStream, json, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { AppKeys, LEASE_QUEUE, leaseKey } from '../../shared/redis/keys';

const h = useClusterHarness();

function batch(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    PartitionKey: randomUUID(),
    Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'INTC', price: i, id: `${prefix}-${i}` })),
  }));
}

test.each([
  { reader: 'POLLING', input: { 'source.reader.type': 'POLLING' } as Record<string, string> },
  { reader: 'EFO', input: { 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'reshard-consumer' } },
])('$reader: a split mid-stream: the parent is finished for good, the children are read, nothing is lost', async ({ input }) => {
  const app = h.app('it-reshard');
  const keys = new AppKeys(app);
  const inputArn = await createStream(h.client, uniqueName('rin'), 1);
  const outputArn = await createStream(h.client, uniqueName('rout'), 1);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: { 'source.init.position': 'LATEST', ...input } }));
  for (const command of ['coordinator', 'worker', 'worker']) h.start(command, properties, app);

  // LATEST: wait until the parent's reader has its iterator (it reports lag after its first GetRecords).
  await waitFor(async () => {
    const statuses = Object.values(await h.redis.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ millisBehindLatest?: number }> });
    return statuses.some((s) => s.leases.some((l) => l.millisBehindLatest !== undefined));
  }, 30_000, 'the first shard to be read');

  await putAll(h.client, inputArn, batch('before', 150));
  const parent = (await h.client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards![0];
  const start = BigInt(parent.HashKeyRange!.StartingHashKey!);
  const end = BigInt(parent.HashKeyRange!.EndingHashKey!);
  await h.client.send(new SplitShardCommand({ StreamARN: inputArn, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
  await waitFor(async () => ((await h.client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards ?? []).length === 3, 20_000, 'the split');
  await putAll(h.client, inputArn, batch('after', 150));

  const output = await waitFor(async () => {
    const found = await readAll(h.client, outputArn);
    return found.length >= 300 ? found : undefined;
  }, 60_000, 'all 300 records in the output');
  const ids = output.map((r) => json(r).id as string);
  expect(new Set(ids).size).toBe(300);
  expect(ids).toHaveLength(300);

  // The parent is finished with its children recorded; its lease job is completed, not re-leased.
  const shards = (await h.client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards!;
  const children = shards.filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!).sort();
  expect(children).toHaveLength(2);
  await waitFor(async () => (await h.redis.hget(keys.stream(inputArn).checkpoints, parent.ShardId!)) === 'SHARD_END', 10_000, 'the parent to be finished');
  expect(JSON.parse((await h.redis.hget(keys.stream(inputArn).shardEnds, parent.ShardId!))!).sort()).toEqual(children);
  const queue = new Queue(LEASE_QUEUE, { connection: h.redis, prefix: keys.bullPrefix });
  expect(await (await queue.getJob(leaseKey(inputArn, parent.ShardId!)))!.getState()).toBe('completed');
  for (const child of children) {
    const job = await queue.getJob(leaseKey(inputArn, child));
    // A child found after start-up starts at TRIM_HORIZON although the application started at LATEST.
    expect(job!.data.start).toEqual({ type: 'TRIM_HORIZON' });
    expect(job!.data.parentShardIds).toEqual([parent.ShardId]);
  }
  await queue.close();
  expect(await h.stopAll()).toEqual([0, 0, 0]);
});
