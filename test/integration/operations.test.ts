/** /metrics, /healthz and /readyz of real processes during a run, and readiness following Redis. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStream, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { waitForLog, type CliProcess } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { startRedisServer, type RedisServer } from '../../cli/local/redis-server';
import { testNeeding } from '../support/programs';

const h = useClusterHarness();
let redisServer: RedisServer | undefined;

afterAll(async () => {
  await redisServer?.stop();
});

/** The ops endpoint a process logged at start-up. */
async function opsUrl(p: CliProcess): Promise<string> {
  await waitForLog(p, 'operations endpoint listening');
  const line = p.output().split('\n').find((l) => l.includes('operations endpoint listening'))!;
  return (JSON.parse(line) as { metrics: string }).metrics.replace(/\/metrics$/, '');
}

/** Sum of a metric's samples (optionally only those whose labels include `match`). */
function sample(text: string, name: string, match = ''): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(match))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

// Readiness follows a private redis-server that is stopped and started again.
testNeeding('redis-server')('workers and coordinators serve Prometheus metrics, health and readiness; readiness follows Redis', async () => {
  // With its data on disk: a Redis that came back empty would (rightly) stop the processes with exit 3.
  const redisDir = mkdtempSync(join(tmpdir(), 'shardflow-redis-'));
  redisServer = await startRedisServer({ dir: redisDir, appendOnly: true });
  const app = h.app('it-ops');
  const inputArn = await createStream(h.client, uniqueName('oin'), 2);
  const outputArn = await createStream(h.client, uniqueName('oout'), 1);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn));
  const coordinator = h.start('coordinator', properties, app, {}, redisServer.url);
  const worker = h.start('worker', properties, app, {}, redisServer.url);
  const [workerOps, coordinatorOps] = await Promise.all([opsUrl(worker), opsUrl(coordinator)]);

  const good = Array.from({ length: 200 }, (_, i) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ event_time: 'now', ticker: 'AAPL', price: i, id: i })) }));
  const poison = Array.from({ length: 3 }, () => ({ PartitionKey: randomUUID(), Data: Buffer.from('not json') }));
  await putAll(h.client, inputArn, [...good, ...poison]);
  await waitFor(async () => (await readAll(h.client, outputArn)).length >= good.length, 30_000, 'the records in the output');

  const text = await waitFor(async () => {
    const body = await (await fetch(`${workerOps}/metrics`)).text();
    return sample(body, 'shardflow_records_written_total') >= good.length && sample(body, 'shardflow_records_read_total') >= 203 ? body : undefined;
  }, 15_000, 'the worker\'s counters to catch up');
  expect(sample(text, 'shardflow_records_read_total')).toBe(203);
  expect(sample(text, 'shardflow_records_transformed_total')).toBe(200);
  expect(sample(text, 'shardflow_records_written_total')).toBe(200);
  expect(sample(text, 'shardflow_records_dead_lettered_total', 'reason="not valid JSON"')).toBe(3);
  expect(sample(text, 'shardflow_records_duplicated_total')).toBe(0);
  expect(sample(text, 'shardflow_put_records_duration_seconds_count')).toBeGreaterThan(0);
  expect(sample(text, 'shardflow_leases_held')).toBe(2);
  expect(sample(text, 'shardflow_lease_gains_total')).toBe(2);
  expect(text).toMatch(/shardflow_millis_behind_latest\{[^}]*shard="shardId-000000000000"[^}]*reader="POLLING"/);
  expect(sample(text, 'shardflow_sink_buffer_capacity_records')).toBe(25_000);
  expect(text).toContain('shardflow_sink_buffered_records');
  expect(text).toContain('shardflow_kinesis_errors_total');
  expect(text).toMatch(/process_resident_memory_bytes\{[^}]*role="worker"/);
  const coordinatorText = await (await fetch(`${coordinatorOps}/metrics`)).text();
  expect(sample(coordinatorText, 'shardflow_coordinator_leader')).toBe(1);
  expect(sample(coordinatorText, 'shardflow_shards', 'state="open"')).toBe(2);

  expect((await fetch(`${workerOps}/healthz`)).status).toBe(200);
  const ready = await waitFor(async () => {
    const res = await fetch(`${workerOps}/readyz`);
    return res.status === 200 ? ((await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> }) : undefined;
  }, 15_000, 'readyz to answer 200');
  expect(ready).toMatchObject({ ready: true, checks: { redis: { ok: true }, kinesis: { ok: true } } });

  // Redis goes away: not ready (but alive); Redis comes back: ready again.
  const port = redisServer.port;
  await redisServer.stop();
  await waitFor(async () => (await fetch(`${workerOps}/readyz`)).status === 503, 15_000, 'readyz to answer 503 without Redis');
  const down = (await (await fetch(`${workerOps}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };
  expect(down.checks.redis.ok).toBe(false);
  expect(down.checks.kinesis.ok).toBe(true);
  expect((await fetch(`${workerOps}/healthz`)).status).toBe(200);
  redisServer = await startRedisServer({ port, dir: redisDir, appendOnly: true });
  await waitFor(async () => (await fetch(`${workerOps}/readyz`)).status === 200, 20_000, 'readyz to answer 200 once Redis is back');
  expect(worker.child.exitCode).toBeNull();
  expect(sample(await (await fetch(`${workerOps}/metrics`)).text(), 'shardflow_redis_errors_total')).toBeGreaterThan(0);
});
