/**
 * `shardflow local` (what `npm start` runs): local Kinesis, Redis (a private redis-server when none
 * answers), coordinator, workers and generator; records flow; Ctrl-C leaves no process behind.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAnswers } from '../../cli/local/free-port';
import { localProperties, writeProperties } from '../support/properties';
import { spawnCli, waitForLog, type CliProcess } from '../support/cli';
import { json, localClient, readAll } from '../support/kinesis';
import { uniqueName, waitFor } from '../support/wait';
import { alive, descendants, stopWithDescendants } from '../support/process-tree';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { testNeeding } from '../support/programs';

const stacks: CliProcess[] = [];

// A failed expectation must not leave a stack (and its children) running.
afterEach(async () => {
  for (const stack of stacks.splice(0)) {
    await stopWithDescendants(stack);
  }
});



// Without a Redis at --redis, the stack starts a private redis-server (the second test uses the shared Redis).
testNeeding('redis-server')('records flow through the whole local stack, and Ctrl-C stops every process it started', async () => {
  const kinesisPort = await freePort();
  const redisPort = await freePort(); // nothing listens there, so the stack starts its own redis-server
  const endpoint = `http://127.0.0.1:${kinesisPort}`;
  const properties = writeProperties(
    localProperties(endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn', 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut'),
  );
  const logs = mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'));
  const stack = spawnCli(['local', '--properties', properties, '--redis', `redis://127.0.0.1:${redisPort}`, '--app', uniqueName('it-local'), '--rate', '40', '--logs', logs]);
  stacks.push(stack);

  await waitForLog(stack, 'records are flowing', 60_000);
  await waitForLog(stack, 'leases (POLLING): worker-', 30_000);
  expect(await portAnswers(kinesisPort)).toBe(true);
  const started = descendants(stack.child.pid!);
  // kinesis-local, redis-server, coordinator, two workers, generator.
  expect(started.length).toBeGreaterThanOrEqual(6);
  expect(stack.output()).toContain('starting a private redis-server');
  // Right after "started", where to look: the dashboard, each process's metrics and the log folder.
  const first = stack.output().slice(stack.output().indexOf('started: a coordinator'));
  expect(first).toMatch(/^ {2}dashboard {2}http:\/\/127\.0\.0\.1:3000\/ {2}\(no login: it listens on loopback only\)$/m);
  for (const name of ['coordinator', 'worker-1', 'worker-2']) expect(first).toMatch(new RegExp(`${name} +http://127\\.0\\.0\\.1:\\d+/metrics`));
  expect(first).toContain(`logs       ${logs}`);

  stack.child.kill('SIGINT');
  const { code } = await stack.exited;
  expect(code).toBe(0);
  expect(stack.output()).toContain('local stack stopped');
  await waitFor(() => started.every((pid) => !alive(pid)), 15_000, () => `no process left behind (alive: ${started.filter(alive).join(', ')})`);
  expect(await portAnswers(kinesisPort)).toBe(false);
});

test('a second run against the same Redis starts clean: the old run\'s checkpoints are cleared and records flow again', async () => {
  const app = uniqueName('it-local-rerun');
  const redis = testRedis();
  try {
    for (const run of [1, 2]) {
      const kinesisPort = await freePort();
      const properties = writeProperties(
        localProperties(`http://127.0.0.1:${kinesisPort}`, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn', 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut'),
      );
      const stack = spawnCli(['local', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--workers', '1', '--rate', '40', '--logs', mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'))]);
      stacks.push(stack);
      await waitForLog(stack, 'records are flowing', 60_000);
      if (run === 2) expect(stack.output()).toContain('cleared the application\'s leases and checkpoints');
      stack.child.kill('SIGINT');
      expect((await stack.exited).code).toBe(0);
    }
  } finally {
    await dropApp(redis, app);
    redis.disconnect();
  }
});

test('--module runs the stack with that transform: a second output stream is created, records reach both, and the status line gives each output\'s rate', async () => {
  const app = uniqueName('it-local-module');
  const kinesisPort = await freePort();
  const endpoint = `http://127.0.0.1:${kinesisPort}`;
  const out0 = 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut';
  const properties = writeProperties(localProperties(endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn', out0));
  const logs = mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'));
  const redis = testRedis();
  const client = localClient(endpoint);
  try {
    // A relative module path, as `npm start -- --module examples/transforms/route-by-ticker.mjs` gives it from the repository's root.
    const stack = spawnCli(['local', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--workers', '1', '--rate', '40', '--logs', logs, '--module', 'examples/transforms/route-by-ticker.mjs']);
    stacks.push(stack);
    const giveUp = () => {
      if (stack.child.exitCode !== null) throw new Error(`the local stack exited with ${stack.child.exitCode}:\n${stack.output()}`);
    };

    // Without --outputs, two: OutputStream1 is made like OutputStream0, on a stream named after its own.
    const module = join(__dirname, '..', '..', 'examples', 'transforms', 'route-by-ticker.mjs');
    await waitForLog(stack, `  transform  ${module} to OutputStream0 (LocalOut), OutputStream1 (LocalOut-1)`, 60_000);
    const ran = new Map((JSON.parse(readFileSync(join(logs, 'application-properties.json'), 'utf8')) as Array<{ PropertyGroupId: string; PropertyMap: Record<string, string> }>).map((g) => [g.PropertyGroupId, g.PropertyMap]));
    expect(ran.get('Transform')).toEqual({ module });
    expect(ran.get('OutputStream1')).toEqual({ ...ran.get('OutputStream0'), 'stream.arn': `${out0}-1` });

    // The route: AMZN trades to OutputStream1's stream, every other ticker to OutputStream0's, as they were read.
    const [amzn, others] = await waitFor(
      async () => {
        const [first, second] = await Promise.all([readAll(client, `${out0}-1`), readAll(client, out0)]);
        return first.length >= 3 && second.length >= 3 ? [first, second] : undefined;
      },
      90_000,
      () => `records in both output streams\n${stack.output()}`,
      500,
      giveUp,
    );
    for (const record of amzn) expect(json(record).ticker).toBe('AMZN');
    for (const record of others) expect(json(record).ticker).not.toBe('AMZN');
    for (const record of [...amzn, ...others]) expect(Object.keys(json(record))).toEqual(['event_time', 'ticker', 'price']);

    // The status line (every 5 s when not a terminal): out per output, until both have been seen writing.
    const statusLine = /^in \d+\/s, out OutputStream0 (\d+)\/s, OutputStream1 (\d+)\/s \| read \d+, written \d+, /m;
    await waitForLog(stack, 'out OutputStream0 ', 30_000);
    await waitFor(
      () => stack.output().split('\n').some((line) => {
        const rates = statusLine.exec(line);
        return rates !== null && Number(rates[1]) > 0 && Number(rates[2]) > 0;
      }),
      60_000,
      () => `a status line with both outputs writing\n${stack.output()}`,
      500,
      giveUp,
    );

    stack.child.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
  } finally {
    client.destroy();
    for (const stack of stacks.splice(0)) await stopWithDescendants(stack);
    await dropApp(redis, app);
    redis.disconnect();
  }
});
