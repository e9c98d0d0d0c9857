/**
 * Redis behind Sentinel (`redis+sentinel://`): a primary, a replica and three Sentinels, real
 * redis-server processes on free ports; a coordinator and two workers copy records on the bench
 * endpoint; the primary fails over mid-stream (SENTINEL FAILOVER, or the primary killed). Nothing is lost, no two workers
 * write one shard's records at once, and the flow resumes within the lease timeout plus the failover.
 */
import type { Redis } from 'ioredis';
import { readAll } from '../support/kinesis';
import { compareDelivery, settledOutput } from '../support/delivery';
import { FaultEndpoint } from '../support/fault-endpoint';
import { ClusterHarness } from '../support/harness';
import { localProperties, writeProperties } from '../support/properties';
import { type CliProcess } from '../support/cli';
import { clientsOn, command, startSentinelGroup, type SentinelGroup } from '../support/ha-redis';
import { overlappingSpans, writeSpans } from '../support/ownership';
import { PATIENCE, patient, uniqueName, waitFor } from '../support/wait';
import { AppKeys } from '../../shared/redis/keys';
import type { WorkerStatus } from '../../worker/status-reporter';
import { testNeeding } from '../support/programs';

const LEASE_TIMEOUT_MS = 4000; // localProperties' lease.timeout
const SHARDS = 4;

let ep: FaultEndpoint;
let group: SentinelGroup | undefined;
let redis: Redis | undefined;
const h = new ClusterHarness();

beforeAll(async () => {
  ep = await FaultEndpoint.start({ logWritten: true });
  h.client = ep.client;
});
afterEach(async () => {
  await h.stopAll();
  redis?.disconnect();
  await group?.stop();
});
afterAll(async () => {
  await ep?.stop();
});

function assertUp(processes: CliProcess[]): void {
  for (const p of processes) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`shardflow ${p.child.spawnargs.slice(2, 3).join(' ')} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-4000)}`);
  }
}

/** [k1, v1, k2, v2, ...] as [[k1, v1], [k2, v2], ...]. */
function chunk(flat: string[]): Array<[string, string]> {
  return Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
}

function logLines(p: CliProcess, msg: string): Array<{ time: number; shardId?: string }> {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(msg))
    .map((l) => JSON.parse(l) as { time: number; shardId?: string; msg: string })
    .filter((l) => l.msg === msg);
}

const sentinelTest = testNeeding('redis-server');

sentinelTest.each(['command', 'kill'] as const)('the primary fails over mid-stream (%s): no record lost, no split brain, flow back within the lease timeout plus the failover', async (how) => {
  group = await startSentinelGroup('shardflow-primary', 3);
  redis = group.client();
  redis.on('error', () => undefined);
  const app = h.app('it-sentinel');
  const keys = new AppKeys(app);
  const inName = uniqueName('in');
  const outName = uniqueName('out');
  const inArn = await ep.createStream(inName, SHARDS);
  const outArn = await ep.createStream(outName, 2);
  const properties = writeProperties(localProperties(ep.endpoint, inArn, outArn, { InputStream0: { 'source.reader.type': 'POLLING' } }));
  const coordinator = h.start('coordinator', properties, app, { AWS_SDK_UA_APP_ID: 'shardflow-coordinator' }, group.url);
  const workers = [1, 2].map((i) => h.start('worker', properties, app, { AWS_SDK_UA_APP_ID: `shardflow-worker-${i}` }, group!.url));
  const all = [coordinator, ...workers];
  const statuses = async () => Object.values(await redis!.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
  await waitFor(async () => (await statuses()).filter((s) => s.leases.length === SHARDS / 2).length === 2, 30_000, 'four leases over two workers', 200, () => assertUp(all));

  const producer = h.producer(inArn, { perSecond: 300, keys: 16, prefix: app });
  await waitFor(async () => producer.produced.length >= 600 && (await redis!.hlen(keys.stream(inArn).checkpoints)) === SHARDS, 30_000, '600 records produced and every shard checkpointed', 200, () => assertUp(all));

  const failoverAt = Date.now();
  const { from, to } = await group.failover(how, 20_000);
  const failoverMs = Date.now() - failoverAt;
  // SENTINEL FAILOVER leaves the old primary a primary until a Sentinel's next INFO round (about 10 s)
  // demotes it: a client that waits for that keeps writing into it, and those writes are lost at the
  // demotion. Every shardflow connection must leave it long before (ioredis' failover detector): within
  // the lease timeout, not scaled by TEST_PATIENCE (3 × 4 s would reach the demotion and prove nothing).
  const oldPrimaryLeft = how === 'command' ? await waitFor(async () => ((await clientsOn(from)) === 0 ? Date.now() - failoverAt - failoverMs : undefined), LEASE_TIMEOUT_MS / PATIENCE, `every connection off the old primary (port ${from})`, 50) : undefined;
  // Flow is back when every shard's checkpoint, read on the new primary itself, has moved past where it stood once that primary took writes.
  const checkpointsOnPrimary = async () => Object.fromEntries(chunk((await command(to, 'HGETALL', keys.stream(inArn).checkpoints)) as string[]));
  const after = await checkpointsOnPrimary();
  const resumed = await waitFor(
    async () => {
      const now = await checkpointsOnPrimary();
      return Object.keys(now).length === SHARDS && Object.keys(now).every((shard) => now[shard] !== after[shard]) ? Date.now() : undefined;
    },
    30_000,
    'every shard checkpointed again on the new primary',
    100,
    () => assertUp(all),
  );
  const produced = producer.produced.length;
  await waitFor(() => producer.produced.length >= produced + 600, 30_000, '600 more records produced', 200, () => assertUp(all));
  await producer.stop();

  const input = await readAll(ep.client, inArn);
  const output = await settledOutput(ep.client, outArn, input, () => assertUp(all));
  const result = compareDelivery(input, output);
  expect(result.missing).toEqual([]);

  // No split brain: per input shard, the spans in which each worker wrote its records never overlap.
  const writerOf = (ua: string) => /shardflow-worker-\d+/.exec(ua)?.[0] ?? ua;
  const taken = (writer: string, shardId: string) => logLines(workers[Number(writer.split('-').pop()) - 1]!, 'lease taken').filter((l) => l.shardId === shardId).map((l) => l.time);
  const spans = writeSpans(input, output, await ep.puts(outName), writerOf, taken);
  expect(spans.reduce((n, s) => n + s.writes, 0)).toBe(output.length);
  expect(overlappingSpans(spans)).toEqual([]);

  const resumeMs = resumed - failoverAt;
  console.log(
    JSON.stringify({
      row: `sentinel failover mid-stream (${how})`,
      primary: { from, to },
      records: result.inputCount,
      duplicates: result.duplicates,
      failoverMs,
      connectionsOffOldPrimaryAfterMs: oldPrimaryLeft,
      checkpointsAgainAfterMs: resumeMs,
      leaseLost: workers.map((w) => logLines(w, 'lease lost: stopped reading and writing the shard; its new owner resumes from the checkpoint').length),
      leaseTaken: workers.map((w) => logLines(w, 'lease taken').length),
      spans: spans.length,
    }),
  );
  // A deadline, scaled like every wait here (a busy machine slows the processes, it must not fail the test).
  expect(resumeMs).toBeLessThanOrEqual(patient(failoverMs + LEASE_TIMEOUT_MS));
  assertUp(all);
  const codes = await h.stopAll();
  // On a failure, the processes' last lines say why one did not stop cleanly.
  if (codes.some((code) => code !== 0)) throw new Error(`exit codes ${JSON.stringify(codes)}:\n${all.map((p) => p.output().slice(-4000)).join('\n----\n')}`);
});

sentinelTest('a failover to a replica that lacks the state: the processes stop with exit code 3 and leave the tombstone on the new primary', async () => {
  group = await startSentinelGroup('shardflow-primary', 3);
  redis = group.client();
  redis.on('error', () => undefined);
  const app = h.app('it-sentinel-empty');
  const keys = new AppKeys(app);
  const inArn = await ep.createStream(uniqueName('in'), 2);
  const outArn = await ep.createStream(uniqueName('out'), 1);
  const properties = writeProperties(localProperties(ep.endpoint, inArn, outArn, { InputStream0: { 'source.reader.type': 'POLLING' } }));
  const coordinator = h.start('coordinator', properties, app, {}, group.url);
  const worker = h.start('worker', properties, app, {}, group.url);
  await waitFor(async () => (await redis!.hlen(keys.workerStatus)) === 1 && (await redis!.exists(keys.state)) === 1, 30_000, 'the worker running and the state marker written', 200, () => assertUp([coordinator, worker]));

  // The replica loses the app's keys, as one that restarted without persistence and was promoted before
  // it resynced; it stays a replica the Sentinels can promote (and still takes the writes that follow).
  const primary = await group.primaryPort();
  const replica = group.nodes.find((port) => port !== primary)!;
  await command(replica, 'CONFIG', 'SET', 'replica-read-only', 'no');
  await command(replica, 'FLUSHALL');
  const { to } = await group.failover('kill', 20_000);
  expect(to).toBe(replica);

  // Each process checks the marker about once a second; a deadline with both logs, so a process that
  // never notices fails here with what it was doing instead of at the test's timeout.
  let c: Awaited<CliProcess['exited']> | undefined;
  let w: Awaited<CliProcess['exited']> | undefined;
  void coordinator.exited.then((e) => (c = e));
  void worker.exited.then((e) => (w = e));
  await waitFor(
    () => (c && w ? true : undefined),
    60_000,
    () => `both processes to exit after the failover (coordinator ${c ? `exited ${c.code}` : 'running'}, worker ${w ? `exited ${w.code}` : 'running'})\n--- coordinator:\n${coordinator.output().slice(-3000)}\n--- worker:\n${worker.output().slice(-3000)}`,
    100,
  );
  expect([c!.code, w!.code]).toEqual([3, 3]);
  // The first to notice finds the marker gone and writes the tombstone; the other may find either.
  for (const p of [coordinator, worker]) expect(p.output()).toContain('Redis lost the state of application');
  expect(coordinator.output() + worker.output()).toMatch(/its marker key shardflow:it-sentinel-empty-[^ ]+:state is gone/);
  expect(JSON.parse(String(await command(to, 'GET', keys.stateLost)))).toMatchObject({ by: expect.stringMatching(/worker|coordinator/) });
  expect(await command(to, 'EXISTS', keys.state)).toBe(0);
});
