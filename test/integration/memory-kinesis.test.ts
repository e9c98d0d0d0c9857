/**
 * The benchmark's in-memory Kinesis against the real AWS SDK: if the SDK cannot talk to it, the
 * benchmark measures nothing. Request/response operations, per-shard order, the throttle, and
 * SubscribeToShard's event stream.
 */
import { Agent } from 'node:http';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type SubscribeToShardEvent,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { MemoryKinesis } from '../../bench/memory-kinesis/server';

let server: MemoryKinesis;
let client: KinesisClient;

beforeAll(async () => {
  server = new MemoryKinesis({ subscriptionMs: 1500 });
  const endpoint = await server.listen();
  client = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true }) }),
  });
});
afterAll(async () => {
  client.destroy();
  await server.close();
});

const entries = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ PartitionKey: `key-${i % 37}`, Data: Buffer.from(`${tag}-${i}`) }));

async function readShard(arn: string, shardId: string): Promise<string[]> {
  let iterator = (await client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  const out: string[] = [];
  for (;;) {
    const page = await client.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator: iterator, Limit: 300 }));
    out.push(...(page.Records ?? []).map((r) => Buffer.from(r.Data!).toString()));
    if ((page.Records ?? []).length === 0) return out;
    iterator = page.NextShardIterator;
  }
}

test('the SDK creates, lists, writes and reads back every record in per-shard order', async () => {
  await client.send(new CreateStreamCommand({ StreamName: 'order', ShardCount: 4 }));
  const arn = 'arn:aws:kinesis:us-east-1:000000000000:stream/order';
  const shards = (await client.send(new ListShardsCommand({ StreamARN: arn }))).Shards!;
  expect(shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);
  const all = entries(2000, 'r');
  for (let i = 0; i < all.length; i += 500) {
    const out = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: all.slice(i, i + 500) }));
    expect(out.FailedRecordCount).toBe(0);
  }
  const read = (await Promise.all(shards.map((s) => readShard(arn, s.ShardId!)))).flat();
  expect(read.sort()).toEqual(all.map((e) => e.Data.toString()).sort());
  // One key lands in one shard, in the order written.
  const perShard = await Promise.all(shards.map((s) => readShard(arn, s.ShardId!)));
  const key0 = all.filter((_, i) => i % 37 === 0).map((e) => e.Data.toString());
  expect(perShard.filter((list) => list.includes('r-0'))).toHaveLength(1);
  expect(perShard.find((list) => list.includes('r-0'))!.filter((d) => key0.includes(d))).toEqual(key0);
});

test('a throttled stream refuses records past its budget per record, as Kinesis does', async () => {
  await client.send(new CreateStreamCommand({ StreamName: 'throttled', ShardCount: 1 }));
  server.store.stream({ StreamName: 'throttled' }).maxRecordsPerSecond = 100;
  const out = await client.send(new PutRecordsCommand({ StreamName: 'throttled', Records: entries(300, 't') }));
  expect(out.FailedRecordCount).toBeGreaterThanOrEqual(200);
  expect(out.Records!.find((r) => r.ErrorCode)!.ErrorCode).toBe('ProvisionedThroughputExceededException');
});

test('SubscribeToShard streams records written before and after subscribing, then ends', async () => {
  await client.send(new CreateStreamCommand({ StreamName: 'efo', ShardCount: 1 }));
  const arn = 'arn:aws:kinesis:us-east-1:000000000000:stream/efo';
  await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(5, 'before') }));
  const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }))).Consumer!;
  const out = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
  const seen: string[] = [];
  let continuation: string | undefined;
  let wroteAfter = false;
  for await (const e of out.EventStream!) {
    const ev = e.SubscribeToShardEvent as SubscribeToShardEvent | undefined;
    if (!ev) continue;
    seen.push(...(ev.Records ?? []).map((r) => Buffer.from(r.Data!).toString()));
    continuation = ev.ContinuationSequenceNumber;
    if (!wroteAfter && seen.length >= 5) {
      wroteAfter = true;
      await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(3, 'after') }));
    }
  }
  expect(seen).toEqual(['before-0', 'before-1', 'before-2', 'before-3', 'before-4', 'after-0', 'after-1', 'after-2']);
  expect(continuation).toMatch(/^\d{56}$/);
});
