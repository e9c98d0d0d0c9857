/** `shardflow generate` writes stock records like the reference stock.py. */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createStream, json, localClient, readAll, startKinesisLocal, type KinesisLocal } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli } from '../support/cli';
import { uniqueName } from '../support/wait';
import { theirDeaggregate } from '../support/kinesis-agg';

let kinesis: KinesisLocal;
let client: KinesisClient;

beforeAll(async () => {
  kinesis = await startKinesisLocal();
  client = localClient(kinesis.endpoint);
});

afterAll(async () => {
  client.destroy();
  await kinesis.stop();
});

test('--count N at --rate R writes N stock records to InputStream0 and prints a summary', async () => {
  const inputArn = await createStream(client, uniqueName('gen'), 2);
  const properties = writeProperties(localProperties(kinesis.endpoint, inputArn, inputArn));
  const { code, output } = await runCli(['generate', '--properties', properties, '--count', '250', '--rate', '2000']);
  expect(code).toBe(0);
  expect(output).toMatch(/generated 250 stock records into .*gen-/);

  const records = await readAll(client, inputArn);
  expect(records).toHaveLength(250);
  for (const record of records) {
    const stock = json(record);
    expect(Object.keys(stock).sort()).toEqual(['event_time', 'price', 'ticker']);
    expect(['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV']).toContain(stock.ticker);
    expect(Number.isNaN(Date.parse(stock.event_time as string))).toBe(false);
    expect(stock.price).toBeGreaterThanOrEqual(0);
    expect(stock.price).toBeLessThanOrEqual(100);
    expect(Math.round((stock.price as number) * 100)).toBeCloseTo((stock.price as number) * 100, 6);
  }
  // Random partition keys spread the records over both shards.
  expect(new Set(records.map((r) => r.shardId)).size).toBe(2);
});

test('--stream writes to another stream, and --partition-key ticker keys records by ticker', async () => {
  const inputArn = await createStream(client, uniqueName('gen'), 1);
  const otherArn = await createStream(client, uniqueName('gen-other'), 1);
  const properties = writeProperties(localProperties(kinesis.endpoint, inputArn, inputArn));
  const { code } = await runCli(['generate', '--properties', properties, '--count', '40', '--rate', '1000', '--stream', otherArn, '--partition-key', 'ticker']);
  expect(code).toBe(0);
  expect(await readAll(client, inputArn)).toHaveLength(0);
  const records = await readAll(client, otherArn);
  expect(records).toHaveLength(40);
  for (const record of records) expect(record.partitionKey).toBe(json(record).ticker);
});

test('--aggregate --partition-key constant writes KPL aggregates that decode back to the stock records', async () => {
  const inputArn = await createStream(client, uniqueName('gen-agg'), 2);
  const properties = writeProperties(localProperties(kinesis.endpoint, inputArn, inputArn));
  const { code, output } = await runCli(['generate', '--properties', properties, '--count', '1200', '--rate', '5000', '--aggregate', '--partition-key', 'constant']);
  expect(code).toBe(0);
  expect(output).toMatch(/generated 1200 stock records into .*gen-agg-.*, packed into \d+ KPL aggregated records/);

  const records = await readAll(client, inputArn);
  // 500 stock records a batch at this rate, ~75 bytes each: one aggregate per batch.
  expect(records.length).toBeGreaterThanOrEqual(3);
  expect(records.length).toBeLessThan(1200);
  // One key for everything, so everything on one shard.
  expect(new Set(records.map((r) => r.shardId)).size).toBe(1);
  const stocks = records.flatMap((record) => {
    expect(record.partitionKey).toBe('partitionkey');
    return theirDeaggregate(record.data, record.partitionKey).map((user) => {
      expect(user.partitionKey).toBe('partitionkey');
      return json(user);
    });
  });
  expect(stocks).toHaveLength(1200);
  for (const stock of stocks) {
    expect(Object.keys(stock).sort()).toEqual(['event_time', 'price', 'ticker']);
    expect(['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV']).toContain(stock.ticker);
  }
});

test('a bad --partition-key is exit 2 naming the allowed values', async () => {
  const properties = writeProperties(localProperties(kinesis.endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/nope', 'arn:aws:kinesis:us-east-1:000000000000:stream/nope'));
  const bad = await runCli(['generate', '--properties', properties, '--partition-key', 'shard']);
  expect(bad.code).toBe(2);
  expect(bad.output).toContain('--partition-key: value "shard" is not allowed; allowed: random | ticker | constant');
});

test('a missing stream is exit 1 with the reason; a bad --rate is exit 2', async () => {
  const properties = writeProperties(localProperties(kinesis.endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/nope', 'arn:aws:kinesis:us-east-1:000000000000:stream/nope'));
  const missing = await runCli(['generate', '--properties', properties, '--count', '5']);
  expect(missing.code).toBe(1);
  expect(missing.output).toContain('ResourceNotFoundException');
  const badRate = await runCli(['generate', '--properties', properties, '--rate', 'fast']);
  expect(badRate.code).toBe(2);
  expect(badRate.output).toContain('--rate');
});
