/**
 * End to end with real processes: kinesis-local, Redis, `shardflow coordinator` and two
 * `shardflow worker` processes reading a 4-shard stream.
 */
import { randomUUID } from 'node:crypto';
import { DescribeStreamConsumerCommand, RegisterStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { createStream, json, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { waitForLog } from '../support/cli';
import { deadLetters } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { AppKeys } from '../../shared/redis/keys';

const TICKERS = ['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV'];

function stock(id: string, i: number) {
  return { event_time: new Date(1_700_000_000_000 + i).toISOString(), ticker: TICKERS[i % TICKERS.length], price: (i % 10000) / 100, id };
}

function entries(stocks: object[]) {
  return stocks.map((s) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify(s)) }));
}

const h = useClusterHarness();

/** The scenarios run once per reader type, so the two readers cannot drift apart. */
interface ReaderCase {
  name: string;
  reader: string;
  input: (app: string) => Record<string, string>;
  /** Runs once the input stream exists, before any shardflow process starts. */
  prepare?: (inputArn: string, app: string) => Promise<void>;
}

const READERS: ReaderCase[] = [
  { name: 'POLLING', reader: 'POLLING', input: () => ({ 'source.reader.type': 'POLLING' }) },
  { name: 'EFO, JOB_MANAGED', reader: 'EFO', input: (app) => ({ 'source.reader.type': 'EFO', 'source.efo.consumer.name': `consumer-${app}` }) },
  {
    name: 'EFO, SELF_MANAGED',
    reader: 'EFO',
    input: (app) => ({ 'source.reader.type': 'EFO', 'source.efo.consumer.name': `own-${app}`, 'source.efo.consumer.lifecycle': 'SELF_MANAGED' }),
    prepare: async (inputArn, app) => {
      await h.client.send(new RegisterStreamConsumerCommand({ StreamARN: inputArn, ConsumerName: `own-${app}` }));
      await waitFor(
        async () => (await h.client.send(new DescribeStreamConsumerCommand({ StreamARN: inputArn, ConsumerName: `own-${app}` }))).ConsumerDescription?.ConsumerStatus === 'ACTIVE',
        10_000,
        'the self-managed consumer to be ACTIVE',
      );
    },
  },
];

const start = (command: 'coordinator' | 'worker', properties: string, app: string) => h.start(command, properties, app);
// Workers first, as a graceful scale-down would.
const stopAll = () => h.stopAll();

describe.each(READERS)('$name reader', ({ reader, input, prepare }) => {
describe('pipeline: coordinator and two workers on a 4-shard stream', () => {
  const app = h.app('it-pipeline');
  const inName = uniqueName('in');
  const outName = uniqueName('out');
  let properties: string;
  let inputArn: string;
  let outputArn: string;
  const first = Array.from({ length: 2000 }, (_, i) => stock(`a-${i}`, i));

  beforeAll(async () => {
    inputArn = await createStream(h.client, inName, 4);
    outputArn = await createStream(h.client, outName, 2);
    await prepare?.(inputArn, app);
    properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: input(app) }));
  });

  test('2,000 records written before start-up all arrive transformed, read by both workers', async () => {
    await putAll(h.client, inputArn, entries(first));
    start('coordinator', properties, app);
    const w1 = start('worker', properties, app);
    const w2 = start('worker', properties, app);
    await Promise.all([waitForLog(w1, 'lease taken'), waitForLog(w2, 'lease taken')]);

    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.length >= first.length ? records : undefined;
    }, 90_000, 'all 2,000 records in the output stream');

    const byId = new Map(output.map((r) => [json(r).id as string, json(r)]));
    expect(byId.size).toBe(first.length);
    for (const original of first) {
      // Transformed: the ticker becomes AMZN, every other field is unchanged.
      expect(byId.get(original.id)).toEqual({ ...original, ticker: 'AMZN' });
    }
    // Four shards over two workers: each settles at two leases.
    await waitFor(async () => {
      const statuses = Object.values(await h.redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ reader: string }> });
      return statuses.length === 2 && statuses.every((s) => s.leases.length === 2 && s.leases.every((l) => l.reader === reader));
    }, 20_000, `two ${reader} leases on each worker`);

    expect(await stopAll()).toEqual([0, 0, 0]);
  });

  test('a stop and restart re-sends nothing that was acknowledged', async () => {
    const before = (await readAll(h.client, outputArn)).length;
    expect(before).toBe(first.length);
    const more = Array.from({ length: 300 }, (_, i) => stock(`b-${i}`, i));
    await putAll(h.client, inputArn, entries(more));

    start('coordinator', properties, app);
    start('worker', properties, app);
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.filter((r) => String(json(r).id).startsWith('b-')).length >= more.length ? records : undefined;
    }, 60_000, 'the 300 new records in the output stream');
    // Exactly the new records were added: no acknowledged record was sent again.
    expect(output).toHaveLength(first.length + more.length);
    expect(new Set(output.map((r) => json(r).id)).size).toBe(first.length + more.length);
    expect(await stopAll()).toEqual([0, 0]);
  });
});

describe('LATEST', () => {
  test('records written before start-up are skipped; every record written after the readers started arrives', async () => {
    const app = h.app('it-latest');
    const inputArn = await createStream(h.client, uniqueName('in'), 4);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    await prepare?.(inputArn, app);
    const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: { ...input(app), 'source.init.position': 'LATEST' } }));
    await putAll(h.client, inputArn, entries(Array.from({ length: 100 }, (_, i) => stock(`old-${i}`, i))));
    start('coordinator', properties, app);
    start('worker', properties, app);
    start('worker', properties, app);
    // Every shard's reader has its position once it has reported lag (after its first fetch or event).
    await waitFor(async () => {
      const statuses = Object.values(await h.redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ millisBehindLatest?: number }> });
      const leases = statuses.flatMap((s) => s.leases);
      return leases.length === 4 && leases.every((l) => l.millisBehindLatest !== undefined);
    }, 30_000, 'all four readers positioned at LATEST');
    const fresh = Array.from({ length: 300 }, (_, i) => stock(`new-${i}`, i));
    await putAll(h.client, inputArn, entries(fresh));
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.length >= fresh.length ? records : undefined;
    }, 60_000, 'the 300 records written after start-up');
    expect(new Set(output.map((r) => json(r).id))).toEqual(new Set(fresh.map((f) => f.id)));
    expect(output).toHaveLength(fresh.length);
    expect(await stopAll()).toEqual([0, 0, 0]);
  });
});

describe('bad input goes to the dead-letter queue while the rest passes', () => {
  const app = h.app('it-dlq');

  test('invalid JSON, invalid UTF-8, schema failures and oversized records are dead-lettered with their details', async () => {
    const inputArn = await createStream(h.client, uniqueName('in'), 2);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    await prepare?.(inputArn, app);
    const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: input(app), OutputStream0: { 'sink.max-record-size': '2 kb' } }));

    const good = Array.from({ length: 100 }, (_, i) => stock(`g-${i}`, i));
    const poison: Array<{ data: Buffer; reason: RegExp }> = [
      { data: Buffer.from('{"ticker": "AAPL", "price": 1'), reason: /not valid JSON/ },
      { data: Buffer.from('just text'), reason: /not valid JSON/ },
      { data: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), reason: /not valid UTF-8/ },
      { data: Buffer.from(JSON.stringify({ event_time: 'now', ticker: 'AAPL', price: 'cheap' })), reason: /"price" must be a number/ },
      { data: Buffer.from(JSON.stringify({ ticker: 'AAPL', price: 1 })), reason: /"event_time" must be a string/ },
      { data: Buffer.from(JSON.stringify([1, 2, 3])), reason: /not a JSON object/ },
      { data: Buffer.from(JSON.stringify({ ...stock('big', 1), padding: 'x'.repeat(3000) })), reason: /too large/ },
    ];
    const mixed = [...entries(good.slice(0, 50)), ...poison.map((p) => ({ PartitionKey: randomUUID(), Data: p.data })), ...entries(good.slice(50))];
    await putAll(h.client, inputArn, mixed);

    start('coordinator', properties, app);
    start('worker', properties, app);

    const letters = await waitFor(async () => {
      const found = await deadLetters(h.redis, app);
      return found.length >= poison.length ? found : undefined;
    }, 60_000, 'seven dead letters');
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.length >= good.length ? records : undefined;
    }, 60_000, 'the 100 good records in the output');

    expect(output).toHaveLength(good.length);
    expect(new Set(output.map((r) => json(r).id))).toEqual(new Set(good.map((g) => g.id)));
    expect(letters).toHaveLength(poison.length);
    for (const p of poison) {
      const letter = letters.find((l) => Buffer.from(l.payload, 'base64').equals(p.data));
      expect(letter).toBeDefined();
      expect(letter!.reason).toMatch(p.reason);
      expect(letter!.stream).toBe(inputArn);
      expect(letter!.shardId).toMatch(/^shardId-/);
      expect(letter!.sequenceNumber).toMatch(/^\d+$/);
      expect(Number.isNaN(Date.parse(letter!.arrivalTime!))).toBe(false);
    }
    expect(await stopAll()).toEqual([0, 0]);
  });
});

describe('crash', () => {
  test('a worker killed with SIGKILL: another resumes its shards from the checkpoints after the lease timeout, nothing lost', async () => {
    const app = h.app('it-crash');
    const inputArn = await createStream(h.client, uniqueName('in'), 2);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    await prepare?.(inputArn, app);
    const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: input(app) }));
    const first = Array.from({ length: 400 }, (_, i) => stock(`c1-${i}`, i));
    await putAll(h.client, inputArn, entries(first));

    start('coordinator', properties, app);
    const victim = start('worker', properties, app);
    // Every shard checkpointed at its last record: the first batch is fully acknowledged.
    const lastPerShard = new Map<string, string>();
    for (const r of await readAll(h.client, inputArn)) lastPerShard.set(r.shardId, r.sequenceNumber);
    await waitFor(async () => {
      const checkpoints = await h.redis.hgetall(new AppKeys(app).stream(inputArn).checkpoints);
      return [...lastPerShard].every(([shard, seq]) => checkpoints[shard] === seq);
    }, 30_000, 'checkpoints at the end of the first batch');
    victim.child.kill('SIGKILL');
    await victim.exited;

    const second = Array.from({ length: 400 }, (_, i) => stock(`c2-${i}`, i));
    await putAll(h.client, inputArn, entries(second));
    const survivor = start('worker', properties, app);
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      const ids = new Set(records.map((r) => json(r).id));
      return [...first, ...second].every((s) => ids.has(s.id)) ? records : undefined;
    }, 60_000, 'every record of both batches in the output');
    // Resumed from the checkpoints: the first batch, acknowledged before the crash, is not read again.
    expect(output.filter((r) => String(json(r).id).startsWith('c1-'))).toHaveLength(first.length);
    expect(survivor.output()).toMatch(/"start":\{"type":"AFTER_SEQUENCE_NUMBER"/);
  });
});
});
