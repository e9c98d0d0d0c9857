/**
 * Kinesis faults against real processes (issue #12's failure table, the rows whose behaviour exists):
 * the benchmark's in-memory Kinesis scripts the faults (bench/memory-kinesis/server.ts), a real
 * coordinator and workers (POLLING reader) copy an input stream to an output stream over a real Redis,
 * and a producer writes records with unique ids so delivery is checked per id.
 *
 * The workers run with AWS_SDK_UA_APP_ID=shardflow-worker-N, so the fault rules pick the workers' own
 * requests by user agent and never the test's producer or its reads. Every row asserts that no record
 * is lost and that the processes stay up; each states its bound on duplicates.
 */
import { readAll, type ReadRecord } from '../support/kinesis';
import { compareDelivery, type Delivery } from '../support/delivery';
import { FaultEndpoint } from '../support/fault-endpoint';
import { ClusterHarness } from '../support/harness';
import { localProperties, writeProperties } from '../support/properties';
import { waitForLog, type CliProcess } from '../support/cli';
import { dropApp, testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys } from '../../shared/redis/keys';

const WORKER_UA = 'app/shardflow-worker';
const RETRIED = 'shardflow_put_records_retried_records_total';

let ep: FaultEndpoint;
const h = new ClusterHarness();

beforeAll(async () => {
  // Subscriptions of 5 s, so EFO readers subscribe again (and meet the subscription faults) within seconds.
  ep = await FaultEndpoint.start({ subscriptionMs: 5000 });
  // The harness without its kinesis-local: its processes, producers and apps, on this endpoint.
  h.client = ep.client;
  h.redis = testRedis();
});
afterEach(async () => {
  await h.stopAll();
  await ep.clearChaos();
});
afterAll(async () => {
  for (const app of appsUsed) await dropApp(h.redis, app);
  h.redis?.disconnect();
  await ep?.stop();
});

const appsUsed: string[] = [];

interface Pipeline {
  app: string;
  inName: string;
  outName: string;
  inArn: string;
  outArn: string;
  coordinator: CliProcess;
  workers: CliProcess[];
}

/** Streams, a coordinator and `workers` workers, each with its own app id in the SDK's user agent, all leases taken. */
async function pipeline(prefix: string, workers: number, reader: 'POLLING' | 'EFO' = 'POLLING', shards = 4): Promise<Pipeline> {
  const app = h.app(prefix);
  appsUsed.push(app);
  const inName = uniqueName('in');
  const outName = uniqueName('out');
  const inArn = await ep.createStream(inName, shards);
  const outArn = await ep.createStream(outName, 2);
  const input: Record<string, string> = reader === 'EFO' ? { 'source.reader.type': 'EFO', 'source.efo.consumer.name': `consumer-${app}` } : { 'source.reader.type': 'POLLING' };
  const properties = writeProperties(localProperties(ep.endpoint, inArn, outArn, { InputStream0: input }));
  const coordinator = h.start('coordinator', properties, app, { AWS_SDK_UA_APP_ID: 'shardflow-coordinator' });
  const started = Array.from({ length: workers }, (_, i) => h.start('worker', properties, app, { AWS_SDK_UA_APP_ID: `shardflow-worker-${i + 1}` }));
  // Leases settle before any record flows, so a rebalance hand-off is not part of what a row measures.
  await waitFor(
    async () => {
      const statuses = Object.values(await h.redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as { leases: unknown[] });
      return statuses.length === workers && statuses.reduce((n, s) => n + s.leases.length, 0) === shards && statuses.every((s) => s.leases.length === shards / workers);
    },
    30_000,
    `${shards} leases spread over ${workers} worker(s)`,
    200,
    () => assertUp([coordinator, ...started]),
  );
  return { app, inName, outName, inArn, outArn, coordinator, workers: started };
}

function assertUp(processes: CliProcess[]): void {
  for (const p of processes) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`shardflow ${p.child.spawnargs.slice(2, 3).join(' ')} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-4000)}`);
  }
}

/** Waits for every rule to be spent (each has `times`). */
async function rulesSpent(p: Pipeline): Promise<void> {
  let state: unknown;
  await waitFor(
    async () => {
      const rules = await ep.chaosState();
      state = rules;
      return rules.every((s) => s.fired >= (s.rule.times ?? 1));
    },
    40_000,
    () => `every fault rule to fire: ${JSON.stringify(state)}`,
    200,
    () => assertUp([p.coordinator, ...p.workers]),
  );
}

/**
 * Once the producer has stopped: waits until every input id is in the output and the output has stopped
 * growing (two reads a second apart see the same count, so late duplicates are counted too).
 */
async function delivery(p: Pipeline): Promise<{ result: Delivery; output: ReadRecord[] }> {
  const input = await readAll(ep.client, p.inArn);
  let last = -1;
  const output = await waitFor(
    async () => {
      const out = await readAll(ep.client, p.outArn);
      const settled = out.length === last && compareDelivery(input, out).missing.length === 0;
      last = out.length;
      return settled ? out : undefined;
    },
    60_000,
    () => `every input record in the output (input ${input.length}, output ${last})`,
    1000,
    () => assertUp([p.coordinator, ...p.workers]),
  );
  return { result: compareDelivery(input, output), output };
}

/** The worker's metrics endpoint, from its start-up log line. */
async function metricsUrl(p: CliProcess): Promise<string> {
  await waitForLog(p, 'operations endpoint listening');
  const line = p.output().split('\n').find((l) => l.includes('operations endpoint listening'))!;
  return (JSON.parse(line) as { metrics: string }).metrics;
}

/** Sum of a metric's samples. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** Runs the producer until the rules are spent and at least `minimum` records are acknowledged. */
async function produceThrough(p: Pipeline, minimum: number): Promise<number> {
  const producer = h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
  await rulesSpent(p);
  await waitFor(() => producer.produced.length >= minimum, 30_000, `${minimum} records produced`);
  return (await producer.stop()).length;
}

describe('Kinesis faults, POLLING reader', () => {
  test('per-record InternalFailure on PutRecords: every record delivered, refused ones re-sent once, the retried metric moves', async () => {
    const p = await pipeline('it-fault-refuse', 1);
    const url = await metricsUrl(p.workers[0]);
    const retriedBefore = await metric(url, RETRIED);
    // The output's next five PutRecords requests: two refused whole, three with their first entries refused.
    const refusals = [
      { records: [{ index: '*' as const, code: 'InternalFailure' as const }] },
      { records: [{ index: 0, code: 'InternalFailure' as const }] },
      { records: [{ index: '*' as const, code: 'InternalFailure' as const }] },
      { records: [{ index: 0, code: 'InternalFailure' as const }, { index: 1, code: 'InternalFailure' as const }] },
      { records: [{ index: 2, code: 'InternalFailure' as const }] },
    ];
    await ep.refuseRecords(p.outName, refusals);
    const producer = h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(async () => ((await (await fetch(`${ep.endpoint}/_bench/stats?stream=${p.outName}`)).json()) as { faultsPending: number }).faultsPending === 0, 30_000, 'the five scripted requests to be taken');
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await delivery(p);
    expect(result.missing).toEqual([]);
    // A refused entry is not written, so its one re-send is its only copy: no duplicates at all.
    expect(result.duplicates).toBe(0);
    const puts = await ep.puts(p.outName);
    const refused = puts.reduce((n, e) => n + (e.records - e.accepted), 0);
    expect(refused).toBeGreaterThanOrEqual(4);
    expect(puts.every((e) => e.userAgent.includes(WORKER_UA))).toBe(true);
    expect((await metric(url, RETRIED)) - retriedBefore).toBe(refused);
    assertUp([p.coordinator, ...p.workers]);
    expect(await h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });

  test('ExpiredIteratorException on GetRecords: a new iterator after the last record, nothing lost or repeated, logged', async () => {
    const p = await pipeline('it-fault-expired', 1);
    // Records already flowing, so the expiries hit readers mid-shard, after a last sequence number.
    const producer = h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(() => producer.produced.length >= 300, 20_000, '300 records produced');
    await ep.chaos([
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, error: 'ExpiredIteratorException', message: 'Iterator expired. The iterator was created at time 0 while right now it is 300001 ms later.', times: 6 },
    ]);
    await rulesSpent(p);
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await delivery(p);
    expect(result.missing).toEqual([]);
    // The new iterator starts AFTER the last record read, so nothing is read twice.
    expect(result.duplicates).toBe(0);
    await waitForLog(p.workers[0], 'shard iterator expired');
    assertUp([p.coordinator, ...p.workers]);
    expect(await h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });

  test('connection resets and 2 s answers on GetRecords and PutRecords: nothing lost, duplicates only from writes whose answer was reset, processes up', async () => {
    const p = await pipeline('it-fault-network', 2);
    await ep.chaos([
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, reset: true, times: 3 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: true, times: 2 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: 'after', times: 2 },
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, delayMs: 2000, times: 3 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, delayMs: 2000, times: 2 },
    ]);
    await produceThrough(p, 1500);

    const { result } = await delivery(p);
    expect(result.missing).toEqual([]);
    // Bound: a write that landed but whose answer was reset is re-sent whole, so at most its records come
    // twice; a reset before the write and a slow answer add nothing.
    const puts = await ep.puts(p.outName);
    const landedUnanswered = puts.filter((e) => e.fault === 'reset-after').reduce((n, e) => n + e.accepted, 0);
    expect(puts.filter((e) => e.fault === 'reset-after')).toHaveLength(2);
    expect(result.duplicates).toBeLessThanOrEqual(landedUnanswered);
    // Both workers wrote (each has its own app id in the user agent).
    expect(new Set(puts.map((e) => /app\/(\S+)/.exec(e.userAgent)?.[1]))).toEqual(new Set(['shardflow-worker-1', 'shardflow-worker-2']));
    assertUp([p.coordinator, ...p.workers]);
    expect(await h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });
});

describe('Kinesis faults, EFO reader', () => {
  test('subscriptions reset before and during streaming and 2 s slow to start: nothing lost, duplicates only from writes whose answer was reset', async () => {
    const p = await pipeline('it-fault-efo', 1, 'EFO');
    const producer = h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(() => producer.produced.length >= 300, 20_000, '300 records produced');
    await ep.chaos([
      // 'after' starts the subscription and breaks it mid-stream; true refuses the connection outright.
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, reset: 'after', times: 2 },
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, reset: true, times: 1 },
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, delayMs: 2000, times: 2 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: 'after', times: 1 },
    ]);
    await rulesSpent(p);
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await delivery(p);
    expect(result.missing).toEqual([]);
    // Bound: the records of the one write whose answer was reset; a re-subscription resumes after the last record received.
    const puts = await ep.puts(p.outName);
    expect(result.duplicates).toBeLessThanOrEqual(puts.filter((e) => e.fault === 'reset-after').reduce((n, e) => n + e.accepted, 0));
    assertUp([p.coordinator, ...p.workers]);
    expect(await h.stopAll()).toEqual([0, 0]);
  });
});
