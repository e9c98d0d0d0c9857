/**
 * A properties file written in the legacy FlinkKinesisConsumer's keys runs the real pipeline
 * (kinesis-local, Redis, `shardflow coordinator` and `shardflow worker`), and a legacy key that
 * contradicts its shardflow key stops the CLI with exit 2.
 */
import { randomUUID } from 'node:crypto';
import { createStream, json, putAll, readAll } from '../support/kinesis';
import { localClientProperties, writeProperties, type Groups } from '../support/properties';
import { runCli, waitForLog, type CliProcess } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { AppKeys } from '../../shared/redis/keys';

const h = useClusterHarness();

/** The groups of the reference example, the source settings only in the legacy consumer's keys. */
function legacyProperties(endpoint: string, inputArn: string, outputArn: string, source: Record<string, string>): Groups {
  // aws.* keys are the same in the legacy consumer's AWSConfigConstants and in shardflow.
  const client = localClientProperties(endpoint);
  return {
    InputStream0: {
      'stream.arn': inputArn,
      ...client,
      'flink.stream.initpos': 'TRIM_HORIZON',
      'flink.shard.discovery.intervalmillis': '1000',
      'flink.shard.getrecords.intervalmillis': '200',
      'flink.shard.getrecords.maxrecordcount': '500',
      ...source,
    },
    OutputStream0: { 'stream.arn': outputArn, ...client, 'sink.flush-buffer.timeout': '100 ms' },
    Cluster: { 'lease.timeout': '4 s' },
  };
}

/** The messages of a process's JSON log lines at one level (pino: 40 is warn). */
function logMessages(p: CliProcess, level: number): string[] {
  return p
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level === level)
    .map((entry) => entry.msg);
}

const NOTICES = [
  'Legacy FlinkKinesisConsumer key "flink.stream.initpos" in property group "InputStream0" is read as "source.init.position"; use "source.init.position" in new files',
  'Legacy FlinkKinesisConsumer key "flink.shard.discovery.intervalmillis" in property group "InputStream0" is read as "source.shard.discovery.interval"; use "source.shard.discovery.interval" in new files',
  'Legacy FlinkKinesisConsumer key "flink.shard.getrecords.intervalmillis" in property group "InputStream0" is read as "source.shard.get-records.interval"; use "source.shard.get-records.interval" in new files',
  'Legacy FlinkKinesisConsumer key "flink.shard.getrecords.maxrecordcount" in property group "InputStream0" is read as "source.shard.get-records.max-record-count"; use "source.shard.get-records.max-record-count" in new files',
  'Legacy FlinkKinesisConsumer key "flink.stream.recordpublisher" in property group "InputStream0" is read as "source.reader.type"; use "source.reader.type" in new files',
];

const READERS = [
  { name: 'POLLING', reader: 'POLLING', source: (): Record<string, string> => ({ 'flink.stream.recordpublisher': 'POLLING' }), notices: NOTICES },
  {
    name: 'EFO, registration EAGER',
    reader: 'EFO',
    source: (app: string): Record<string, string> => ({
      'flink.stream.recordpublisher': 'EFO',
      'flink.stream.efo.consumername': `legacy-${app}`,
      'flink.stream.efo.registration': 'EAGER',
    }),
    notices: [
      ...NOTICES,
      'Legacy FlinkKinesisConsumer key "flink.stream.efo.consumername" in property group "InputStream0" is read as "source.efo.consumer.name"; use "source.efo.consumer.name" in new files',
      'Legacy FlinkKinesisConsumer key "flink.stream.efo.registration" in property group "InputStream0" is read as "source.efo.consumer.lifecycle" (LAZY and EAGER mean JOB_MANAGED, NONE means SELF_MANAGED); use "source.efo.consumer.lifecycle" in new files',
    ],
  },
];

describe.each(READERS)('a file in the legacy consumer keys, $name', ({ reader, source, notices }) => {
  test('runs the pipeline: every record arrives transformed, and each process names the new keys once', async () => {
    const app = h.app('it-legacy');
    const inputArn = await createStream(h.client, uniqueName('in'), 2);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    const properties = writeProperties(legacyProperties(h.kinesis.endpoint, inputArn, outputArn, source(app)));
    const stocks = Array.from({ length: 300 }, (_, i) => ({ event_time: new Date(1_700_000_000_000 + i).toISOString(), ticker: 'MSFT', price: i / 100, id: `legacy-${i}` }));
    // Written before start-up: only the legacy flink.stream.initpos=TRIM_HORIZON makes them visible.
    await putAll(h.client, inputArn, stocks.map((s) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify(s)) })));

    const coordinator = h.start('coordinator', properties, app);
    const worker = h.start('worker', properties, app);
    await waitForLog(worker, 'lease taken', 60_000);
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.length >= stocks.length ? records : undefined;
    }, 90_000, `all ${stocks.length} records in the output stream`);

    const byId = new Map(output.map((r) => [json(r).id as string, json(r)]));
    expect(byId.size).toBe(stocks.length);
    for (const original of stocks) expect(byId.get(original.id)).toEqual({ ...original, ticker: 'AMZN' });
    // The legacy reader type was honoured: the worker's leases are of that reader.
    await waitFor(async () => {
      const statuses = Object.values(await h.redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ reader: string }> });
      return statuses.length === 1 && statuses[0].leases.length === 2 && statuses[0].leases.every((l) => l.reader === reader);
    }, 20_000, `two ${reader} leases on the worker`);

    for (const p of [coordinator, worker]) {
      const warnings = logMessages(p, 40);
      for (const notice of notices) expect(warnings.filter((w) => w === notice)).toHaveLength(1);
      expect(warnings.filter((w) => w.startsWith('Legacy FlinkKinesisConsumer key '))).toHaveLength(notices.length);
    }
    expect(await h.stopAll()).toEqual([0, 0]);
  });
});

describe.each(['coordinator', 'worker'])('shardflow %s with a legacy key that contradicts its shardflow key', (command) => {
  test('exits 2 with one message naming the group, both keys, both values and what is allowed', async () => {
    const groups = legacyProperties('http://127.0.0.1:1', 'arn:aws:kinesis:us-east-1:000000000000:stream/in', 'arn:aws:kinesis:us-east-1:000000000000:stream/out', {
      'source.init.position': 'LATEST',
    });
    const { code, output } = await runCli([command, '--properties', writeProperties(groups), '--redis', 'redis://127.0.0.1:1', '--app', uniqueName('it-legacy')]);
    expect(code).toBe(2);
    expect(output).toContain(
      'Invalid configuration: property group "InputStream0", keys "source.init.position" and "flink.stream.initpos": values "LATEST" and "TRIM_HORIZON" are not allowed together; ' +
        'allowed: one of the two keys, or both with the same value ("flink.stream.initpos" is the legacy FlinkKinesisConsumer key for "source.init.position", which takes one of LATEST | TRIM_HORIZON | AT_TIMESTAMP)',
    );
    expect(output).not.toMatch(/\n\s+at /);
  });

  test('the same value under both keys ("500" millis and "500 ms") is accepted: it gets as far as Redis', async () => {
    const groups = legacyProperties('http://127.0.0.1:1', 'arn:aws:kinesis:us-east-1:000000000000:stream/in', 'arn:aws:kinesis:us-east-1:000000000000:stream/out', {
      'source.shard.get-records.interval': '500 ms',
      'flink.shard.getrecords.intervalmillis': '500',
    });
    const { code, output } = await runCli([command, '--properties', writeProperties(groups), '--redis', 'redis://127.0.0.1:1', '--app', uniqueName('it-legacy')]);
    expect(code).toBe(1);
    expect(output).toContain('cannot reach Redis at redis://127.0.0.1:1');
    expect(output).not.toContain('Invalid configuration');
  });
});
