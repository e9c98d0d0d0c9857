/**
 * The benchmark's in-memory Kinesis against the real AWS SDK over HTTP/1.1: if the SDK cannot talk to
 * it, the benchmark measures nothing. Request/response operations, per-shard order, pagination, the
 * throttle route, SubscribeToShard's event stream (before and after subscribing, its end, a client
 * going away), and the stand-alone process the benchmark starts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamConsumersCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  ResourceNotFoundException,
  SubscribeToShardCommand,
  type PutRecordsRequestEntry,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { MemoryKinesis } from '../../bench/memory-kinesis/server';
import { classifyKinesisError } from '../../shared/aws/kinesis-errors';
import { patient, waitFor } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
const SUBSCRIPTION_MS = 1500;
const arnOf = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;

function sdkClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-checked' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true }) }),
  });
}

const entries = (n: number, tag: string): PutRecordsRequestEntry[] => Array.from({ length: n }, (_, i) => ({ PartitionKey: `key-${i % 37}`, Data: Buffer.from(`${tag}-${i}`) }));
const text = (data: Uint8Array | undefined) => Buffer.from(data!).toString();

async function postThrottle(endpoint: string, stream: string, maxRecordsPerSecond: number): Promise<Response> {
  return fetch(`${endpoint}/_bench/throttle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream, maxRecordsPerSecond }) });
}

describe('in process', () => {
  let server: MemoryKinesis;
  let endpoint: string;
  let client: KinesisClient;

  beforeAll(async () => {
    server = new MemoryKinesis({ subscriptionMs: SUBSCRIPTION_MS });
    endpoint = await server.listen(0);
    client = sdkClient(endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function readShard(arn: string, shardId: string): Promise<{ data: string; sequenceNumber: string; arrival: Date }[]> {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    const out: { data: string; sequenceNumber: string; arrival: Date }[] = [];
    for (;;) {
      const page = await client.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator: iterator, Limit: 300 }));
      const records = page.Records ?? [];
      out.push(...records.map((r) => ({ data: text(r.Data), sequenceNumber: r.SequenceNumber!, arrival: r.ApproximateArrivalTimestamp! })));
      if (records.length === 0) {
        expect(page.MillisBehindLatest).toBe(0);
        return out;
      }
      iterator = page.NextShardIterator;
    }
  }

  test('the SDK creates, lists, writes and reads back every record, each shard in the order written', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'order', ShardCount: 4 }));
    const arn = arnOf('order');
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: 'order' }))).StreamDescriptionSummary).toMatchObject({ StreamARN: arn, StreamStatus: 'ACTIVE', OpenShardCount: 4 });
    const shards = (await client.send(new ListShardsCommand({ StreamARN: arn }))).Shards!;
    expect(shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);

    const all = entries(2000, 'r');
    const written = new Map<string, string[]>();
    for (let i = 0; i < all.length; i += 500) {
      const out = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: all.slice(i, i + 500) }));
      expect(out.FailedRecordCount).toBe(0);
      out.Records!.forEach((r, j) => written.set(r.ShardId!, [...(written.get(r.ShardId!) ?? []), text(all[i + j].Data)]));
    }
    const before = Date.now();
    for (const shard of shards) {
      const read = await readShard(arn, shard.ShardId!);
      expect(read.map((r) => r.data)).toEqual(written.get(shard.ShardId!) ?? []);
      for (let i = 1; i < read.length; i++) expect(BigInt(read[i].sequenceNumber) > BigInt(read[i - 1].sequenceNumber)).toBe(true);
      for (const r of read) expect(Math.abs(r.arrival.getTime() - before)).toBeLessThan(60_000);
    }
    expect([...written.values()].flat().sort()).toEqual(all.map((e) => text(e.Data)).sort());
  });

  test('ListShards pages on NextToken alone, as shardflow asks for them', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'paged', ShardCount: 5 }));
    const ids: string[] = [];
    let page = await client.send(new ListShardsCommand({ StreamARN: arnOf('paged'), MaxResults: 2 }));
    ids.push(...page.Shards!.map((s: Shard) => s.ShardId!));
    while (page.NextToken) {
      page = await client.send(new ListShardsCommand({ NextToken: page.NextToken, MaxResults: 2 }));
      ids.push(...page.Shards!.map((s: Shard) => s.ShardId!));
    }
    expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `shardId-00000000000${i}`));
  });

  test('errors reach the SDK as their modelled exception types', async () => {
    await expect(client.send(new DescribeStreamSummaryCommand({ StreamName: 'missing' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetRecordsCommand({ ShardIterator: 'garbage' }))).rejects.toMatchObject({ name: 'InvalidArgumentException' });
  });

  test('PutRecord and AT_TIMESTAMP / AFTER_SEQUENCE_NUMBER iterators work through the SDK', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'single', ShardCount: 1 }));
    const first = await client.send(new PutRecordCommand({ StreamName: 'single', PartitionKey: 'k', Data: Buffer.from('one') }));
    await client.send(new PutRecordCommand({ StreamName: 'single', PartitionKey: 'k', Data: Buffer.from('two') }));
    const after = await client.send(new GetShardIteratorCommand({ StreamName: 'single', ShardId: first.ShardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: first.SequenceNumber }));
    const page = await client.send(new GetRecordsCommand({ ShardIterator: after.ShardIterator }));
    expect(page.Records!.map((r) => text(r.Data))).toEqual(['two']);
    const future = await client.send(new GetShardIteratorCommand({ StreamName: 'single', ShardId: first.ShardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() + 60_000) }));
    expect((await client.send(new GetRecordsCommand({ ShardIterator: future.ShardIterator }))).Records).toEqual([]);
    const past = await client.send(new GetShardIteratorCommand({ StreamName: 'single', ShardId: first.ShardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() - 60_000) }));
    expect((await client.send(new GetRecordsCommand({ ShardIterator: past.ShardIterator }))).Records).toHaveLength(2);
  });

  test('the throttle route makes PutRecords refuse records past the budget, each with its own ErrorCode', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'throttled', ShardCount: 2 }));
    expect((await postThrottle(endpoint, 'throttled', 100)).status).toBe(200);
    const out = await client.send(new PutRecordsCommand({ StreamName: 'throttled', Records: entries(300, 't') }));
    // One request is admitted at one instant, so exactly one second's budget gets through.
    expect(out.FailedRecordCount).toBe(200);
    expect(out.Records!.slice(0, 100).every((r) => r.SequenceNumber && !r.ErrorCode)).toBe(true);
    expect(new Set(out.Records!.slice(100).map((r) => r.ErrorCode))).toEqual(new Set(['ProvisionedThroughputExceededException']));

    expect((await postThrottle(endpoint, 'throttled', 0)).status).toBe(200);
    expect((await client.send(new PutRecordsCommand({ StreamName: 'throttled', Records: entries(500, 'u') }))).FailedRecordCount).toBe(0);
    const missing = await postThrottle(endpoint, 'no-such-stream', 5);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ __type: 'ResourceNotFoundException' });
  });

  test('consumers register ACTIVE, are described by ARN or by stream and name, listed and deregistered', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'consumers', ShardCount: 1 }));
    const arn = arnOf('consumers');
    const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'app' }))).Consumer!;
    expect(consumer).toMatchObject({ ConsumerName: 'app', ConsumerStatus: 'ACTIVE', ConsumerARN: expect.stringMatching(/^arn:aws:kinesis:us-east-1:000000000000:stream\/consumers\/consumer\/app:\d+$/) });
    expect(consumer.ConsumerCreationTimestamp).toBeInstanceOf(Date);
    const byArn = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    const byName = await client.send(new DescribeStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'app' }));
    expect(byArn.ConsumerDescription).toEqual(byName.ConsumerDescription);
    expect(byArn.ConsumerDescription).toMatchObject({ StreamARN: arn, ConsumerStatus: 'ACTIVE' });
    expect((await client.send(new ListStreamConsumersCommand({ StreamARN: arn }))).Consumers!.map((c) => c.ConsumerName)).toEqual(['app']);
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    await expect(client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  test('SubscribeToShard pushes records written before and after subscribing, then ends after its maximum duration', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'efo', ShardCount: 1 }));
    const arn = arnOf('efo');
    await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(5, 'before') }));
    const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }))).Consumer!;
    const started = Date.now();
    const out = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
    const seen: string[] = [];
    const continuations: string[] = [];
    let pushedAfterMs: number | undefined;
    let wroteAt = 0;
    for await (const e of out.EventStream!) {
      const ev = e.SubscribeToShardEvent;
      if (!ev) continue;
      const records = ev.Records ?? [];
      seen.push(...records.map((r) => text(r.Data)));
      continuations.push(ev.ContinuationSequenceNumber!);
      if (wroteAt > 0 && records.length > 0) pushedAfterMs ??= Date.now() - wroteAt;
      if (wroteAt === 0 && seen.length >= 5) {
        wroteAt = Date.now();
        await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(3, 'after') }));
      }
    }
    const lasted = Date.now() - started;
    expect(seen).toEqual(['before-0', 'before-1', 'before-2', 'before-3', 'before-4', 'after-0', 'after-1', 'after-2']);
    for (const c of continuations) expect(c).toMatch(/^\d{56}$/);
    // Pushed on arrival, sooner than the 5 s heartbeat or the end of the subscription (generous bounds:
    // a busy machine delays the push, but a push that waited for the heartbeat would take 5 s).
    expect(pushedAfterMs).toBeLessThan(4000);
    expect(lasted).toBeGreaterThanOrEqual(SUBSCRIPTION_MS - 50);
    expect(lasted).toBeLessThan(SUBSCRIPTION_MS + patient(5000));
    await waitFor(() => server.subscriptions === 0, 5000, 'the subscription to be released');
  });

  test('a subscription stops when its client goes away, long before its maximum duration', async () => {
    const lasting = new MemoryKinesis({ subscriptionMs: 120_000 });
    const at = new URL(await lasting.listen(0));
    try {
      const stream = lasting.store.createStream('gone', 1);
      const consumer = lasting.store.registerConsumer(stream, 'c');
      const req = request({
        host: at.hostname,
        port: at.port,
        method: 'POST',
        headers: { 'x-amz-target': 'Kinesis_20131202.SubscribeToShard', 'content-type': 'application/x-amz-json-1.1' },
      });
      req.end(JSON.stringify({ ConsumerARN: consumer.arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }));
      const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      expect(res.headers['content-type']).toBe('application/vnd.amazon.eventstream');
      await waitFor(() => lasting.subscriptions === 1, 5000, 'the subscription to start');
      req.on('error', () => undefined);
      req.destroy();
      await waitFor(() => lasting.subscriptions === 0, 5000, 'the server to notice the client left');
    } finally {
      await lasting.close();
    }
  });
});

describe('fault scripting, as the SDK sees it', () => {
  let server: MemoryKinesis;
  let endpoint: string;
  let client: KinesisClient;

  beforeAll(async () => {
    server = new MemoryKinesis({ subscriptionMs: 60_000 });
    endpoint = await server.listen(0);
    client = sdkClient(endpoint);
  });
  afterEach(() => server.chaos.clear());
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function bench(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${endpoint}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json();
  }
  const chaos = (rules: object[]) => bench('POST', '/_bench/chaos', { rules });
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err as { name: string; code?: string; $metadata?: { httpStatusCode?: number } };
    }
    throw new Error('expected the call to fail');
  };
  const iteratorOf = async (stream: string, shard = 'shardId-000000000000') =>
    (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator!;

  test('error rules reach the SDK with the error type as name and Kinesis\'s HTTP status, classified as AWS\'s would be', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'errs', ShardCount: 2 }));
    const cases = [
      { error: 'AccessDeniedException', status: 400, kind: 'fatal' },
      { error: 'KMSDisabledException', status: 400, kind: 'fatal' },
      { error: 'ExpiredIteratorException', status: 400, kind: 'expired-iterator' },
      { error: 'ResourceNotFoundException', status: 400, kind: 'not-found' },
      { error: 'ProvisionedThroughputExceededException', status: 400, kind: 'throttled' },
      { error: 'InternalFailure', status: 500, kind: 'transient' },
      { error: 'ServiceUnavailable', status: 503, kind: 'transient' },
    ];
    const iterator = await iteratorOf('errs', 'shardId-000000000001');
    for (const c of cases) {
      await chaos([{ operation: 'GetRecords', stream: 'errs', shard: 'shardId-000000000001', error: c.error, times: 1 }]);
      const err = await failure(client.send(new GetRecordsCommand({ ShardIterator: iterator })));
      expect({ name: err.name, status: err.$metadata?.httpStatusCode, kind: classifyKinesisError(err) }).toEqual({ name: c.error, status: c.status, kind: c.kind });
    }
    // Spent: the same call now succeeds; the other shard and other operations were never hit.
    await expect(client.send(new GetRecordsCommand({ ShardIterator: iterator }))).resolves.toMatchObject({ Records: [] });
    const listed = (await bench('GET', '/_bench/chaos')) as { rules: Array<{ rule: { error: string }; fired: number }> };
    expect(listed.rules.map((r) => [r.rule.error, r.fired])).toEqual(cases.map((c) => [c.error, 1]));
    expect(await bench('DELETE', '/_bench/chaos')).toEqual({});
    expect(await bench('GET', '/_bench/chaos')).toEqual({ rules: [] });
    const bad = await fetch(`${endpoint}/_bench/chaos`, { method: 'POST', body: JSON.stringify({ rules: [{ operation: 'GetRecords' }] }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ __type: 'InvalidArgumentException' });
  });

  test('a reset is a network error (transient) with nothing written; a reset after writes and still never answers', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'resets', ShardCount: 1 }));
    await chaos([{ operation: 'PutRecords', stream: 'resets', reset: true, times: 1 }]);
    const err = await failure(client.send(new PutRecordsCommand({ StreamName: 'resets', Records: entries(5, 'a') })));
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    // The SDK (3.114x) wraps the reset as a plain Error "AWS SDK error wrapper for TimeoutError: socket
    // hang up", without a code: only the classifier's last rule (no status, not an *Exception) makes it transient.
    expect((err as unknown as Error).message).toMatch(/socket hang up|ECONNRESET/);
    expect(classifyKinesisError(err)).toBe('transient');
    expect(server.store.stream({ StreamName: 'resets' }).records).toBe(0);

    await chaos([{ operation: 'PutRecords', stream: 'resets', reset: 'after', times: 1 }]);
    const after = await failure(client.send(new PutRecordsCommand({ StreamName: 'resets', Records: entries(5, 'b') })));
    expect(classifyKinesisError(after)).toBe('transient');
    expect(server.store.stream({ StreamName: 'resets' }).records).toBe(5);
    // The connection pool recovers: the next call works.
    expect((await client.send(new PutRecordsCommand({ StreamName: 'resets', Records: entries(5, 'c') }))).FailedRecordCount).toBe(0);
    const puts = server.store.puts('resets');
    expect(puts.map((p) => [p.records, p.accepted, p.fault])).toEqual([[5, 0, 'reset'], [5, 5, 'reset-after'], [5, 5, undefined]]);
  });

  test('a delay answers normally, that much later, and only the calls it names', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'slow', ShardCount: 1 }));
    const iterator = await iteratorOf('slow');
    await chaos([{ operation: 'GetRecords', stream: 'slow', delayMs: 1500, times: 1 }]);
    let started = Date.now();
    await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1450);
    started = Date.now();
    await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('DeleteStream by ARN: everything on the stream is not found, a subscription ends with an error; CreateStream makes it fresh and empty', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'doomed', ShardCount: 2 }));
    const arn = arnOf('doomed');
    await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(20, 'old') }));
    const iterator = await iteratorOf('doomed');
    const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }))).Consumer!;
    const sub = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }));
    const ended = (async () => {
      try {
        for await (const _ of sub.EventStream!) void _;
        return 'closed';
      } catch (err) {
        return (err as Error).name;
      }
    })();
    await waitFor(() => server.subscriptions === 1, 5000, 'the subscription to stream');

    await client.send(new DeleteStreamCommand({ StreamARN: arn }));
    expect(await ended).toBe('ResourceNotFoundException');
    for (const call of [
      client.send(new DescribeStreamSummaryCommand({ StreamName: 'doomed' })),
      client.send(new ListShardsCommand({ StreamARN: arn })),
      client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(1, 'x') })),
      client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' })),
      client.send(new GetRecordsCommand({ ShardIterator: iterator })),
      client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN })),
      client.send(new DeleteStreamCommand({ StreamName: 'doomed' })),
    ]) {
      await expect(call).rejects.toBeInstanceOf(ResourceNotFoundException);
    }

    await client.send(new CreateStreamCommand({ StreamName: 'doomed', ShardCount: 1 }));
    expect((await client.send(new ListShardsCommand({ StreamARN: arn }))).Shards!.map((s) => s.ShardId)).toEqual(['shardId-000000000000']);
    expect((await client.send(new GetRecordsCommand({ ShardIterator: await iteratorOf('doomed') }))).Records).toEqual([]);
    // An iterator of the deleted stream stays dead even though the name and the shard id exist again.
    await expect(client.send(new GetRecordsCommand({ ShardIterator: iterator }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await waitFor(() => server.subscriptions === 0, 5000, 'the subscription to be released');
  });

  test('an expired shard leaves ListShards and GetShardIterator, GetRecords (old iterator) and SubscribeToShard on it are not found', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'trimmed', ShardCount: 2 }));
    const arn = arnOf('trimmed');
    await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries(20, 't') }));
    const iterator = await iteratorOf('trimmed', 'shardId-000000000001');
    const consumer = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'c' }))).Consumer!;
    const sub = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN, ShardId: 'shardId-000000000001', StartingPosition: { Type: 'LATEST' } }));
    const ended = (async () => {
      try {
        for await (const _ of sub.EventStream!) void _;
        return 'closed';
      } catch (err) {
        return (err as Error).name;
      }
    })();
    await waitFor(() => server.subscriptions === 1, 5000, 'the subscription to stream');

    expect(await bench('POST', '/_bench/shards/expire', { stream: 'trimmed', shard: 'shardId-000000000001' })).toEqual({});
    expect(await ended).toBe('ResourceNotFoundException');
    expect((await client.send(new ListShardsCommand({ StreamARN: arn }))).Shards!.map((s) => s.ShardId)).toEqual(['shardId-000000000000']);
    await expect(client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: 'shardId-000000000001', ShardIteratorType: 'TRIM_HORIZON' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetRecordsCommand({ ShardIterator: iterator }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN, ShardId: 'shardId-000000000001', StartingPosition: { Type: 'TRIM_HORIZON' } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    // The other shard still reads.
    expect((await client.send(new GetRecordsCommand({ ShardIterator: await iteratorOf('trimmed') }))).Records!.length).toBeGreaterThan(0);
  });

  test('the puts log names the writing process by the app id AWS_SDK_UA_APP_ID puts in the SDK\'s user agent', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'logged', ShardCount: 1 }));
    const previous = process.env.AWS_SDK_UA_APP_ID;
    process.env.AWS_SDK_UA_APP_ID = 'writer-7';
    const tagged = sdkClient(endpoint);
    try {
      const t0 = Date.now();
      await tagged.send(new PutRecordsCommand({ StreamName: 'logged', Records: entries(3, 'x') }));
      await client.send(new PutRecordsCommand({ StreamName: 'logged', Records: entries(2, 'y') }));
      const puts = (await bench('GET', '/_bench/puts?stream=logged')) as Array<{ at: number; userAgent: string; records: number; accepted: number }>;
      expect(puts).toHaveLength(2);
      expect(puts[0]).toMatchObject({ records: 3, accepted: 3 });
      expect(puts[0].userAgent).toMatch(/ app\/writer-7\b/);
      expect(puts[1]).toMatchObject({ records: 2, accepted: 2 });
      expect(puts[1].userAgent).toMatch(/^aws-sdk-js\//);
      expect(puts[1].userAgent).not.toContain('app/');
      expect(puts[0].at).toBeGreaterThanOrEqual(t0);
      expect(puts[1].at).toBeGreaterThanOrEqual(puts[0].at);
    } finally {
      tagged.destroy();
      if (previous === undefined) delete process.env.AWS_SDK_UA_APP_ID;
      else process.env.AWS_SDK_UA_APP_ID = previous;
    }
  });
});

describe('as its own process (node dist/bench/memory-kinesis/main.js)', () => {
  let buildDir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    // A private output directory: rewriting dist/ could hand a half-written file to a test spawning it now.
    mkdirSync(join(ROOT, '.local'), { recursive: true });
    buildDir = mkdtempSync(join(ROOT, '.local', 'memory-kinesis-build-'));
    execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json', '--outDir', buildDir], { cwd: ROOT, stdio: 'pipe' });
  }, patient(180_000));
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(buildDir, { recursive: true, force: true });
  });

  const main = () => join(buildDir, 'bench', 'memory-kinesis', 'main.js');

  test('prints its listening line, serves the SDK and the bench routes, and exits 0 on SIGTERM', async () => {
    const proc = spawn(process.execPath, [main(), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await waitFor(() => stdout.split('\n').find((l) => l.includes('"listening"')), 15_000, () => `the listening line (stdout ${stdout}, stderr ${stderr})`, 20);
    const { event, endpoint } = JSON.parse(line) as { event: string; endpoint: string };
    expect(event).toBe('listening');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const client = sdkClient(endpoint);
    try {
      await client.send(new CreateStreamCommand({ StreamName: 'proc', ShardCount: 2 }));
      expect((await postThrottle(endpoint, 'proc', 10)).status).toBe(200);
      const out = await client.send(new PutRecordsCommand({ StreamName: 'proc', Records: entries(30, 'p') }));
      expect(out.FailedRecordCount).toBe(20);
      const stats = (await (await fetch(`${endpoint}/_bench/stats?stream=proc`)).json()) as { records: number };
      expect(stats.records).toBe(10);
    } finally {
      client.destroy();
    }

    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())]);
    expect(code).toBe(0);
  });

  test('refuses a bad port with exit code 2', () => {
    let status: number | null = null;
    try {
      execFileSync(process.execPath, [main(), '--port', 'eighty'], { stdio: 'pipe' });
    } catch (err) {
      status = (err as { status: number | null }).status;
    }
    expect(status).toBe(2);
  });
});
