/**
 * A Redis that comes back empty never silently starts the application over: running processes exit
 * with code 3 and say so, later starts refuse, and `shardflow start-over --yes` is the way back.
 */
import type { Redis } from 'ioredis';
import { createStream } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, waitForLog } from '../support/cli';
import { testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { startRedisServer, type RedisServer } from '../../cli/local/redis-server';
import { AppKeys } from '../../shared/redis/keys';
import { addToSetWhileMarked, newMarker } from '../../shared/redis/app-state';
import { testNeeding } from '../support/programs';

const h = useClusterHarness();
let redisServer: RedisServer | undefined;
let redis: Redis | undefined;

afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
});

const LOST = 'Redis lost the state of application';

testNeeding('redis-server')('an emptied Redis stops the coordinator and the worker with exit code 3; starts refuse until start-over', async () => {
  redisServer = await startRedisServer(); // no persistence
  redis = testRedis(redisServer.url);
  const app = h.app('it-state-loss');
  const keys = new AppKeys(app);
  const inputArn = await createStream(h.client, uniqueName('slin'), 2);
  const outputArn = await createStream(h.client, uniqueName('slout'), 1);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn));
  const common = ['--properties', properties, '--redis', redisServer.url, '--app', app];

  const coordinator = h.start('coordinator', properties, app, {}, redisServer.url);
  const worker = h.start('worker', properties, app, {}, redisServer.url);
  await waitForLog(worker, 'lease taken', 30_000);
  const marker = JSON.parse((await redis.get(keys.state))!) as { createdAt: string; by: string };
  expect(marker.by).toMatch(/coordinator/);

  await redis.flushall();
  const [c, w] = await Promise.all([coordinator.exited, worker.exited]);
  expect(c.code).toBe(3);
  expect(w.code).toBe(3);
  for (const p of [coordinator, worker]) {
    expect(p.output()).toMatch(new RegExp(`${LOST} \\\\?"${app}`));
    expect(p.output()).toContain(`shardflow start-over --app ${app} --yes`);
  }
  // The tombstone stays, and nothing was re-created from the initial position.
  expect(JSON.parse((await redis.get(keys.stateLost))!)).toMatchObject({ by: expect.stringMatching(/worker|coordinator/) });
  expect(await redis.hlen(keys.stream(inputArn).checkpoints)).toBe(0);
  expect(await redis.exists(keys.stream(inputArn).initialShards)).toBe(0);
  expect(await redis.exists(keys.state)).toBe(0);

  for (const command of ['coordinator', 'worker']) {
    const refused = await runCli([command, ...common], { METRICS_PORT: '0' }, 30_000);
    expect(refused.code).toBe(3);
    expect(refused.output).toMatch(new RegExp(`${LOST} \\\\?"${app}`));
  }
  expect(await redis.exists(keys.state)).toBe(0);

  const unconfirmed = await runCli(['start-over', ...common], {}, 30_000);
  expect(unconfirmed.code).toBe(2);
  expect(unconfirmed.output).toContain('--yes');
  const startOver = await runCli(['start-over', ...common, '--yes'], {}, 30_000);
  expect(startOver.code).toBe(0);
  expect(startOver.output).toContain(`application "${app}" started over`);
  expect(startOver.output).toContain('source.init.position (TRIM_HORIZON');
  expect(await redis.exists(keys.stateLost)).toBe(0);

  const coordinator2 = h.start('coordinator', properties, app, {}, redisServer.url);
  const worker2 = h.start('worker', properties, app, {}, redisServer.url);
  await waitForLog(worker2, 'lease taken', 30_000);
  await waitFor(async () => (await redis!.exists(keys.state)) === 1, 10_000, 'a new state marker');
  // While they run, start-over refuses.
  const busy = await runCli(['start-over', ...common, '--yes'], {}, 30_000);
  expect(busy.code).toBe(1);
  expect(busy.output).toContain('is still running');
  expect(coordinator2.child.exitCode).toBeNull();
  expect(worker2.child.exitCode).toBeNull();
});

test('a discovery write that races with the loss is not applied: the initial-shard set is added to only while the marker holds', async () => {
  const local = testRedis();
  try {
    const keys = new AppKeys(uniqueName('it-state-race'));
    const initialShards = keys.stream('arn:aws:kinesis:us-east-1:123456789012:stream/it-state-race-in').initialShards;
    const marker = newMarker('coordinator-x');
    await local.set(keys.state, marker);
    const many = Array.from({ length: 2_500 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
    expect(await addToSetWhileMarked(local, keys, marker, initialShards, many)).toBe(true);
    expect(await local.scard(initialShards)).toBe(2_500);

    await local.del(initialShards, keys.state); // Redis "lost" the state
    expect(await addToSetWhileMarked(local, keys, marker, initialShards, many)).toBe(false);
    await local.set(keys.state, newMarker('someone-else')); // or another process started the app afresh
    expect(await addToSetWhileMarked(local, keys, marker, initialShards, many)).toBe(false);
    expect(await local.exists(initialShards)).toBe(0);
    await local.del(keys.state);
  } finally {
    local.disconnect();
  }
});
