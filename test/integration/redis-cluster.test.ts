/**
 * Redis Cluster (`redis+cluster://`): three primaries, real redis-server processes on free ports, built
 * by `redis-cli --cluster create`. The whole pipeline runs on it: records in and out transformed, a dead
 * letter, checkpoints, a graceful hand-over both ways, `dlq list`, `shutdown` and `start-over`. Every key
 * of the app carries the hash tag `{<app>}` and so lives in one slot (the scripts and BullMQ need that).
 */
import { randomUUID } from 'node:crypto';
import { json, putAll, readAll } from '../support/kinesis';
import { compareDelivery } from '../support/delivery';
import { FaultEndpoint } from '../support/fault-endpoint';
import { ClusterHarness } from '../support/harness';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, type CliProcess } from '../support/cli';
import { command, startRedisCluster, type RedisClusterNodes } from '../support/ha-redis';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys } from '../../shared/redis/keys';
import { createRedis, type RedisClient } from '../../shared/redis/connection';
import type { WorkerStatus } from '../../worker/status-reporter';
import { testNeeding } from '../support/programs';

const SHARDS = 4;

let ep: FaultEndpoint;
let nodes: RedisClusterNodes | undefined;
let redis: RedisClient | undefined;
const h = new ClusterHarness();

beforeAll(async () => {
  ep = await FaultEndpoint.start();
  h.client = ep.client;
});
afterAll(async () => {
  await h.stopAll();
  redis?.disconnect();
  await nodes?.stop();
  await ep?.stop();
});

function assertUp(processes: CliProcess[]): void {
  for (const p of processes) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`shardflow ${p.child.spawnargs.slice(2, 3).join(' ')} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-4000)}`);
  }
}

function stock(id: string, i: number) {
  return { event_time: new Date(1_700_000_000_000 + i).toISOString(), ticker: 'AAPL', price: i / 100, id };
}

/** Every key on every primary matching a pattern. */
async function keysOnNodes(ports: number[], pattern: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const port of ports) {
    let cursor = '0';
    const keys: string[] = [];
    do {
      const [next, batch] = (await command(port, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length > 0) found.set(port, keys);
  }
  return found;
}

/** A Cluster needs redis-server and redis-cli --cluster create. */
const clusterTest = testNeeding('redis-server', 'redis-cli');

clusterTest('a 3-primary Redis Cluster runs the pipeline: records, dead letters, checkpoints, hand-over, shutdown and start-over', async () => {
  nodes = await startRedisCluster(3);
  redis = createRedis(nodes.url);
  redis.on('error', () => undefined);
  const app = h.app('it-rcluster');
  const keys = new AppKeys(app, { cluster: true });
  const inArn = await ep.createStream(uniqueName('in'), SHARDS);
  const outArn = await ep.createStream(uniqueName('out'), 2);
  const properties = writeProperties(localProperties(ep.endpoint, inArn, outArn, { InputStream0: { 'source.reader.type': 'POLLING' } }));

  const first = Array.from({ length: 1000 }, (_, i) => stock(`a-${i}`, i));
  await putAll(ep.client, inArn, [...first.slice(0, 500), 'not json', ...first.slice(500)].map((s) => ({ PartitionKey: randomUUID(), Data: Buffer.from(typeof s === 'string' ? s : JSON.stringify(s)) })));
  const coordinator = h.start('coordinator', properties, app, {}, nodes.url);
  const w1 = h.start('worker', properties, app, {}, nodes.url);
  const w2 = h.start('worker', properties, app, {}, nodes.url);
  const all = [coordinator, w1, w2];
  const statuses = async () => Object.values(await redis!.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
  const spread = (counts: number[]) => async () => {
    const held = (await statuses()).filter((s) => s.updatedAt > Date.now() - 3000 && s.leases.length > 0).map((s) => s.leases.length);
    return held.sort().join() === counts.sort().join();
  };

  // Records in and out, transformed, the bad one dead-lettered, both workers holding two leases.
  const output = await waitFor(
    async () => {
      const records = await readAll(ep.client, outArn);
      return records.length >= first.length ? records : undefined;
    },
    60_000,
    'the 1,000 records in the output',
    500,
    () => assertUp(all),
  );
  const byId = new Map(output.map((r) => [json(r).id as string, json(r)]));
  for (const original of first) expect(byId.get(original.id)).toEqual({ ...original, ticker: 'AMZN' });
  await waitFor(spread([2, 2]), 20_000, 'two leases on each worker', 200, () => assertUp(all));
  const dlq = await runCli(['dlq', 'list', '--properties', properties, '--redis', nodes.url, '--app', app], {}, 30_000);
  expect(dlq.code).toBe(0);
  expect(dlq.output).toContain('1 dead letter(s)');
  expect(dlq.output).toContain('not valid JSON');
  await waitFor(async () => (await redis!.hlen(keys.stream(inArn).checkpoints)) === SHARDS, 20_000, 'a checkpoint for every shard');

  // Hand-over both ways while records flow: a worker leaves (its leases go to the other), a new one joins.
  const producer = h.producer(inArn, { perSecond: 200, keys: 16, prefix: app });
  await waitFor(() => producer.produced.length >= 300, 20_000, '300 records produced');
  w2.child.kill('SIGTERM');
  expect((await w2.exited).code).toBe(0);
  await waitFor(spread([4]), 30_000, 'the remaining worker holding all four leases', 200, () => assertUp([coordinator, w1]));
  const w3 = h.start('worker', properties, app, {}, nodes.url);
  await waitFor(spread([2, 2]), 30_000, 'two leases on each worker again', 200, () => assertUp([coordinator, w1, w3]));
  const produced = producer.produced.length;
  await waitFor(() => producer.produced.length >= produced + 300, 20_000, '300 more records produced');
  await producer.stop();
  // The dead letter is not in the output, nor is it JSON with an id.
  const input = (await readAll(ep.client, inArn)).filter((r) => r.data.toString() !== 'not json');
  const delivered = await waitFor(
    async () => {
      const out = await readAll(ep.client, outArn);
      return compareDelivery(input, out).missing.length === 0 ? out : undefined;
    },
    60_000,
    'every good input record in the output',
    500,
    () => assertUp([coordinator, w1, w3]),
  );
  const result = compareDelivery(input, delivered);
  // A graceful hand-over flushes and checkpoints before it releases: nothing is sent twice.
  expect(result.duplicates).toBe(0);
  expect(w2.output()).toContain('lease released');
  expect(w1.output()).toContain('lease released');

  // Every key of the app is in one slot on one primary, hash-tagged; none under the untagged prefix.
  const tagged = await keysOnNodes(nodes.ports, `shardflow:{${app}}:*`);
  expect(tagged.size).toBe(1);
  const appKeys = [...tagged.values()][0]!;
  expect(appKeys).toEqual(expect.arrayContaining([keys.stream(inArn).checkpoints, keys.state, keys.workerStatus, `${keys.bullPrefix}:leases:meta`]));
  expect(new Set(await Promise.all(appKeys.map(async (k) => (await redis!.cluster('KEYSLOT', k)) as number))).size).toBe(1);
  expect((await keysOnNodes(nodes.ports, `shardflow:${app}:*`)).size).toBe(0);

  // The operations commands on the cluster: shutdown stops the app; start-over deletes every key of it.
  const shutdown = await runCli(['shutdown', '--properties', properties, '--redis', nodes.url, '--app', app, '--timeout', '60'], {}, 90_000);
  expect(shutdown.code).toBe(0);
  for (const p of [coordinator, w1, w3]) expect((await p.exited).code).toBe(0);
  const startOver = await runCli(['start-over', '--properties', properties, '--redis', nodes.url, '--app', app, '--yes'], {}, 60_000);
  expect(startOver.output).toMatch(/started over: deleted \d+ key\(s\) under shardflow:\{/);
  expect(startOver.code).toBe(0);
  expect((await keysOnNodes(nodes.ports, `shardflow:{${app}}:*`)).size).toBe(0);
  console.log(JSON.stringify({ row: 'redis cluster pipeline', records: result.inputCount, duplicates: result.duplicates, appKeys: appKeys.length, shutdown: shutdown.output.trim().split('\n').pop() }));
});
