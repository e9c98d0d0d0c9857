/**
 * Many input streams against one (issue #27, item 4): does a fleet reading N streams of S/N shards each
 * cost what one reading one stream of S shards costs? The same fleet as the scale scenario (scale.ts): the
 * in-memory Kinesis endpoint, a private `redis-server` on a free port (so `INFO commandstats` counts only
 * this run), one coordinator and W real worker processes, everything at its defaults except the shard
 * discovery interval (10 s, each stream's own). Two layouts of the same S leases:
 *
 * - one: a single stream of S shards, in `InputStream0` (what a single-stream application configures);
 * - many: N streams of S/N shards, listed in `Application.streams-file` (the shape hundreds of streams
 *   take), every entry over the same defaults (the input keys the one-stream layout has).
 *
 * They run alternately, each on a fresh endpoint, Redis and application, for several rounds in the order
 * one, many | many, one | one, many …, so the machine's noise (a shared 2-core machine) falls on both
 * alike; the figures are the medians per layout and their ratios many/one. Per run, with low traffic while
 * the workers take their leases (S/20 records per second spread over the streams, as in scale.ts):
 *
 * - balanced: seconds from the last worker's spawn until every lease (stream + shard) is held by exactly
 *   one live worker and no worker holds more than one lease above another (from the workers' status
 *   hash, refreshed every second, so ±1 s);
 * - over an idle steady window after that (traffic stopped, every shard backed off to its idle interval):
 *   Redis commands per lease per second (`INFO commandstats` before and after, every command a Lua script
 *   runs included), the workers' CPU per lease (% of one core), the coordinator's CPU per discovery round
 *   (its CPU over the window per 10 s discovery interval, as in scale.ts) and the fleet's idle CPU per
 *   lease (workers and coordinator);
 * - the 1-minute load average at the balance and over the window, beside the figures.
 *
 * The issue's target: time to balance, Redis commands per lease per second and idle CPU per lease within
 * 10 % of each other (many/one ≤ 1.10), judged on the workers' CPU per lease (scale.ts's idle CPU figure)
 * and on the fleet's. The coordinator's CPU per round is shown with its ratio but no target: a round lists
 * every stream, so it grows with the number of streams by design; its share of the fleet's CPU is what
 * the fleet figure judges. Quick mode compares 1×64 with 16×4 on 2 workers; the full run
 * 1×800 with 200×4 on 8 workers, 3 rounds each. `SHARDFLOW_BENCH_MANY_STREAMS=<shards>x<streams>x<workers>[x<rounds>]`
 * picks another size, and `SHARDFLOW_BENCH_MANY_STREAMS_PROPS=key=value,…` adds input properties to both
 * layouts (to compare a setting), and `SHARDFLOW_BENCH_MANY_STREAMS_PROFILE=<dir>` has the coordinator and the
 * first worker of every run write a CPU profile (`<dir>/<round>-<layout>-<role>/`) when they stop.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../cli/local/redis-server';
import { parseDuration } from '../../shared/config/units';
import { AppKeys } from '../../shared/redis/keys';
import { spawnCli, stopCli, type CliProcess } from '../../test/support/cli';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import type { WorkerStatus } from '../../worker/status-reporter';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { readProcess } from '../support/process-stats';
import { guardService, localRunProperties, loggedAt, waitForLog } from '../support/processes';
import type { Scenario } from '../scenario';
import { median } from '../scenario';
import { DISCOVERY_INTERVAL_MS, FULL, IDLE_INTERVAL_DEFAULT_MS, MEASURES, POLL_MS, QUICK, balanceOf, pairedRatios, type BalanceState, commandRates, figuresOf, labelOf, layoutsOf, logCounts, manyStreamsProperties, mediansOf, parseCommandStats, parseComparison, parseProps, runOrder, type Comparison, type Layout, type RunResult } from '../support/many-streams-figures';

export * from '../support/many-streams-figures';

// ---- sizes and layouts (pure) -----------------------------------------------------------------------
const seconds = (fromMs: number, toMs = Date.now()) => (toMs - fromMs) / 1000;
const round3 = (v: number) => Number(v.toFixed(3));

function cpuSeconds(processes: readonly CliProcess[]): number {
  return processes.reduce((sum, p) => sum + (readProcess(p.child.pid!)?.cpuSeconds ?? 0), 0);
}

function rssMiB(processes: readonly CliProcess[]): number {
  return processes.reduce((sum, p) => sum + (readProcess(p.child.pid!)?.rssBytes ?? 0), 0) / 1024 ** 2;
}

async function statuses(redis: Redis, app: string): Promise<WorkerStatus[]> {
  return Object.values(await redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
}

/**
 * The same traffic for both layouts: `perSecond` records in batches every 100 ms, each batch to the next
 * stream in turn (so N streams get 1/N of it each). Failed puts are dropped: the traffic only makes the
 * balancing realistic (leases taken while records flow), nothing checks its delivery.
 */
class SpreadProducer {
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly arns: readonly string[],
    private readonly perSecond: number,
  ) {}

  start(): void {
    this.loop = this.run().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const batch = Math.max(1, Math.round(this.perSecond / 10));
    const started = Date.now();
    let sent = 0;
    for (let request = 0; !this.stopped; request++) {
      const arn = this.arns[request % this.arns.length];
      const now = new Date().toISOString();
      const records = Array.from({ length: batch }, (_, i) => {
        const n = sent + i;
        const key = `key-${n}`;
        return { PartitionKey: key, Data: Buffer.from(JSON.stringify({ event_time: now, ticker: 'MSFT', price: n % 100, id: `many-${n}`, key })) };
      });
      await this.client.send(new PutRecordsCommand({ StreamARN: arn, Records: records })).catch(() => undefined);
      sent += batch;
      const due = started + (sent / this.perSecond) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Creates the streams, `parallel` at a time (CreateStream and DescribeStreamSummary each). */
async function createStreams(endpoint: MemoryEndpoint, prefix: string, count: number, shards: number, parallel = 16): Promise<string[]> {
  const arns: string[] = new Array<string>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      arns[i] = await endpoint.createStream(`${prefix}-${String(i).padStart(4, '0')}`, shards);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return arns;
}

/** One layout on a fresh endpoint, Redis and application; everything it started is stopped in the end. */
async function runLayout(layout: Layout, round: number, c: Comparison, quick: boolean, extraInput: Record<string, string>, log: (line: string) => void): Promise<RunResult> {
  const leases = layout.streams * layout.shardsPerStream;
  const { workers } = c;
  const tag = `[round ${round + 1}, ${labelOf(layout)}, ${workers} workers]`;
  const loadBefore = loadavg()[0];
  let redisServer: RedisServer | undefined;
  let endpoint: MemoryEndpoint | undefined;
  let producer: SpreadProducer | undefined;
  let redis: Redis | undefined;
  const processes: CliProcess[] = [];
  const app = uniqueName(`bench-many-${layout.kind}`);
  const profileDir = process.env.SHARDFLOW_BENCH_MANY_STREAMS_PROFILE;
  const spawn = (command: 'coordinator' | 'worker', properties: string): CliProcess => {
    // With SHARDFLOW_BENCH_MANY_STREAMS_PROFILE=<dir>, the coordinator and the first worker write CPU profiles there when they stop.
    const profile = profileDir && processes.length <= 1 ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, `${round + 1}-${layout.kind}-${command}`)] : [];
    const p = spawnCli([command, '--properties', properties, '--redis', redisServer!.url, '--app', app], { METRICS_PORT: '0', SHARDFLOW_LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, profile);
    guardService(p.child);
    processes.push(p);
    return p;
  };
  try {
    redisServer = await startRedisServer();
    guardService(redisServer.process);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
    endpoint = await MemoryEndpoint.start();
    const createdAt = Date.now();
    const inputArns = await createStreams(endpoint, uniqueName(`many-in-${layout.kind}`), layout.streams, layout.shardsPerStream);
    const outputArn = await endpoint.createStream(uniqueName('many-out'), 4);
    log(`  ${tag} ${layout.streams} input stream(s) created in ${seconds(createdAt).toFixed(1)} s`);
    const input: Record<string, string> = { 'source.shard.discovery.interval': `${DISCOVERY_INTERVAL_MS} ms`, ...extraInput };
    const oneStream = localRunProperties(endpoint.endpoint, inputArns[0], outputArn, input);
    let properties: string;
    if (layout.kind === 'one') properties = writeProperties(oneStream);
    else {
      const file = join(mkdtempSync(join(tmpdir(), 'shardflow-streams-')), 'streams.json');
      const many = manyStreamsProperties(oneStream, inputArns, file);
      writeFileSync(file, `${JSON.stringify(many.streams, null, 2)}\n`);
      properties = writeProperties(many.groups);
    }
    producer = new SpreadProducer(endpoint.client, inputArns, Math.max(2, leases / 20));
    producer.start();

    const coordinator = spawn('coordinator', properties);
    await waitForLog(coordinator, 'coordinator started', 60_000 + layout.streams * 500);
    const pool: CliProcess[] = [];
    const spawnTimes: number[] = [];
    for (let i = 0; i < workers; i++) {
      spawnTimes.push(Date.now());
      pool.push(spawn('worker', properties));
    }
    const spawnedAt = Date.now();
    const trace: number[][] = [];
    let last: BalanceState | undefined;
    await waitFor(
      async () => {
        last = balanceOf(await statuses(redis!, app), Date.now(), leases, workers);
        const atS = Math.round((Date.now() - spawnedAt) / 100) / 10;
        if (!trace.length || atS - trace[trace.length - 1][0] >= 1) trace.push([atS, last.live, last.held, last.fewest, last.most]);
        return last.balanced;
      },
      60_000 + workers * 5_000,
      () => `${leases} leases balanced over ${workers} workers (last seen: ${JSON.stringify(last)})`,
      POLL_MS,
    );
    const balancedAt = Date.now();
    const loadAtBalance = loadavg()[0];
    const started = pool.map((w) => loggedAt(w, 'worker started'));
    const startupS = started.flatMap((t, i) => (t === undefined ? [] : [seconds(spawnTimes[i], t)]));
    const balancedFromStartedS = started.every((t) => t !== undefined) ? seconds(Math.max(...(started as number[])), balancedAt) : undefined;
    log(`  ${tag} balanced ${seconds(spawnedAt, balancedAt).toFixed(1)} s after the last spawn, ${balancedFromStartedS?.toFixed(1)} s after the last "worker started"; workers started ${median(startupS).toFixed(1)} s after their spawn, the slowest ${Math.max(...startupS).toFixed(1)} s (load ${loadAtBalance.toFixed(2)})`);

    // The idle window: traffic stopped, every shard backed off to its idle interval (about 1.3 of them to get there).
    await producer.stop();
    const idleMs = parseDuration(input['source.shard.idle-interval'] ?? '') ?? IDLE_INTERVAL_DEFAULT_MS;
    await new Promise((r) => setTimeout(r, 3000 + 1.5 * idleMs));
    // Whole discovery intervals, so each window holds about as many rounds.
    const windowMs = (quick ? 2 : 3) * DISCOVERY_INTERVAL_MS;
    const snapshot = async () => ({ kinesis: await endpoint!.calls(), calls: parseCommandStats(await redis!.info('commandstats')), coordinator: cpuSeconds([coordinator]), workers: cpuSeconds(pool), at: Date.now(), load: loadavg()[0] });
    const before = await snapshot();
    await new Promise((r) => setTimeout(r, windowMs));
    const after = await snapshot();
    const windowS = seconds(before.at, after.at);
    const workersRssMiB = rssMiB(pool);
    const coordinatorRssMiB = rssMiB([coordinator]);
    const balancedAfterWindow = balanceOf(await statuses(redis, app), Date.now(), leases, workers).balanced;

    const kinesisCallsPerS: Record<string, number> = {};
    for (const [op, n] of Object.entries(after.kinesis)) {
      const delta = n - (before.kinesis[op] ?? 0);
      if (delta > 0) kinesisCallsPerS[op] = round3(delta / windowS);
    }
    const rates = commandRates(before.calls, after.calls, windowS, leases);
    const commandCalls = Object.fromEntries(Object.entries(rates.byCommand).map(([k, v]) => [k, Math.round(v * windowS * leases)]));
    const coordinatorCpuS = after.coordinator - before.coordinator;
    const workersCpuS = after.workers - before.workers;
    const result: RunResult = {
      ...layout,
      round,
      leases,
      workers,
      balancedFromSpawnS: seconds(spawnedAt, balancedAt),
      balancedFromStartedS,
      windowS,
      redisCommandsPerLeasePerS: rates.total,
      commandsPerLeasePerS: Object.fromEntries(Object.entries(rates.byCommand).map(([k, v]) => [k, Number(v.toPrecision(3))])),
      commandCalls,
      workerCpuPercentPerLease: (workersCpuS / windowS / leases) * 100,
      coordinatorCpuMsPerRound: (coordinatorCpuS * 1000 * DISCOVERY_INTERVAL_MS) / (windowS * 1000),
      idleCpuPercentPerLease: ((workersCpuS + coordinatorCpuS) / windowS / leases) * 100,
      getRecordsPerLeasePerS: ((after.kinesis.GetRecords ?? 0) - (before.kinesis.GetRecords ?? 0)) / windowS / leases,
      kinesisCallsPerS,
      workersRssMiB,
      coordinatorRssMiB,
      balancedAfterWindow,
      warnings: logCounts(processes.map((p) => p.output()), 40),
      workerLog: logCounts(pool.map((p) => p.output()), 30, false),
      workerStartupS: { median: median(startupS), max: Math.max(...startupS) },
      trace,
      loadAverage1m: { before: loadBefore, atBalance: loadAtBalance, windowStart: before.load, windowEnd: after.load },
    };
    const top = Object.entries(result.commandsPerLeasePerS).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
    log(
      `  ${tag} idle ${windowS.toFixed(0)} s (load ${before.load.toFixed(2)}..${after.load.toFixed(2)}): ` +
        `${rates.total.toFixed(3)} Redis commands/lease/s (${top}); workers ${result.workerCpuPercentPerLease.toFixed(4)} % core/lease; ` +
        `coordinator ${result.coordinatorCpuMsPerRound.toFixed(0)} ms/round; fleet ${result.idleCpuPercentPerLease.toFixed(4)} % core/lease${balancedAfterWindow ? '' : '; NOT balanced after the window'}`,
    );
    const warnings = Object.entries(result.warnings).sort((x, y) => y[1] - x[1]);
    if (warnings.length > 0) log(`  ${tag} warnings and errors logged: ${warnings.slice(0, 5).map(([msg, n]) => `${n} × ${msg}`).join('; ')}`);
    return result;
  } finally {
    await producer?.stop().catch(() => undefined);
    // Workers first (a graceful stop hands leases back), in parallel, then the coordinator.
    await Promise.all(processes.slice(1).map((p) => stopCli(p, 10_000)));
    if (processes[0]) await stopCli(processes[0], 10_000);
    redis?.disconnect();
    await endpoint?.stop();
    await redisServer?.stop();
  }
}

export const manyStreams: Scenario = async ({ quick, log }) => {
  const comparison = parseComparison(process.env.SHARDFLOW_BENCH_MANY_STREAMS) ?? (quick ? QUICK : FULL);
  const extraInput = parseProps(process.env.SHARDFLOW_BENCH_MANY_STREAMS_PROPS);
  const layouts = layoutsOf(comparison);
  const runs: RunResult[] = [];
  const order = runOrder(comparison.rounds);
  for (let i = 0; i < order.length; i++) runs.push(await runLayout(layouts[order[i]], Math.floor(i / 2), comparison, quick, extraInput, log));
  const one = mediansOf(runs.filter((r) => r.kind === 'one'), labelOf(layouts.one));
  const many = mediansOf(runs.filter((r) => r.kind === 'many'), labelOf(layouts.many));
  const paired = Object.fromEntries(MEASURES.map((m) => [m.key, pairedRatios(runs, m.key)]));
  log(`  medians ${one.label}: ${JSON.stringify(one)}; ${many.label}: ${JSON.stringify(many)}; paired ratios ${JSON.stringify(paired)}`);
  return {
    scenario: 'many-streams',
    figures: figuresOf(one, many),
    details: { comparison, extraInput, discoveryIntervalMs: DISCOVERY_INTERVAL_MS, medians: { one, many }, pairedRatios: paired, runs },
  };
};
