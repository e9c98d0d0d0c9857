/**
 * Output-side failures and trimmed input shards against real processes (issue #12's failure table):
 * the bench endpoint deletes and re-creates the output stream, refuses PutRecords with AccessDenied,
 * and expires input shards; a real coordinator and workers run over a real Redis.
 *
 * Output failures that no retry fixes never drop or dead-letter a record: the worker stops reading,
 * reports unready at once, logs once (not per retry), counts them, stops within its lease timeout when
 * asked, and resumes by itself when the output is back; with sink.fail-on-error it exits 1 instead.
 */
import { readAll, type ReadRecord } from '../support/kinesis';
import { compareDelivery } from '../support/delivery';
import { assertUp, metric, opsUrl, readiness, useFaultPipelines, WORKER_UA, type Pipeline } from '../support/fault-pipeline';
import { localProperties, writeProperties } from '../support/properties';
import { stopCli, waitForLog, type CliProcess } from '../support/cli';
import { patient, waitFor } from '../support/wait';
import { ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Queue } from 'bullmq';
import { AppKeys, LEASE_QUEUE } from '../../shared/redis/keys';

const LEASE_TIMEOUT_MS = 4000;
const FAILING = 'shardflow_sink_output_failing';
const READ = 'shardflow_records_read_total';
const DEAD_LETTERED = 'shardflow_records_dead_lettered_total';
const TRIMMED = 'shardflow_shards_trimmed_total';

const f = useFaultPipelines();

const lines = (p: CliProcess, text: string) => p.output().split('\n').filter((l) => l.includes(text)).length;

/** Waits until every id of `input` is in `output` (read again each time). */
async function allIn(p: Pipeline, input: () => Promise<ReadRecord[]>, alive: CliProcess[]): Promise<ReadRecord[]> {
  return waitFor(
    async () => {
      const [inRecords, out] = [await input(), await readAll(f.ep.client, p.outArn)];
      return compareDelivery(inRecords, out).missing.length === 0 ? out : undefined;
    },
    60_000,
    'every input record in the output',
    1000,
    () => assertUp(alive),
  );
}

/** Waits until the output is failing: unready with the reason, the gauge at 1; returns how long it took from `since`. */
async function untilFailing(url: string, since: number): Promise<number> {
  await waitFor(async () => !(await readiness(url)).checks['output-writes'].ok, 20_000, 'the worker to report the output unready', 100);
  const took = Date.now() - since;
  expect(await metric(url, FAILING)).toBe(1);
  return took;
}

test('output stream deleted, then re-created: reads stop, unready at once, one log line, nothing dead-lettered or lost, flow resumes by itself', async () => {
  const p = await f.pipeline('it-out-deleted', { workers: 1, shards: 2 });
  const worker = p.workers[0];
  const url = await opsUrl(worker);
  // Everything of a first phase reaches the output before it is deleted, so the old output is complete.
  const first = f.h.producer(p.inArn, { perSecond: 200, keys: 8, prefix: `${p.app}-a` });
  await waitFor(() => first.produced.length >= 200, 20_000, '200 records produced');
  await first.stop();
  const before = await allIn(p, () => readAll(f.ep.client, p.inArn), [worker]);

  const deletedAt = Date.now();
  await f.ep.deleteStream(p.outName);
  const second = f.h.producer(p.inArn, { perSecond: 200, keys: 8, prefix: `${p.app}-b` });
  const took = await untilFailing(url, deletedAt);
  process.stdout.write(`measured: unready ${took} ms after the output stream was deleted (records arrive every 5 ms, linger 100 ms)\n`);
  expect((await readiness(url)).status).toBe(503);
  expect((await readiness(url)).checks['output-writes'].detail).toMatch(/ResourceNotFoundException/);
  // No new reads while the output fails: the read counter stands still (one batch may be in hand).
  const read = await metric(url, READ);
  await waitFor(() => second.produced.length >= 600, 20_000, 'the producer to go on for a while');
  expect(await metric(url, READ)).toBeLessThanOrEqual(read + 500);
  await second.stop();

  await f.ep.createStream(p.outName, 2);
  await waitForLog(worker, 'output stream writable again', 30_000);
  const input = await readAll(f.ep.client, p.inArn);
  const after = await allIn(p, async () => input.filter((r) => String((JSON.parse(Buffer.from(r.data).toString()) as { id: string }).id).startsWith(`${p.app}-b`)), [worker]);
  const delivery = compareDelivery(input, [...before, ...after]);
  expect(delivery.missing).toEqual([]);
  expect(delivery.duplicates).toBe(0);
  expect(await metric(url, FAILING)).toBe(0);
  expect(await metric(url, DEAD_LETTERED)).toBe(0);
  await waitFor(async () => (await readiness(url)).status === 200, 20_000, 'ready again');
  // Logged once when it began (and once a minute after), not per retry.
  expect(lines(worker, 'output stream not writable')).toBe(1);
  assertUp([p.coordinator, worker]);
  expect(await f.h.stopAll()).toEqual([0, 0]);
});

test('AccessDenied on PutRecords: a graceful stop finishes within the lease timeout leaving unsent records to the next owner; sink.fail-on-error exits 1; restored access delivers everything', async () => {
  const p = await f.pipeline('it-out-denied', { workers: 1, shards: 2 });
  const [first] = p.workers;
  const url = await opsUrl(first);
  await f.ep.chaos([{ operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, error: 'AccessDeniedException', message: 'User is not authorized to perform: kinesis:PutRecords' }]);
  const producer = f.h.producer(p.inArn, { perSecond: 200, keys: 8, prefix: p.app });
  await untilFailing(url, Date.now());
  expect(await metric(url, 'shardflow_sink_fatal_errors_total')).toBeGreaterThanOrEqual(1);

  // Stop while the output fails: bounded by the hand-over time, never a hang.
  const stoppingAt = Date.now();
  expect(await stopCli(first)).toBe(0);
  const stopMs = Date.now() - stoppingAt;
  process.stdout.write(`measured: graceful stop took ${stopMs} ms while the output refused every write (lease.timeout ${LEASE_TIMEOUT_MS} ms)\n`);
  expect(stopMs).toBeLessThan(patient(LEASE_TIMEOUT_MS));
  expect(first.output()).toContain('handing the lease over with records not yet acknowledged by the output');

  // Flink's choice: fail instead of waiting.
  const failFast = writeProperties(localProperties(f.ep.endpoint, p.inArn, p.outArn, { InputStream0: { 'source.reader.type': 'POLLING' }, OutputStream0: { 'sink.fail-on-error': 'true' } }));
  const strict = f.h.start('worker', failFast, p.app, { AWS_SDK_UA_APP_ID: 'shardflow-worker-2' });
  const { code } = await waitFor(async () => (strict.child.exitCode === null ? undefined : { code: strict.child.exitCode }), 30_000, 'the sink.fail-on-error worker to exit');
  expect(code).toBe(1);
  expect(strict.output()).toContain('sink.fail-on-error is true in OutputStream0 and its output stream failed for good');

  await f.ep.clearChaos();
  const restored = f.h.start('worker', p.properties, p.app, { AWS_SDK_UA_APP_ID: 'shardflow-worker-3' });
  await producer.stop();
  const input = await readAll(f.ep.client, p.inArn);
  const output = await allIn(p, async () => input, [p.coordinator, restored]);
  const delivery = compareDelivery(input, output);
  expect(delivery.missing).toEqual([]);
  // Nothing reached the output while access was denied, so nothing can come twice.
  expect(delivery.duplicates).toBe(0);
  // Newest first: the restored worker, the fail-on-error one (exited 1), the stopped one, the coordinator.
  expect(await f.h.stopAll()).toEqual([0, 1, 0, 0]);
});

test('input shards trimmed past retention: a held one is finished by its worker, an unheld one is removed by the coordinator, both loudly; the rest flows', async () => {
  const p = await f.pipeline('it-trimmed', { workers: 1, shards: 3, overrides: { Cluster: { 'worker.max-leases': '1' } }, settle: false });
  const [worker] = p.workers;
  const keys = new AppKeys(p.app);
  const held = async () => (Object.values(await f.h.redis.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ shardId: string }> })[0]?.leases ?? []).map((l) => l.shardId);
  const first = await waitFor(async () => (await held())[0], 30_000, 'a lease taken');
  const listed = (await f.ep.client.send(new ListShardsCommand({ StreamARN: p.inArn }))).Shards!;
  const [waiting, other] = listed.map((s) => s.ShardId!).filter((s) => s !== first);
  const otherRange = listed.find((s) => s.ShardId === other)!.HashKeyRange!;

  // An unheld shard disappears: the coordinator removes its lease job.
  await f.ep.expireShard(p.inName, waiting);
  await waitForLog(p.coordinator, 'shard no longer listed', 20_000);
  const coordinatorUrl = await opsUrl(p.coordinator);
  expect(await metric(coordinatorUrl, TRIMMED)).toBe(1);

  // The held shard disappears: its worker finishes it and moves on to the last one.
  const url = await opsUrl(worker);
  await f.ep.expireShard(p.inName, first);
  await waitForLog(worker, 'shard no longer exists', 20_000);
  expect(await metric(url, TRIMMED)).toBe(1);
  await waitFor(async () => (await held()).join() === other, 30_000, `the last shard ${other} leased`);
  // The fair share counts lease jobs of live shards only: one is left.
  // The harness's connection, shared: a Queue never closes a connection it was given, so a duplicate made
  // here stayed open and kept the test process alive after its last test.
  const queue = new Queue(LEASE_QUEUE, { connection: f.h.redis, prefix: keys.bullPrefix });
  try {
    await waitFor(async () => Object.values(await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0) === 1, 20_000, 'only the live shard to have a lease job');
  } finally {
    await queue.close();
  }

  // Records of the live shard flow (a put into a trimmed shard's range would fail: their hash keys pick the live one).
  const records = Array.from({ length: 200 }, (_, n) => ({
    PartitionKey: `key-${n % 8}`,
    ExplicitHashKey: otherRange.StartingHashKey,
    Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'MSFT', price: n % 100, id: `${p.app}-${n}`, key: `key-${n % 8}` })),
  }));
  const put = await f.ep.client.send(new PutRecordsCommand({ StreamARN: p.inArn, Records: records }));
  expect(put.FailedRecordCount ?? 0).toBe(0);
  const input = await readAll(f.ep.client, p.inArn);
  const output = await allIn(p, async () => input, [p.coordinator, worker]);
  expect(compareDelivery(input, output).missing).toEqual([]);
  assertUp([p.coordinator, worker]);
  expect(await f.h.stopAll()).toEqual([0, 0]);
});
