/**
 * Enhanced fan-out: the consumer lifecycles and re-subscription. (The end-to-end scenarios run for
 * both readers from one table in pipeline.test.ts and resharding.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { DeregisterStreamConsumerCommand, DescribeStreamConsumerCommand, RegisterStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { createStream, json, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, stopCli, waitForLog } from '../support/cli';
import { REDIS_URL } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { AppKeys } from '../../shared/redis/keys';

const h = useClusterHarness();
const start = (command: string, properties: string, app: string, env: NodeJS.ProcessEnv = {}) => h.start(command, properties, app, env);

async function consumerStatus(streamArn: string, name: string): Promise<string | undefined> {
  try {
    const out = await h.client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }));
    return out.ConsumerDescription?.ConsumerStatus;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

function records(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({ event_time: new Date().toISOString(), ticker: 'TBV', price: i, id: `${prefix}-${i}` }));
}

function entries(stocks: Array<{ id: string }>) {
  return stocks.map((s) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify(s)) }));
}

async function setup(efo: Record<string, string>) {
  const app = h.app('it-efo');
  const inputArn = await createStream(h.client, uniqueName('ein'), 2);
  const outputArn = await createStream(h.client, uniqueName('eout'), 1);
  const properties = writeProperties(
    localProperties(h.kinesis.endpoint, inputArn, outputArn, {
      InputStream0: { 'source.reader.type': 'EFO', 'source.efo.describe.retry-strategy.delay.min': '50 ms', ...efo },
    }),
  );
  return { app, inputArn, outputArn, properties };
}

test('JOB_MANAGED: the coordinator registers the consumer; a coordinator restart keeps it; `shardflow shutdown` stops everything and deregisters it', async () => {
  const name = uniqueName('job-consumer');
  const { app, inputArn, outputArn, properties } = await setup({ 'source.efo.consumer.name': name });
  expect(await consumerStatus(inputArn, name)).toBeUndefined();

  const coordinator = start('coordinator', properties, app);
  const worker = start('worker', properties, app);
  await waitForLog(coordinator, 'EFO consumer ACTIVE');
  expect(await consumerStatus(inputArn, name)).toBe('ACTIVE');
  const published = JSON.parse((await h.redis.get(new AppKeys(app).stream(inputArn).efoConsumer))!);
  expect(published).toMatchObject({ name, lifecycle: 'JOB_MANAGED' });
  expect(published.arn).toContain(name);

  const batch = records('job', 100);
  await putAll(h.client, inputArn, entries(batch));
  await waitFor(async () => (await readAll(h.client, outputArn)).length >= batch.length, 30_000, 'the records in the output');

  // A coordinator stop (restart, failover) leaves the consumer to the running workers.
  expect(await stopCli(coordinator)).toBe(0);
  expect(await consumerStatus(inputArn, name)).toBe('ACTIVE');
  const second = start('coordinator', properties, app);
  await waitForLog(second, 'EFO consumer ACTIVE');
  const more = records('job2', 50);
  await putAll(h.client, inputArn, entries(more));
  await waitFor(async () => (await readAll(h.client, outputArn)).length >= batch.length + more.length, 30_000, 'the second batch');

  // The on-purpose shutdown: every process exits 0, then the consumer is deregistered.
  const shutdown = await runCli(['shutdown', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--timeout', '60']);
  expect(shutdown.output).toContain('deregistered');
  expect(shutdown.code).toBe(0);
  expect((await worker.exited).code).toBe(0);
  expect((await second.exited).code).toBe(0);
  await waitFor(async () => (await consumerStatus(inputArn, name)) === undefined, 10_000, 'the consumer to be gone');
  expect(await h.redis.exists(new AppKeys(app).shutdown)).toBe(0);

  const output = await readAll(h.client, outputArn);
  expect(new Set(output.map((r) => json(r).id))).toEqual(new Set([...batch, ...more].map((r) => r.id)));
});

test('SELF_MANAGED: a missing consumer is refused with exit 2 by the coordinator and the worker', async () => {
  const name = uniqueName('missing-consumer');
  const { app, properties } = await setup({ 'source.efo.consumer.name': name, 'source.efo.consumer.lifecycle': 'SELF_MANAGED' });
  for (const command of ['coordinator', 'worker']) {
    const { code, output } = await runCli([command, '--properties', properties, '--redis', REDIS_URL, '--app', app]);
    expect(code).toBe(2);
    expect(output).toContain('InputStream0');
    expect(output).toContain('source.efo.consumer.name');
    expect(output).toContain(name);
    expect(output).toContain('does not exist');
  }
});

test('SELF_MANAGED: an existing consumer is used and never registered or deregistered by shardflow', async () => {
  const name = uniqueName('own-consumer');
  const { app, inputArn, outputArn, properties } = await setup({ 'source.efo.consumer.name': name, 'source.efo.lifecycle': 'SELF_MANAGED' });
  await h.client.send(new RegisterStreamConsumerCommand({ StreamARN: inputArn, ConsumerName: name }));
  await waitFor(async () => (await consumerStatus(inputArn, name)) === 'ACTIVE', 10_000, 'our consumer to be ACTIVE');
  start('coordinator', properties, app);
  start('worker', properties, app);
  const batch = records('self', 80);
  await putAll(h.client, inputArn, entries(batch));
  await waitFor(async () => (await readAll(h.client, outputArn)).length >= batch.length, 30_000, 'the records in the output');
  const shutdown = await runCli(['shutdown', '--properties', properties, '--redis', REDIS_URL, '--app', app]);
  expect(shutdown.code).toBe(0);
  expect(shutdown.output).toContain('left in place');
  expect(await consumerStatus(inputArn, name)).toBe('ACTIVE');
  await h.client.send(new DeregisterStreamConsumerCommand({ StreamARN: inputArn, ConsumerName: name }));
});

test('re-subscription: subscriptions that end mid-stream lose nothing and re-send nothing', async () => {
  const name = uniqueName('resub-consumer');
  const { app, inputArn, outputArn, properties } = await setup({ 'source.efo.consumer.name': name, 'source.efo.subscription.max-duration': '1 s' });
  start('coordinator', properties, app);
  const worker = start('worker', properties, app, { LOG_LEVEL: 'debug' });

  // A steady trickle over several subscription lifetimes: at least 10 rounds, and on until both shards
  // went through at least two re-subscriptions while records kept coming (a busy machine needs longer).
  const shards = ['shardId-000000000000', 'shardId-000000000001'];
  const resubscriptions = (shard: string) => worker.output().split('\n').filter((line) => line.includes('maximum subscription duration reached') && line.includes(shard)).length;
  const all: Array<{ id: string }> = [];
  for (let round = 0; round < 10 || (round < 300 && !shards.every((shard) => resubscriptions(shard) >= 2)); round++) {
    const batch = records(`r${round}`, 25);
    all.push(...batch);
    await putAll(h.client, inputArn, entries(batch));
    await new Promise((r) => setTimeout(r, 400)); // pacing the producer, not waiting for a result
  }
  const output = await waitFor(async () => {
    const found = await readAll(h.client, outputArn);
    return found.length >= all.length ? found : undefined;
  }, 60_000, 'every record in the output');
  // Exactly once: no gap and no record re-sent across re-subscriptions.
  expect(output).toHaveLength(all.length);
  expect(new Set(output.map((r) => json(r).id))).toEqual(new Set(all.map((r) => r.id)));
  // Both shards went through several subscriptions while records kept coming.
  for (const shard of shards) expect(resubscriptions(shard)).toBeGreaterThanOrEqual(2);
});
