/**
 * How the cluster's costs grow with the shard count (issue #14, part 1): the in-memory Kinesis
 * endpoint, a private `redis-server` on a free port (so `INFO commandstats` counts only this run, not
 * the shared Redis's other users), one coordinator serving the dashboard and W real worker processes,
 * with low traffic: shards/20 records per second over 4 × shards partition keys, about one record per
 * shard every 20 s, so almost every GetRecords call finds nothing, as on a big, quiet stream. Per size:
 *
 * - balanced: seconds from the last worker's spawn (process start-up included) until every shard is
 *   held by exactly one live worker and no worker holds more than one lease above another; also from
 *   the last "worker started" log line (the balancing alone; target: within 15 s, whatever the load),
 *   with the host's 1-minute load average when the last worker started and when it was balanced, since
 *   on a shared machine the figure depends on it;
 * - join: 25 % more workers start; seconds until balanced over all of them;
 * - kill -9: 25 % of the workers are killed; seconds until the survivors hold every shard, balanced
 *   (this includes the lease timeout, 10 s by default: a killed worker's locks must expire first);
 * - over a steady window after the balance, with the traffic stopped (idle leases): Redis commands per lease per second (the
 *   `INFO commandstats` calls before and after, every command a Lua script runs included), Redis
 *   memory per lease (used_memory over that of the empty server), the coordinator's CPU per discovery
 *   round (its CPU over the window, per `source.shard.discovery.interval`) and the workers' CPU per
 *   held lease (% of one core);
 * - the dashboard: the median of five GETs of Bull Board's lease-queue API (counts and the first page
 *   of active jobs, what the lease page loads).
 *
 * Who holds what is read from the workers' status hash in Redis (refreshed every second), which only
 * counts workers that published within 2.5 s, so a killed worker drops out on its own; the balancing
 * traces also count the lease jobs waiting in the store (held by nobody) and the load average.
 *
 * Quick mode runs one small size (64 shards, 2 workers) for CI; the full run 128/4, 512/16 and 2,048/32.
 * `SHARDFLOW_BENCH_SCALE=512x16,2048x32` picks other sizes (shards x workers), and
 * `SHARDFLOW_BENCH_SCALE_PROPS=key=value,…` adds input properties (to compare a setting within one run).
 * `SHARDFLOW_BENCH_SCALE_REPEAT=n` runs each size n times; `SHARDFLOW_BENCH_SCALE_START_ONLY=1` measures the
 * first balancing only (no window, join or kill: for repeated A/B runs of the balancing);
 * `SHARDFLOW_BENCH_SCALE_STAGGER_MS=500` spawns the first workers that far apart (a rolling start: by default
 * they are spawned together and come up within a few seconds of each other), and
 * `SHARDFLOW_BENCH_SCALE_LOGS=<dir>` writes every process's log there when a size ends.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/local/free-port';
import { startRedisServer, type RedisServer } from '../../cli/local/redis-server';
import { parseDuration } from '../../shared/config/units';
import { LEASE_QUEUE } from '../../shared/redis/keys';
import { spawnCli, stopCli, type CliProcess } from '../../test/support/cli';
import { SteadyProducer } from '../../test/support/producer';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { readProcess } from '../support/process-stats';
import { BalanceTrace, balanced, describeHeld } from '../support/balance-trace';
import { commandRates, parseCommandStats } from '../support/bench-inputs';
import { guardService, localRunProperties, loggedAt, waitForLog } from '../support/processes';
import { atMost, median, type Figure, type Scenario } from '../scenario';
import { extraInputSetting, FULL, parseSizes, QUICK, sizeLabel, staggerSetting, startFigures, type Size, type StartResult } from './scale-sizes';


const DISCOVERY_INTERVAL_MS = 10_000;
/** `source.shard.idle-interval`'s default. */
const IDLE_INTERVAL_DEFAULT_MS = 2_000;
const POLL_MS = 250;

export interface SizeResult extends StartResult {
  joinS: number;
  joinedWorkers: number;
  killS: number;
  killedWorkers: number;
  windowS: number;
  redisCommandsPerLeasePerS: number;
  /** The commands a lease costs per second, by command (the largest first). */
  commandsPerLeasePerS: Record<string, number>;
  redisBytesPerLease: number;
  coordinatorCpuMsPerRound: number;
  workerCpuPercentPerLease: number;
  getRecordsPerLeasePerS: number;
  dashboardMs: number;
  dashboardBytes: number;
  /** Milliseconds from putting QUIET_RECORDS records on idle shards until the last one was written out. */
  quietSpellMs: number;
  idleIntervalMs: number;
  traces: { start: number[][]; join: number[][]; kill: number[][] };
  loadAverage1m: { before: number; after: number };
}

const seconds = (fromMs: number, toMs = Date.now()) => (toMs - fromMs) / 1000;

/** `INFO commandstats` as calls per command. */
const commandCalls = async (redis: Redis) => parseCommandStats(await redis.info('commandstats'));

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
}

function cpuSeconds(processes: readonly CliProcess[]): number {
  return processes.reduce((sum, p) => sum + (readProcess(p.child.pid!)?.cpuSeconds ?? 0), 0);
}

/** Records put on backed-off shards at once (each key on its own shard, most likely). */
const QUIET_RECORDS = 8;

/** Puts QUIET_RECORDS records after the quiet spell and returns when the last one was written out, in ms after the put. */
async function firstRecordsAfterQuiet(endpoint: MemoryEndpoint, inputArn: string, outputArn: string, idleMs: number): Promise<number> {
  const output = outputArn.slice(outputArn.lastIndexOf('/') + 1);
  const before = (await endpoint.stats(output)).records;
  const putAt = Date.now();
  const entries = Array.from({ length: QUIET_RECORDS }, (_, i) => {
    const key = `quiet-${i}-${putAt}`;
    return { PartitionKey: key, Data: Buffer.from(JSON.stringify({ event_time: new Date(putAt).toISOString(), ticker: 'AMZN', price: i, id: key, key })) };
  });
  await endpoint.putAll(inputArn, entries);
  let lastArrivalMs = 0;
  await waitFor(async () => {
    const out = await endpoint.stats(output);
    lastArrivalMs = out.lastArrivalMs ?? 0;
    return out.records >= before + QUIET_RECORDS;
  }, idleMs + 30_000, () => `${QUIET_RECORDS} records after the quiet spell written out`, 100);
  return lastArrivalMs - putAt;
}

async function dashboardGet(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`dashboard ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return { ms: performance.now() - started, bytes: body.length };
}


/** One size on a fresh endpoint, Redis and application; everything it started is stopped in the end. */
async function runSize(size: Size, quick: boolean, extraInput: Record<string, string>, log: (line: string) => void, startOnly: true): Promise<StartResult>;
async function runSize(size: Size, quick: boolean, extraInput: Record<string, string>, log: (line: string) => void, startOnly?: false): Promise<SizeResult>;
async function runSize(size: Size, quick: boolean, extraInput: Record<string, string>, log: (line: string) => void, startOnly = false): Promise<StartResult | SizeResult> {
  const { shards, workers } = size;
  const tag = `[${shards} shards, ${workers} workers]`;
  const staggerMs = staggerSetting();
  const loadBefore = loadavg()[0];
  let redisServer: RedisServer | undefined;
  let endpoint: MemoryEndpoint | undefined;
  let producer: SteadyProducer | undefined;
  let redis: Redis | undefined;
  const processes: CliProcess[] = [];
  const profileDir = process.env.SHARDFLOW_BENCH_SCALE_PROFILE;
  const spawn = (command: 'coordinator' | 'worker', properties: string): CliProcess => {
    // With SHARDFLOW_BENCH_SCALE_PROFILE=<dir>, the first worker writes a CPU profile there when it stops.
    const profile = profileDir && command === 'worker' && processes.length === 1 ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const p = spawnCli([command, '--properties', properties, '--redis', redisServer!.url, '--app', app], { METRICS_PORT: '0', SHARDFLOW_LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, profile);
    guardService(p.child);
    processes.push(p);
    return p;
  };
  const app = uniqueName('bench-scale');
  try {
    redisServer = await startRedisServer();
    guardService(redisServer.process);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
    const emptyMemory = await usedMemory(redis);
    endpoint = await MemoryEndpoint.start();
    const inputArn = await endpoint.createStream(uniqueName('scale-in'), shards);
    const outputArn = await endpoint.createStream(uniqueName('scale-out'), 4);
    const input: Record<string, string> = { 'source.shard.discovery.interval': `${DISCOVERY_INTERVAL_MS} ms`, ...size.input, ...extraInput };
    const workerProps = writeProperties(localRunProperties(endpoint.endpoint, inputArn, outputArn, input));
    const dashboardPort = await freePort();
    const coordinatorProps = writeProperties(localRunProperties(endpoint.endpoint, inputArn, outputArn, input, { Dashboard: { enabled: 'true', port: String(dashboardPort) } }));
    producer = new SteadyProducer(endpoint.client, inputArn, { perSecond: Math.max(2, shards / 20), keys: shards * 4, prefix: 'scale' });
    producer.start();

    const coordinator = spawn('coordinator', coordinatorProps);
    await waitForLog(coordinator, 'coordinator started', 60_000);
    const pool: CliProcess[] = [];
    for (let i = 0; i < workers; i++) {
      if (i > 0 && staggerMs > 0) await new Promise((r) => setTimeout(r, staggerMs));
      pool.push(spawn('worker', workerProps));
    }
    const spawnedAt = Date.now();
    const startupBudget = 60_000 + workers * 5_000;
    const startTrace = new BalanceTrace();
    await waitFor(() => balanced(redis!, app, shards, workers, startTrace), startupBudget, () => `${shards} shards balanced over ${workers} workers`, POLL_MS).catch(async (err: Error) => {
      throw new Error(`${err.message}; ${await describeHeld(redis!, app)}`);
    });
    const balancedAt = Date.now();
    const balancedLoad = loadavg()[0];
    const started = pool.map((w) => loggedAt(w, 'worker started'));
    const lastStartedAt = started.every((t) => t !== undefined) ? Math.max(...(started as number[])) : undefined;
    const balancedFromStartedS = lastStartedAt === undefined ? undefined : seconds(lastStartedAt, balancedAt);
    const startLoad1m = { lastStarted: startTrace.loadAt(lastStartedAt ?? spawnedAt), balanced: balancedLoad };
    log(
      `  ${tag} balanced ${seconds(spawnedAt, balancedAt).toFixed(1)} s after the last spawn, ${balancedFromStartedS?.toFixed(1)} s after the last "worker started" ` +
        `(load average ${startLoad1m.lastStarted.toFixed(1)} when it started, ${startLoad1m.balanced.toFixed(1)} at balance)`,
    );
    const startResult: StartResult = {
      shards,
      workers,
      ...(size.input ? { input: size.input } : {}),
      balancedFromSpawnS: seconds(spawnedAt, balancedAt),
      balancedFromStartedS,
      startLoad1m,
      traces: { start: startTrace.samples },
    };
    if (startOnly) return startResult;

    // The steady window: every lease held, nobody joining or leaving, and no traffic (what an idle lease costs).
    await producer.stop();
    // Idle means backed off: a shard's pause doubles from the empty-records interval up to the idle
    // interval (about 1.3 idle intervals to get there), so the window opens once every shard has had time to.
    const idleMs = parseDuration(input['source.shard.idle-interval'] ?? '') ?? IDLE_INTERVAL_DEFAULT_MS;
    await new Promise((r) => setTimeout(r, 3000 + 1.5 * idleMs));
    const windowMs = quick ? 10_000 : 20_000;
    const before = { kinesis: await endpoint.calls(), calls: await commandCalls(redis), coordinator: cpuSeconds([coordinator]), workers: cpuSeconds(pool), at: Date.now() };
    await new Promise((r) => setTimeout(r, windowMs));
    const after = { kinesis: await endpoint.calls(), calls: await commandCalls(redis), coordinator: cpuSeconds([coordinator]), workers: cpuSeconds(pool), at: Date.now() };
    const windowS = seconds(before.at, after.at);
    const getRecordsPerLeasePerS = ((after.kinesis.GetRecords ?? 0) - (before.kinesis.GetRecords ?? 0)) / windowS / shards;
    const rates = commandRates(before.calls, after.calls, windowS, shards);
    const commandsPerLeasePerS = Object.fromEntries(Object.entries(rates.byCommand).slice(0, 12).map(([k, v]) => [k, Number(v.toFixed(3))]));
    const redisBytesPerLease = ((await usedMemory(redis)) - emptyMemory) / shards;
    const coordinatorCpuMsPerRound = ((after.coordinator - before.coordinator) * 1000 * DISCOVERY_INTERVAL_MS) / (windowS * 1000);
    const workerCpuPercentPerLease = ((after.workers - before.workers) / windowS / shards) * 100;
    log(`  ${tag} steady ${windowS.toFixed(0)} s: ${rates.total.toFixed(2)} Redis commands/lease/s ${JSON.stringify(commandsPerLeasePerS)}; workers ${workerCpuPercentPerLease.toFixed(3)} % of a core per lease, ${getRecordsPerLeasePerS.toFixed(2)} GetRecords/lease/s (window ${before.at}..${after.at})`);

    const dashboardUrl = `http://127.0.0.1:${dashboardPort}/api/queues?activeQueue=${LEASE_QUEUE}&status=active&page=1&jobsPerPage=10`;
    const gets = [];
    for (let i = 0; i < 5; i++) gets.push(await dashboardGet(dashboardUrl));
    const dashboardMs = median(gets.map((g) => g.ms));

    // The price of the idle interval: records that end the quiet spell wait at most one idle interval.
    const quietSpell = await firstRecordsAfterQuiet(endpoint, inputArn, outputArn, idleMs);
    log(`  ${tag} ${QUIET_RECORDS} records after the quiet spell: all written ${(quietSpell / 1000).toFixed(1)} s after they were put (idle interval ${idleMs / 1000} s)`);

    producer = new SteadyProducer(endpoint.client, inputArn, { perSecond: Math.max(2, shards / 20), keys: shards * 4, prefix: 'scale2' });
    producer.start();

    // Join: 25 % more workers.
    const joining = Math.max(1, Math.round(workers / 4));
    const joined: CliProcess[] = [];
    for (let i = 0; i < joining; i++) joined.push(spawn('worker', workerProps));
    const joinAt = Date.now();
    pool.push(...joined);
    const joinTrace = new BalanceTrace();
    await waitFor(() => balanced(redis!, app, shards, pool.length, joinTrace), startupBudget, () => `${shards} shards balanced over ${pool.length} workers after the join`, POLL_MS).catch(async (err: Error) => {
      throw new Error(`${err.message}; ${await describeHeld(redis!, app)}`);
    });
    const joinS = seconds(joinAt);
    log(`  ${tag} +${joining} workers: balanced ${joinS.toFixed(1)} s after their spawn`);

    // kill -9 of 25 % of the workers: the last of the first ones (the very first may be writing a profile).
    const killing = Math.max(1, Math.round(pool.length / 4));
    const killed = pool.splice(1, killing);
    const killAt = Date.now();
    const killTrace = new BalanceTrace();
    for (const w of killed) w.child.kill('SIGKILL');
    await Promise.all(killed.map((w) => w.exited));
    await waitFor(() => balanced(redis!, app, shards, pool.length, killTrace), 120_000, () => `${shards} shards balanced over ${pool.length} survivors after kill -9`, POLL_MS).catch(async (err: Error) => {
      throw new Error(`${err.message}; ${await describeHeld(redis!, app)}`);
    });
    const killS = seconds(killAt);
    log(`  ${tag} kill -9 of ${killing} workers: balanced again ${killS.toFixed(1)} s later`);

    return {
      ...startResult,
      joinS,
      joinedWorkers: joining,
      killS,
      killedWorkers: killing,
      windowS,
      redisCommandsPerLeasePerS: rates.total,
      commandsPerLeasePerS,
      redisBytesPerLease,
      coordinatorCpuMsPerRound,
      workerCpuPercentPerLease,
      getRecordsPerLeasePerS,
      dashboardMs,
      dashboardBytes: gets[0].bytes,
      quietSpellMs: quietSpell,
      idleIntervalMs: idleMs,
      traces: { start: startTrace.samples, join: joinTrace.samples, kill: killTrace.samples },
      loadAverage1m: { before: loadBefore, after: loadavg()[0] },
    };
  } finally {
    if (profileDir) log(`  stopping at ${Date.now()}`);
    await producer?.stop().catch(() => undefined);
    // Workers first (a graceful stop hands leases back), in parallel: one by one would take minutes at 32.
    await Promise.all(processes.slice(1).map((p) => stopCli(p, 10_000)));
    if (processes[0]) await stopCli(processes[0], 10_000);
    const logDir = process.env.SHARDFLOW_BENCH_SCALE_LOGS;
    if (logDir) {
      const dir = join(logDir, `${shards}x${workers}-${app}`);
      mkdirSync(dir, { recursive: true });
      processes.forEach((p, i) => writeFileSync(join(dir, `${i === 0 ? 'coordinator' : `worker-${i}`}-${p.child.pid}.log`), p.output()));
      log(`  ${tag} logs in ${dir}`);
    }
    redis?.disconnect();
    await endpoint?.stop();
    await redisServer?.stop();
  }
}

export const scale: Scenario = async ({ quick, log }) => {
  const sizes = parseSizes(process.env.SHARDFLOW_BENCH_SCALE) ?? (quick ? QUICK : FULL);
  const extraInput = extraInputSetting();
  const repeat = Math.max(1, Number(process.env.SHARDFLOW_BENCH_SCALE_REPEAT ?? 1) || 1);
  const figures: Figure[] = [];
  if (process.env.SHARDFLOW_BENCH_SCALE_START_ONLY === '1') {
    const starts: StartResult[] = [];
    for (const size of sizes) {
      for (let i = 0; i < repeat; i++) {
        const r = await runSize(size, quick, extraInput, log, true);
        starts.push(r);
        figures.push(...startFigures(r, `${sizeLabel(r)}${repeat > 1 ? ` #${i + 1}` : ''}`));
      }
    }
    return { scenario: 'scale', figures, details: { startOnly: true, sizes: starts, extraInput, discoveryIntervalMs: DISCOVERY_INTERVAL_MS, staggerMs: staggerSetting() } };
  }
  const results: SizeResult[] = [];
  for (const size of sizes) for (let i = 0; i < repeat; i++) results.push(await runSize(size, quick, extraInput, log));
  for (const [i, r] of results.entries()) {
    const at = `${sizeLabel(r)}${repeat > 1 ? ` #${(i % repeat) + 1}` : ''}`;
    // The issue's targets are set at 2,048 shards; smaller sizes are judged against the same per-lease bounds.
    figures.push(
      ...startFigures(r, at),
      { name: `${at} rebalanced after +25 % workers`, value: r.joinS, unit: 's' },
      { name: `${at} rebalanced after kill -9 of 25 %`, value: r.killS, unit: 's' },
      atMost(`${at} Redis commands per lease`, r.redisCommandsPerLeasePerS, '/s', 2),
      { name: `${at} Redis memory per lease`, value: r.redisBytesPerLease, unit: 'bytes' },
      { name: `${at} coordinator CPU per discovery round`, value: r.coordinatorCpuMsPerRound, unit: 'ms' },
      atMost(`${at} worker CPU per lease`, r.workerCpuPercentPerLease, '% core', 0.05),
      { name: `${at} GetRecords per lease`, value: r.getRecordsPerLeasePerS, unit: '/s' },
      { name: `${at} dashboard lease-queue GET`, value: r.dashboardMs, unit: 'ms' },
      // Ending a quiet spell costs at most one idle interval (plus the read and the write).
      atMost(`${at} first records after a quiet spell (idle interval ${r.idleIntervalMs / 1000} s)`, r.quietSpellMs / 1000, 's', r.idleIntervalMs / 1000 + 1),
    );
  }
  return { scenario: 'scale', figures, details: { sizes: results, extraInput, discoveryIntervalMs: DISCOVERY_INTERVAL_MS, staggerMs: staggerSetting() } };
};
