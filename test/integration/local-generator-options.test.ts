/**
 * `shardflow local --aggregate --partition-key constant` hands both options to its generator: the
 * input stream receives KPL aggregates keyed "partitionkey". (Its own file, so it does not touch
 * local-stack.test.ts.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/local/free-port';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { localProperties, writeProperties } from '../support/properties';
import { spawnCli, type CliProcess } from '../support/cli';
import { localClient, readAll } from '../support/kinesis';
import { theirDeaggregate } from '../support/kinesis-agg';
import { stopWithDescendants } from '../support/process-tree';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';

const stacks: CliProcess[] = [];
const apps: string[] = [];

// The stack first, so nothing writes the app's keys again after they are dropped from the shared Redis.
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stopWithDescendants(stack);
  const redis = testRedis();
  try {
    for (const app of apps.splice(0)) await dropApp(redis, app);
  } finally {
    redis.disconnect();
  }
});

test('--aggregate --partition-key constant reach the generator', async () => {
  const app = uniqueName('it-local-agg');
  apps.push(app);
  const kinesisPort = await freePort();
  const endpoint = `http://127.0.0.1:${kinesisPort}`;
  const inputArn = 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn';
  const properties = writeProperties(localProperties(endpoint, inputArn, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut'));
  const logs = mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'));
  const stack = spawnCli([
    'local', '--properties', properties, '--redis', REDIS_URL, '--app', app,
    '--workers', '1', '--rate', '40', '--logs', logs, '--aggregate', '--partition-key', 'constant',
  ]);
  stacks.push(stack);

  const client = localClient(endpoint);
  try {
    // The stream exists only once the stack created it, so early reads fail and are retried.
    const records = await waitFor(
      async () => {
        const found = await readAll(client, inputArn);
        return found.length >= 2 ? found : undefined;
      },
      90_000,
      () => `aggregated records in the input stream\n${stack.output()}`,
      500,
      () => {
        if (stack.child.exitCode !== null) throw new Error(`the local stack exited with ${stack.child.exitCode}:\n${stack.output()}`);
      },
    );
    for (const record of records) {
      expect(record.partitionKey).toBe('partitionkey');
      expect(isAggregated(record.data)).toBe(true);
      const users = theirDeaggregate(record.data, record.partitionKey);
      expect(users.length).toBeGreaterThan(0);
      for (const user of users) expect(user.partitionKey).toBe('partitionkey');
    }
    stack.child.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
  } finally {
    client.destroy();
  }
});
