/**
 * What a fleet leaves behind in Redis and in /metrics: a worker's status entry goes when it stops
 * gracefully, a dead worker's when the leading coordinator finds it stale; a shard's metric series go from
 * a worker's /metrics when its lease moves to another worker.
 */
import { hostname } from 'node:os';
import { createStream } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { stopCli, waitForLog, type CliProcess } from '../support/cli';
import { opsUrl } from '../support/fault-pipeline';
import { statusLeases } from '../support/status';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';
import { dropReplayedLetters, REPLAYED_RETENTION_SECONDS } from '../../worker/dead-letter/dead-letter-replayer';
import { WORKER_STATUS_MAX_AGE_MS } from '../../coordinator/worker-status-pruner';

const h = useClusterHarness();

async function setup(shards: number) {
  const app = h.app('it-housekeeping');
  const inputArn = await createStream(h.client, uniqueName('hin'), shards);
  const outputArn = await createStream(h.client, uniqueName('hout'), 1);
  return { app, keys: new AppKeys(app), inputArn, properties: writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn)) };
}

const workerIdOf = (p: CliProcess) => `worker-${hostname()}-${p.child.pid}`;

test('a worker that stops gracefully deletes its status; a dead worker\'s stale status is pruned by the leading coordinator', async () => {
  const { app, keys, properties } = await setup(2);
  // Left by workers of an earlier run: one dead for longer than the age limit, one that died a minute ago.
  const stale = JSON.stringify({ worker: 'worker-gone-1', updatedAt: Date.now() - WORKER_STATUS_MAX_AGE_MS - 60_000, totals: {}, leases: [] });
  const recent = JSON.stringify({ worker: 'worker-gone-2', updatedAt: Date.now() - 60_000, totals: {}, leases: [] });
  await h.redis.hset(keys.workerStatus, 'worker-gone-1', stale, 'worker-gone-2', recent);

  const coordinator = h.start('coordinator', properties, app);
  const worker = h.start('worker', properties, app);
  await waitForLog(coordinator, 'removed the status of 1 worker(s) not heard from for 5 minutes');
  expect(coordinator.output()).toContain('"workers":["worker-gone-1"]');
  expect(await h.redis.hexists(keys.workerStatus, 'worker-gone-1')).toBe(0);
  expect(await h.redis.hexists(keys.workerStatus, 'worker-gone-2')).toBe(1);

  const id = workerIdOf(worker);
  await waitFor(async () => (await statusLeases(h.redis, app)).get(id)?.length === 2, 30_000, 'the worker holding both leases');
  // A killed worker cannot remove its entry: it stays until it is stale.
  const killed = h.start('worker', properties, app);
  await waitFor(async () => (await h.redis.hexists(keys.workerStatus, workerIdOf(killed))) === 1, 30_000, 'the second worker publishing its status');
  killed.child.kill('SIGKILL');
  await killed.exited;
  expect(await h.redis.hexists(keys.workerStatus, workerIdOf(killed))).toBe(1);

  expect(await stopCli(worker)).toBe(0);
  expect(await h.redis.hexists(keys.workerStatus, id)).toBe(0);
  expect((await h.redis.hkeys(keys.workerStatus)).sort()).toEqual([workerIdOf(killed), 'worker-gone-2'].sort());
});

/** The shards of a worker's /metrics, for one metric (the lines that carry a shard label). */
async function shardsIn(url: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...new Set(text.split('\n').filter((l) => l.startsWith(`${name}{`)).map((l) => /shard="([^"]+)"/.exec(l)?.[1]).filter((s): s is string => s !== undefined))].sort();
}

/** Every shard named by any series of a worker's /metrics. */
async function anyShardIn(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...new Set([...text.matchAll(/shard="([^"]+)"/g)].map((m) => m[1]!))].sort();
}

test("a worker's /metrics loses a shard's series once the shard's lease moves to a worker that joined", async () => {
  const { app, inputArn, properties } = await setup(4);
  const producer = h.producer(inputArn, { perSecond: 80, keys: 32, prefix: app });
  h.start('coordinator', properties, app);
  const first = h.start('worker', properties, app);
  const firstUrl = await opsUrl(first);
  // Records read and lag on all four shards.
  const all = await waitFor(async () => {
    const read = await shardsIn(firstUrl, 'shardflow_records_read_total');
    const lag = await shardsIn(firstUrl, 'shardflow_millis_behind_latest');
    return read.length === 4 && lag.length === 4 ? read : undefined;
  }, 30_000, 'series for all four shards on the first worker');

  const second = h.start('worker', properties, app);
  const secondUrl = await opsUrl(second);
  const held = await waitFor(async () => {
    const leases = await statusLeases(h.redis, app);
    const mine = leases.get(workerIdOf(first));
    return mine?.length === 2 && leases.get(workerIdOf(second))?.length === 2 ? mine.sort() : undefined;
  }, 60_000, 'two leases on each worker');
  const moved = all.filter((s) => !held.includes(s));
  // Only the shards it still holds, in every per-shard metric; their series are still there.
  await waitFor(async () => (await anyShardIn(firstUrl)).join() === held.join(), 10_000, () => `the first worker's /metrics to name only ${held.join(', ')}`);
  expect(await shardsIn(firstUrl, 'shardflow_records_read_total')).toEqual(held);
  // The new owner has series for the moved shards.
  await waitFor(async () => (await shardsIn(secondUrl, 'shardflow_millis_behind_latest')).join() === moved.join(), 20_000, `the second worker's lag series for ${moved.join(', ')}`);
  await producer.stop();
});

test('replayed dead letters past their retention are removed, with their payloads; failed (undelivered) ones never are', async () => {
  const app = h.app('it-housekeeping-dlq');
  const keys = new AppKeys(app);
  const queue = new Queue(DEAD_LETTER_QUEUE, { connection: h.redis, prefix: keys.bullPrefix });
  const connection = h.redis.duplicate();
  const worker = new Worker(DEAD_LETTER_QUEUE, async (job) => {
    if (job.data.fails) throw new UnrecoverableError('still bad');
    return { replayedAt: new Date().toISOString() };
  }, { connection, prefix: keys.bullPrefix, autorun: true });
  try {
    await queue.add('replayed', { payload: 'c2VjcmV0', fails: false });
    await queue.add('undelivered', { payload: 'c2VjcmV0', fails: true });
    await waitFor(async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return counts.completed === 1 && counts.failed === 1;
    }, 10_000, 'one letter replayed, one failed again');
    // Within the retention, nothing goes.
    expect(await dropReplayedLetters(queue, 60_000)).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(await dropReplayedLetters(queue, 10)).toBe(1);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 1 });
    expect(REPLAYED_RETENTION_SECONDS).toBe(7 * 24 * 3600);
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
  }
});
