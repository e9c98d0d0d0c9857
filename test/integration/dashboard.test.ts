/** The Bull Board dashboard and its security (secrets kept out of logs: secrets.test.ts). */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { createStream, putAll } from '../support/kinesis';
import { localProperties, writeProperties, type Groups } from '../support/properties';
import { runCli, waitForLog } from '../support/cli';
import { REDIS_URL } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { freePort } from '../../cli/local/free-port';
import { AppKeys, DEAD_LETTER_QUEUE, LEASE_QUEUE } from '../../shared/redis/keys';

const h = useClusterHarness();

async function pipeline(shards: number, overrides: Groups = {}) {
  const app = h.app('it-dash');
  const inputArn = await createStream(h.client, uniqueName('din'), shards);
  const outputArn = await createStream(h.client, uniqueName('dout'), 1);
  const groups = localProperties(h.kinesis.endpoint, inputArn, outputArn, overrides);
  return { app, inputArn, outputArn, groups, properties: writeProperties(groups) };
}

function stock(i: number, extra: object = {}) {
  return { PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'AAPL', price: i, id: `d-${i}`, ...extra })) };
}

test('the coordinator serves Bull Board: one active lease job per shard with live progress, and the dead-letter queue', async () => {
  const port = await freePort();
  const { app, inputArn, properties } = await pipeline(3, { Dashboard: { port: String(port) } });
  const coordinator = h.start('coordinator', properties, app);
  const worker = h.start('worker', properties, app);
  await waitForLog(coordinator, 'dashboard listening');
  await putAll(h.client, inputArn, Array.from({ length: 30 }, (_, i) => stock(i)));

  const base = `http://127.0.0.1:${port}`;
  expect((await fetch(`${base}/`)).status).toBe(200);
  const queues = await waitFor(async () => {
    const body = (await (await fetch(`${base}/api/queues`)).json()) as { queues: Array<{ name: string; counts: Record<string, number>; readOnlyMode: boolean }> };
    const leases = body.queues.find((q) => q.name === LEASE_QUEUE);
    return leases?.counts.active === 3 ? body.queues : undefined;
  }, 20_000, 'three active lease jobs in the dashboard');
  expect(queues.map((q) => q.name).sort()).toEqual([DEAD_LETTER_QUEUE, LEASE_QUEUE]);
  expect(queues.find((q) => q.name === LEASE_QUEUE)!.readOnlyMode).toBe(true);

  // Each active job's progress names its owner, reader, checkpoint and counts.
  const keys = new AppKeys(app);
  const queue = new Queue(LEASE_QUEUE, { connection: h.redis, prefix: keys.bullPrefix });
  const workerId = JSON.parse(worker.output().split('\n').find((l) => l.includes('worker running'))!).worker as string;
  const progress = await waitFor(async () => {
    const jobs = await queue.getJobs(['active']);
    const all = jobs.map((j) => j.progress as { owner: string; reader: string; checkpoint: string | null; recordsRead: number });
    return all.length === 3 && all.reduce((sum, p) => sum + p.recordsRead, 0) === 30 ? all : undefined;
  }, 20_000, 'lease progress covering the 30 records');
  await queue.close();
  for (const p of progress) {
    expect(p.owner).toBe(workerId);
    expect(p.reader).toBe('POLLING');
  }
  expect(progress.filter((p) => p.checkpoint !== null).length).toBeGreaterThan(0);
});

test('off loopback the dashboard refuses to start without credentials (exit 2) and checks them when set', async () => {
  const port = await freePort();
  const open = await pipeline(1, { Dashboard: { host: '0.0.0.0', port: String(port) } });
  const refused = await runCli(['coordinator', '--properties', open.properties, '--redis', REDIS_URL, '--app', open.app]);
  expect(refused.code).toBe(2);
  expect(refused.output).toContain('"Dashboard"');
  expect(refused.output).toContain('"host"');
  expect(refused.output).toContain('"0.0.0.0"');
  expect(refused.output).toContain('auth.basic.username');

  const secured = await pipeline(1, { Dashboard: { host: '0.0.0.0', port: String(port), 'auth.basic.username': 'ops', 'auth.basic.password': 'open-sesame', 'auth.bearer.token': 'tok-123' } });
  const coordinator = h.start('coordinator', secured.properties, secured.app);
  await waitForLog(coordinator, 'dashboard listening');
  const url = `http://127.0.0.1:${port}/api/queues`;
  expect((await fetch(url)).status).toBe(401);
  expect((await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } })).status).toBe(401);
  expect((await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:open-sesame').toString('base64')}` } })).status).toBe(200);
  expect((await fetch(url, { headers: { authorization: 'Bearer tok-123' } })).status).toBe(200);
  expect((await fetch(url, { headers: { authorization: 'Bearer tok-999' } })).status).toBe(401);
  expect(coordinator.output()).not.toContain('open-sesame');
  expect(coordinator.output()).not.toContain('tok-123');
});
