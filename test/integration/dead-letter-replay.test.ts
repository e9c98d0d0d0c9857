/**
 * Dead-letter replay: poison records are parked, the cause is fixed (here: the serialization type),
 * and a replay delivers each of them to the output exactly once; a replay that fails again keeps the
 * letter in the queue with its new reason. Both the CLI (`shardflow dlq replay`) and the dashboard's
 * retry (the replayer inside the coordinator) are covered.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { createStream, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties, type Groups } from '../support/properties';
import { runCli, waitForLog } from '../support/cli';
import { REDIS_URL } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { freePort } from '../../cli/local/free-port';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';

const h = useClusterHarness();

async function poisoned(poison: string[]) {
  const app = h.app('it-replay');
  const inputArn = await createStream(h.client, uniqueName('rin'), 2);
  const outputArn = await createStream(h.client, uniqueName('rout'), 1);
  const base = localProperties(h.kinesis.endpoint, inputArn, outputArn);
  const good = Array.from({ length: 10 }, (_, i) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'AAPL', price: i })) }));
  const bad = poison.map((text) => ({ PartitionKey: randomUUID(), Data: Buffer.from(text) }));
  const worker = h.start('worker', writeProperties(base), app);
  const coordinator = h.start('coordinator', writeProperties(base), app);
  await waitForLog(worker, 'worker running');
  await putAll(h.client, inputArn, [...good, ...bad]);
  const queue = new Queue(DEAD_LETTER_QUEUE, { connection: h.redis, prefix: new AppKeys(app).bullPrefix });
  await waitFor(async () => (await queue.getJobCounts('failed')).failed === bad.length || undefined, 30_000, `${bad.length} parked dead letters`);
  await waitFor(async () => (await readAll(h.client, outputArn)).length === good.length || undefined, 30_000, 'the good records in the output');
  return { app, outputArn, base, queue, coordinator };
}

const withType = (base: Groups, type: string): string => writeProperties({ ...base, SerializationType: { type } });

test('shardflow dlq replay: a letter that fails again stays with its new reason; after the fix each arrives exactly once', async () => {
  const poison = ['not json 1', 'not json 2', 'not json 3'];
  const { app, outputArn, base, queue } = await poisoned(poison);
  await h.stopAll();

  // Cause not fixed yet: every letter fails again and stays, with the replay's reason.
  const again = await runCli(['dlq', 'replay', '--properties', withType(base, 'JSON'), '--redis', REDIS_URL, '--app', app, '--timeout', '30']);
  expect(again.code).toBe(1);
  expect(again.output).toContain('3 failed again');
  const failed = await queue.getJobs(['failed']);
  expect(failed).toHaveLength(3);
  for (const job of failed) expect(job.failedReason).toMatch(/^replay failed: not valid JSON/);

  // Fixed (the bytes are passed through): all three reach the output once, and the queue is empty.
  const fixed = await runCli(['dlq', 'replay', '--properties', withType(base, 'STRING'), '--redis', REDIS_URL, '--app', app, '--timeout', '30']);
  expect(fixed.output).toContain('3 reached the output stream, 0 failed again');
  expect(fixed.code).toBe(0);
  const output = (await readAll(h.client, outputArn)).map((r) => r.data.toString());
  for (const text of poison) expect(output.filter((t) => t === text)).toHaveLength(1);
  expect((await queue.getJobCounts('failed', 'waiting', 'active', 'delayed')).failed).toBe(0);
  const list = await runCli(['dlq', 'list', '--properties', withType(base, 'STRING'), '--redis', REDIS_URL, '--app', app]);
  expect(list.output).toContain('0 dead letter(s)');
  await queue.close();
});

test('retrying a dead letter in the dashboard replays it through the coordinator\'s replayer', async () => {
  const { app, outputArn, base, queue } = await poisoned(['plain text letter']);
  await h.stopAll();
  // The coordinator now runs with the fix; the operator presses "retry" in Bull Board.
  const port = await freePort();
  const coordinator = h.start('coordinator', writeProperties({ ...base, SerializationType: { type: 'STRING' }, Dashboard: { port: String(port) } }), app);
  await waitForLog(coordinator, 'dashboard listening');
  // Retry one letter (the dashboard's only replay: "retry all" is `shardflow dlq replay`, and is refused there).
  const [letter] = await queue.getJobs(['failed']);
  const res = await fetch(`http://127.0.0.1:${port}/api/queues/${DEAD_LETTER_QUEUE}/${encodeURIComponent(letter.id!)}/retry`, { method: 'PUT' });
  expect(res.status).toBe(204);
  await waitFor(async () => (await readAll(h.client, outputArn)).some((r) => r.data.toString() === 'plain text letter') || undefined, 30_000, 'the replayed letter in the output');
  await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1 || undefined, 10_000, 'the letter completed');
  expect((await queue.getJobCounts('failed')).failed).toBe(0);
  await queue.close();
});
