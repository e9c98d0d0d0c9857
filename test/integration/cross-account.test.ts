/**
 * Cross-account access as in the reference example's README: the input stream exists only in
 * another account, and the pipeline reaches it by assuming a role there
 * (`aws.credentials.provider = ASSUME_ROLE`) through an STS endpoint.
 */
import { randomUUID } from 'node:crypto';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Redis } from 'ioredis';
import { createStream, json, localClient, putAll, readAll, startKinesisLocal, type KinesisLocal } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, spawnCli, stopCli, type CliProcess } from '../support/cli';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { startStsServer, type StsServer } from '../support/sts-server';
import { uniqueName, waitFor } from '../support/wait';

const STREAM_ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${STREAM_ACCOUNT}:role/shardflow-stream-reader`;

let kinesis: KinesisLocal;
let sts: StsServer;
let home: KinesisClient;
let other: KinesisClient;
let redis: Redis;
const app = uniqueName('it-xaccount');
const running: CliProcess[] = [];

beforeAll(async () => {
  [kinesis, sts] = await Promise.all([startKinesisLocal(), startStsServer()]);
  home = localClient(kinesis.endpoint);
  other = localClient(kinesis.endpoint, STREAM_ACCOUNT);
  redis = testRedis();
});

afterAll(async () => {
  await Promise.all(running.map((p) => stopCli(p)));
  await dropApp(redis, app);
  redis.disconnect();
  home.destroy();
  other.destroy();
  await Promise.all([kinesis.stop(), sts.close()]);
});

test('ASSUME_ROLE reads a stream that exists only in the role\'s account', async () => {
  const inName = uniqueName('xin');
  const inputArn = await createStream(other, inName, 2);
  expect(inputArn).toContain(`:${STREAM_ACCOUNT}:stream/`);
  const outputArn = await createStream(home, uniqueName('xout'), 1);
  // The stream is invisible to the application's own account.
  await expect(home.send(new DescribeStreamSummaryCommand({ StreamName: inName }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

  const records = Array.from({ length: 50 }, (_, i) => ({ event_time: new Date().toISOString(), ticker: 'MSFT', price: i, id: `x-${i}` }));
  await putAll(other, inputArn, records.map((r) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify(r)) })));

  const properties = writeProperties(
    localProperties(kinesis.endpoint, inputArn, outputArn, {
      InputStream0: {
        'aws.credentials.provider': 'ASSUME_ROLE',
        'aws.credentials.provider.role.arn': ROLE_ARN,
        'aws.credentials.provider.role.sessionName': 'shardflow-it',
        'aws.credentials.provider.role.externalId': 'ext-123',
        'aws.credentials.provider.role.provider': 'BASIC',
        'aws.credentials.provider.role.stsEndpoint': sts.endpoint,
      },
    }),
  );
  for (const command of ['coordinator', 'worker']) {
    running.push(spawnCli([command, '--properties', properties, '--redis', REDIS_URL, '--app', app]));
  }

  const output = await waitFor(async () => {
    const found = await readAll(home, outputArn);
    return found.length >= records.length ? found : undefined;
  }, 60_000, 'the 50 records from the other account in the output');
  expect(new Set(output.map((r) => json(r).id))).toEqual(new Set(records.map((r) => r.id)));
  expect(output.every((r) => json(r).ticker === 'AMZN')).toBe(true);

  // Both processes assumed the role with the configured session and external id, signed by the base credentials.
  expect(sts.calls.length).toBeGreaterThanOrEqual(2);
  for (const call of sts.calls) {
    expect(call).toEqual({ roleArn: ROLE_ARN, sessionName: 'shardflow-it', externalId: 'ext-123', callerAccessKeyId: '000000000000' });
  }
  for (const p of running.splice(0)) expect(await stopCli(p)).toBe(0);
});

test('without the role, the same stream is not found and the coordinator exits 1 saying so', async () => {
  const inputArn = await createStream(other, uniqueName('xin'), 1);
  const outputArn = await createStream(home, uniqueName('xout'), 1);
  // The application's own credentials, addressing the stream by name in its own account.
  const ownAccountArn = inputArn.replace(`:${STREAM_ACCOUNT}:`, ':000000000000:');
  const properties = writeProperties(localProperties(kinesis.endpoint, ownAccountArn, outputArn));
  const result = await runCli(['coordinator', '--properties', properties, '--redis', REDIS_URL, '--app', uniqueName('it-xaccount-none')]);
  expect(result.code).toBe(1);
  expect(result.output).toContain('cannot list the shards');
  expect(result.output).toContain('ResourceNotFoundException');
});
