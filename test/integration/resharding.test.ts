/**
 * Shard end: when the input stream's shard is split, the worker finishes the parent (every record
 * delivered, SHARD_END recorded with its children, lease job completed) and the coordinator leases the
 * children, which are read from TRIM_HORIZON.
 */
import { randomUUID } from 'node:crypto';
import { ListShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createStream, json, localClient, putAll, readAll, startKinesisLocal, type KinesisLocal } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { spawnCli, stopCli, type CliProcess } from '../support/cli';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys, LEASE_QUEUE } from '../../shared/redis/keys';

let kinesis: KinesisLocal;
let client: KinesisClient;
let redis: Redis;
const running: CliProcess[] = [];
const apps: string[] = [];

beforeAll(async () => {
  kinesis = await startKinesisLocal();
  client = localClient(kinesis.endpoint);
  redis = testRedis();
});

afterAll(async () => {
  await Promise.all(running.map((p) => stopCli(p)));
  for (const app of apps) await dropApp(redis, app);
  redis.disconnect();
  client.destroy();
  await kinesis.stop();
});

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
  const app = uniqueName('it-reshard');
  apps.push(app);
  const keys = new AppKeys(app);
  const inputArn = await createStream(client, uniqueName('rin'), 1);
  const outputArn = await createStream(client, uniqueName('rout'), 1);
  const properties = writeProperties(localProperties(kinesis.endpoint, inputArn, outputArn, { InputStream0: { 'source.init.position': 'LATEST', ...input } }));
  for (const command of ['coordinator', 'worker', 'worker']) running.push(spawnCli([command, '--properties', properties, '--redis', REDIS_URL, '--app', app]));

  // LATEST: wait until the parent's reader has its iterator (it reports lag after its first GetRecords).
  await waitFor(async () => {
    const statuses = Object.values(await redis.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ millisBehindLatest?: number }> });
    return statuses.some((s) => s.leases.some((l) => l.millisBehindLatest !== undefined));
  }, 30_000, 'the first shard to be read');

  await putAll(client, inputArn, batch('before', 150));
  const parent = (await client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards![0];
  const start = BigInt(parent.HashKeyRange!.StartingHashKey!);
  const end = BigInt(parent.HashKeyRange!.EndingHashKey!);
  await client.send(new SplitShardCommand({ StreamARN: inputArn, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
  await waitFor(async () => ((await client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards ?? []).length === 3, 20_000, 'the split');
  await putAll(client, inputArn, batch('after', 150));

  const output = await waitFor(async () => {
    const found = await readAll(client, outputArn);
    return found.length >= 300 ? found : undefined;
  }, 60_000, 'all 300 records in the output');
  const ids = output.map((r) => json(r).id as string);
  expect(new Set(ids).size).toBe(300);
  expect(ids).toHaveLength(300);

  // The parent is finished with its children recorded; its lease job is completed, not re-leased.
  const shards = (await client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards!;
  const children = shards.filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!).sort();
  expect(children).toHaveLength(2);
  await waitFor(async () => (await redis.hget(keys.checkpoints, parent.ShardId!)) === 'SHARD_END', 10_000, 'the parent to be finished');
  expect(JSON.parse((await redis.hget(keys.shardEnds, parent.ShardId!))!).sort()).toEqual(children);
  const queue = new Queue(LEASE_QUEUE, { connection: redis, prefix: keys.bullPrefix });
  expect(await (await queue.getJob(parent.ShardId!))!.getState()).toBe('completed');
  for (const child of children) {
    const job = await queue.getJob(child);
    // A child found after start-up starts at TRIM_HORIZON although the application started at LATEST.
    expect(job!.data.start).toEqual({ type: 'TRIM_HORIZON' });
    expect(job!.data.parentShardIds).toEqual([parent.ShardId]);
  }
  await queue.close();
  for (const p of running.splice(0).reverse()) expect(await stopCli(p)).toBe(0);
});
