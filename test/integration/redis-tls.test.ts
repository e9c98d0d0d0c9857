/** Redis over TLS (`rediss://`) with a password: the pipeline runs, and the password is never logged. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createStream, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, waitForLog } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { startTlsRedis, type TlsRedis } from '../support/tls-redis';
import { AppKeys } from '../../shared/redis/keys';
import { testNeeding } from '../support/programs';

const h = useClusterHarness();
let redis: TlsRedis;

beforeAll(async () => {
  redis = await startTlsRedis('tls-Pa55word');
});
afterAll(async () => {
  await redis?.stop();
});

// A TLS-only redis-server with a throw-away CA made by openssl.
testNeeding('redis-server', 'openssl')('coordinator and worker keep leases and checkpoints in a TLS-only Redis with a password', async () => {
  const app = h.app('it-tls');
  const inputArn = await createStream(h.client, uniqueName('tin'), 2);
  const outputArn = await createStream(h.client, uniqueName('tout'), 1);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn));
  const env = { NODE_EXTRA_CA_CERTS: redis.caFile };
  const coordinator = h.start('coordinator', properties, app, env, redis.url);
  const worker = h.start('worker', properties, app, env, redis.url);
  await waitForLog(worker, 'worker running');
  const records = Array.from({ length: 40 }, (_, i) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'AAPL', price: i })) }));
  await putAll(h.client, inputArn, records);
  await waitFor(async () => (await readAll(h.client, outputArn)).length === records.length || undefined, 30_000, 'all 40 records in the output');

  // The state really is in the TLS Redis: both shards have a checkpoint there.
  const client = new Redis(redis.url, { tls: { ca: redis.ca } });
  try {
    await waitFor(async () => (await client.hlen(new AppKeys(app).stream(inputArn).checkpoints)) === 2 || undefined, 20_000, 'two checkpoints in the TLS Redis');
  } finally {
    client.disconnect();
  }
  // Without trusting the CA, the connection is refused rather than silently unencrypted or unverified.
  const untrusted = await runCli(['dlq', 'list', '--properties', properties, '--redis', redis.url, '--app', app], {}, 30_000);
  expect(untrusted.code).toBe(1);
  expect(untrusted.output).toMatch(/certificate/i);

  await h.stopAll();
  const everything = coordinator.output() + worker.output() + untrusted.output;
  expect(everything).toContain('rediss://:***@localhost');
  expect(everything).not.toContain('tls-Pa55word');
});
