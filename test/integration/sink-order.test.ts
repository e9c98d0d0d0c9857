/**
 * Per-key order of the sink over the wire. First the premise it rests on, on kinesis-local and on the
 * benchmark's in-memory Kinesis: a PutRecords request's accepted records are written to each shard in
 * request order. Then the sink (KEY ordering, one request per key in flight) against the in-memory
 * Kinesis with scripted per-record refusals: a refused suffix, a refused record followed by an accepted
 * one of its key, whole requests refused. Every record must arrive exactly once, and per-key order must
 * hold except where the sink itself counted the break Kinesis made.
 */
import { Agent } from 'node:http';
import pino from 'pino';
import { CreateStreamCommand, KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { MemoryKinesis } from '../../bench/memory-kinesis/server';
import type { RequestFault } from '../../bench/memory-kinesis/stream-store';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import { KinesisSink } from '../../worker/sink/kinesis-sink';
import { createStream, localClient, readAll, startKinesisLocal, type KinesisLocal, type ReadRecord } from '../support/kinesis';
import { uniqueName } from '../support/wait';

const log = pino({ level: 'silent' });

function memoryClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: '000000000000', secretAccessKey: 'not-checked' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true }) }),
  });
}

/** `keys` keys, `perKey` records each, interleaved: k0-0, k1-0, …, k0-1, k1-1, … */
function interleaved(tag: string, keys: number, perKey: number): PutRecordsRequestEntry[] {
  const out: PutRecordsRequestEntry[] = [];
  for (let i = 0; i < perKey; i++) for (let k = 0; k < keys; k++) out.push({ PartitionKey: `${tag}-k${k}`, Data: Buffer.from(`${tag}-k${k}-${i}`) });
  return out;
}

const label = (r: ReadRecord) => r.data.toString();
const indexOf = (r: ReadRecord) => Number(label(r).split('-').pop());

/** Per key, the record indexes in stream order (a shard's order; one key lives on one shard). */
function perKey(records: readonly ReadRecord[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) out.set(r.partitionKey, [...(out.get(r.partitionKey) ?? []), indexOf(r)]);
  return out;
}

/** How many records land after a newer record of their key (0 when every key is in order). */
function lateRecords(records: readonly ReadRecord[]): number {
  let late = 0;
  for (const indexes of perKey(records).values()) {
    let highest = -1;
    for (const i of indexes) {
      if (i < highest) late += 1;
      highest = Math.max(highest, i);
    }
  }
  return late;
}

/** One request of interleaved keys, then the shards read back: accepted records in request order. */
async function checkRequestOrder(client: KinesisClient, arn: string): Promise<void> {
  const entries = interleaved('premise', 7, 70); // 490 entries over both shards
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries }));
    expect(out.FailedRecordCount ?? 0).toBe(0);
  }
  const read = await readAll(client, arn);
  expect(read).toHaveLength(3 * entries.length);
  for (const shardId of new Set(read.map((r) => r.shardId))) {
    const labels = read.filter((r) => r.shardId === shardId).map(label);
    const expected = entries.map((e) => Buffer.from(e.Data!).toString()).filter((l) => labels.includes(l));
    expect(labels).toEqual([...expected, ...expected, ...expected]);
  }
}

describe('premise: a request is written to each shard in request order', () => {
  let kinesis: KinesisLocal;
  let client: KinesisClient;
  afterAll(async () => {
    client?.destroy();
    await kinesis?.stop();
  });

  test('on kinesis-local', async () => {
    kinesis = await startKinesisLocal();
    client = localClient(kinesis.endpoint);
    await checkRequestOrder(client, await createStream(client, uniqueName('premise'), 2));
  });

  test('on the in-memory Kinesis', async () => {
    const server = new MemoryKinesis();
    const memory = memoryClient(await server.listen(0));
    try {
      await memory.send(new CreateStreamCommand({ StreamName: 'premise', ShardCount: 2 }));
      await checkRequestOrder(memory, 'arn:aws:kinesis:us-east-1:000000000000:stream/premise');
    } finally {
      memory.destroy();
      await server.close();
    }
  });
});

describe('the sink with KEY ordering against scripted refusals (in-memory Kinesis)', () => {
  let server: MemoryKinesis;
  let client: KinesisClient;
  beforeAll(async () => {
    server = new MemoryKinesis();
    client = memoryClient(await server.listen(0));
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  /** Writes one wave through a fresh sink while `faults` script its requests; returns what the stream holds and the sink's count. */
  async function wave(name: string, faults: RequestFault[], keys = 3, perKeyCount = 10): Promise<{ read: ReadRecord[]; orderViolations: number; requests: number }> {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
    server.store.scriptFaults(server.store.stream({ StreamName: name }), faults);
    const sink = new KinesisSink(new KinesisGateway(client), arn, { maxRecords: 500, maxBytes: 5 * 1024 ** 2, lingerMs: 0, maxInFlightRequests: 50, maxBufferedRecords: 10_000, ordering: 'KEY', backoff: { baseMs: 1, maxMs: 5 } }, log);
    try {
      const entries = interleaved(name, keys, perKeyCount);
      // One write: the whole wave is pending at once, so the first request carries every key's run.
      await sink.write(entries.map((e) => ({ partitionKey: e.PartitionKey!, data: e.Data! })));
      expect(server.store.stream({ StreamName: name }).faults).toHaveLength(0);
      const read = await readAll(client, arn);
      // Every record exactly once.
      expect(read.map(label).sort()).toEqual(entries.map((e) => Buffer.from(e.Data!).toString()).sort());
      return { read, orderViolations: sink.stats.orderViolations, requests: sink.stats.requests };
    } finally {
      sink.close();
    }
  }

  test('a refused suffix of each run is re-sent first: order holds, nothing counted', async () => {
    // 30 entries, k0..k2 interleaved: 27, 28, 29 are each key's last record.
    const { read, orderViolations, requests } = await wave('suffix', [{ records: [27, 28, 29].map((index) => ({ index, code: 'ProvisionedThroughputExceededException' })) }]);
    expect(requests).toBe(2);
    expect(lateRecords(read)).toBe(0);
    expect(orderViolations).toBe(0);
  });

  test('a refused record followed by an accepted one of its key: delivered late, and exactly that is counted', async () => {
    // Entry 3 is k0's second record; k0's third (entry 6) is accepted after it.
    const { read, orderViolations } = await wave('overtaken', [{ records: [{ index: 3, code: 'InternalFailure' }] }]);
    expect(orderViolations).toBe(1);
    expect(lateRecords(read)).toBe(orderViolations);
    expect(perKey(read).get('overtaken-k0')).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9, 1]);
  });

  test('whole requests refused, again and again: re-sent in order, nothing counted', async () => {
    const all = (code: 'ProvisionedThroughputExceededException' | 'InternalFailure'): RequestFault => ({ records: [{ index: '*', code }] });
    const { read, orderViolations, requests } = await wave('refused', [all('ProvisionedThroughputExceededException'), all('InternalFailure'), all('ProvisionedThroughputExceededException')]);
    expect(requests).toBe(4);
    expect(lateRecords(read)).toBe(0);
    expect(orderViolations).toBe(0);
  });

  test('a hot key with a mix of refusals over many requests: every record once, late ones exactly the counted ones', async () => {
    // 2,000 records of one key and a few others: the hot key's run fills requests of 500.
    const faults: RequestFault[] = [
      { records: [{ index: 499, code: 'ProvisionedThroughputExceededException' }] },
      { records: [{ index: 10, code: 'InternalFailure' }, { index: 11, code: 'InternalFailure' }] },
      { records: [{ index: '*', code: 'ProvisionedThroughputExceededException' }] },
      { records: [{ index: 0, code: 'InternalFailure' }] },
    ];
    const { read, orderViolations } = await wave('hot', faults, 1, 2000);
    // Request 2 lost its entries 10 and 11 while 12… were accepted; request 4 lost its first (one of
    // those two, overtaken again) while the rest went: two records land late, each counted once.
    expect(orderViolations).toBe(2);
    expect(lateRecords(read)).toBe(orderViolations);
  });
});
