/**
 * Throughput of one worker against the floor set by the AWS SDK itself and against a peer library, on the
 * in-memory Kinesis (which never slows down as shards fill, unlike kinesis-local). Each contender copies
 * the same number of pre-filled stock records (4 shards) from a fresh input stream to a fresh output
 * stream, one after the other in the same run:
 *   - floor: `bench/floor.ts`, a plain GetRecords → PutRecords loop per shard, no Redis, applying
 *     shardflow's stock transform to each record: the floor for the same work, which issue #13's floor
 *     targets are measured against ("all on the full run, with the same transform"); and the same loop
 *     with no transform, the bare floor (no target: against it, the transform's own share shows);
 *   - POLLING and EFO: a shardflow coordinator and one worker, full transform, checkpoints and leases;
 *     POLLING also as one `worker --coordinate` process (both roles in one Node runtime, as the peer),
 *     and that one process with Flink's smaller sink buffer (the page size against memory);
 *   - peer: `bench/peer/lifion-copier.ts`, lifion-kinesis's polling consumer with the same transform, its
 *     own putRecords, and its leases and checkpoints in an in-process dynalite (DynamoDB in memory).
 * The full run repeats the floor, POLLING (each shape) and the peer back to back for `PEER_ROUNDS` rounds and
 * compares them by the median of the rounds' ratios, so a machine whose speed drifts during the run (a
 * shared one does: the same code's CPU per record moved by a third within one run) moves both sides of a
 * ratio alike; the quick run does one round.
 * Rates are measured between the first and the last arrival in the output stream, so start-up (module
 * loading, lease taking) does not count; CPU seconds are the copying processes' own over the same window
 * (for shardflow the coordinator's and the worker's together, each also kept apart in the details), and
 * peak RSS is the peak of their summed readings over the whole run; peak PSS likewise, the memory target
 * for shardflow's two processes against the peer's one (a sum of RSS counts the Node binary's pages the
 * two share twice: `bench/support/process-stats.ts`). Redis, which shardflow keeps its state in, is a
 * shared service and not counted; the peer's dynalite runs inside its process and is.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomStock, stockEntry } from '../../generator/stock-records';
import { writeProperties, type Groups } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { ProcessMonitor } from '../support/process-stats';
import { BenchProcesses, guardService, waitForLog } from '../support/processes';
import { atLeast, atMost, median, type Figure, type Scenario } from '../scenario';

const SHARDS = 4;
/** Rounds of POLLING and peer, back to back, in the full run; the quick run does one. */
const PEER_ROUNDS = 3;
const PEER = 'lifion-kinesis (polling)';

export interface CopyRun {
  contender: string;
  records: number;
  recordsPerSecond: number;
  cpuSecondsPer1000: number;
  peakRssMiB: number;
  /** Peak of the summed PSS: pages shared between the contender's processes (the Node binary's) counted once. */
  peakPssMiB: number;
  wallSeconds: number;
  /** For a contender of several processes, each one's own figures over the same window. */
  processes?: Record<string, { cpuSecondsPer1000: number; peakRssMiB: number }>;
}

export function benchProperties(endpoint: string, inputArn: string, outputArn: string, reader: 'POLLING' | 'EFO'): Groups {
  const client = { 'aws.endpoint': endpoint, 'aws.region': 'us-east-1', 'aws.credentials.provider': 'BASIC', 'aws.credentials.provider.basic.accesskeyid': '000000000000', 'aws.credentials.provider.basic.secretkey': 'bench' };
  const efo: Record<string, string> = reader === 'EFO' ? { 'source.efo.consumer.name': 'bench-consumer', 'source.efo.consumer.lifecycle': 'JOB_MANAGED' } : {};
  return {
    InputStream0: { 'stream.arn': inputArn, ...client, 'source.init.position': 'TRIM_HORIZON', 'source.reader.type': reader, ...efo },
    OutputStream0: { 'stream.arn': outputArn, ...client },
    Dashboard: { enabled: 'false' },
  };
}

export async function prefilled(kinesis: MemoryEndpoint, label: string, records: number): Promise<{ input: string; inputArn: string; output: string; outputArn: string }> {
  const input = uniqueName(`${label}-in`);
  const output = uniqueName(`${label}-out`);
  const inputArn = await kinesis.createStream(input, SHARDS);
  const outputArn = await kinesis.createStream(output, SHARDS);
  const now = new Date();
  await kinesis.putAll(inputArn, Array.from({ length: records }, () => stockEntry(randomStock(now), 'random')));
  return { input, inputArn, output, outputArn };
}

/**
 * Waits for the copy to finish and turns the output's arrival times and the monitor's samples into a run.
 * `parts` names a monitor per process of a contender of several (their figures go in `processes`).
 */
export async function measure(kinesis: MemoryEndpoint, contender: string, output: string, records: number, monitor: ProcessMonitor, timeoutMs: number, started: number, check: () => void, parts: Record<string, ProcessMonitor> = {}): Promise<CopyRun> {
  const all = [monitor, ...Object.values(parts)];
  try {
    // `check` throws when a measured process has died, so a crash is reported at once instead of at the deadline.
    await waitFor(async () => ((await kinesis.stats(output)).records > 0 ? true : undefined), timeoutMs, `${contender}: the first record in the output`, 20, check);
    for (const m of all) m.sample();
    const cpuAtFirst = new Map(all.map((m) => [m, m.cpuSeconds]));
    const done = await waitFor(async () => {
      const s = await kinesis.stats(output);
      // User records: with KPL aggregation one Kinesis record carries many.
      return s.userRecords >= records ? s : undefined;
    }, timeoutMs, `${contender}: ${records} records in the output`, 50, check);
    for (const m of all) m.stop();
    const seconds = (done.lastArrivalMs! - done.firstArrivalMs!) / 1000;
    const cpuPer1000 = (m: ProcessMonitor) => (m.cpuSeconds - cpuAtFirst.get(m)!) / (done.userRecords / 1000);
    const processes = Object.keys(parts).length > 0 ? Object.fromEntries(Object.entries(parts).map(([name, m]) => [name, { cpuSecondsPer1000: cpuPer1000(m), peakRssMiB: m.peakRssBytes / 1024 ** 2 }])) : undefined;
    return {
      contender,
      records: done.userRecords,
      recordsPerSecond: done.userRecords / seconds,
      cpuSecondsPer1000: cpuPer1000(monitor),
      peakRssMiB: monitor.peakRssBytes / 1024 ** 2,
      peakPssMiB: monitor.peakPssBytes / 1024 ** 2,
      wallSeconds: (Date.now() - started) / 1000,
      ...(processes ? { processes } : {}),
    };
  } finally {
    for (const m of all) m.stop();
  }
}

async function floor(kinesis: MemoryEndpoint, records: number, timeoutMs: number, transform = false): Promise<CopyRun> {
  const s = await prefilled(kinesis, transform ? 'floor-json' : 'floor', records);
  const started = Date.now();
  const child = spawn(process.execPath, [join(__dirname, '..', 'floor.js'), kinesis.endpoint, s.inputArn, s.outputArn, String(records), ...(transform ? ['JSON'] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  guardService(child);
  const monitor = new ProcessMonitor(child.pid!, 100, true);
  try {
    return await measure(kinesis, transform ? 'floor with the stock transform (SDK loop)' : 'floor (SDK loop)', s.output, records, monitor, timeoutMs, started, () => {
      if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`the floor exited with ${child.exitCode}`);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/** The peer contender, `bench/peer/lifion-copier.ts`, as its own measured process (dynalite inside it). */
async function peer(kinesis: MemoryEndpoint, records: number, timeoutMs: number): Promise<CopyRun> {
  const s = await prefilled(kinesis, 'peer', records);
  const started = Date.now();
  const child = spawn(process.execPath, [join(__dirname, '..', 'peer', 'lifion-copier.js'), kinesis.endpoint, s.input, s.output, String(records)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
  });
  guardService(child);
  const monitor = new ProcessMonitor(child.pid!, 100, true);
  try {
    return await measure(kinesis, PEER, s.output, records, monitor, timeoutMs, started, () => {
      if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`the lifion-kinesis copier exited with ${child.exitCode}`);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * One shardflow copy on the bench endpoint: a coordinator and one measured worker with `groups`, until
 * `records` user records reached `output`; with `oneProcess`, a single `worker --coordinate` process
 * instead. The other scenarios (hot key, aggregation) copy through it too.
 * BENCH_PROFILE_DIR=<dir> leaves a V8 CPU profile of each measured worker there, named after `label`
 * (open it in Chrome DevTools).
 */
export async function shardflowCopy(kinesis: MemoryEndpoint, contender: string, label: string, groups: Groups, output: string, records: number, timeoutMs: number, oneProcess = false): Promise<CopyRun> {
  const run = new BenchProcesses();
  try {
    const app = run.app(`bench-${label}`);
    const properties = writeProperties(groups);
    const started = Date.now();
    const coordinator = oneProcess ? undefined : run.shardflow('coordinator', properties, app);
    if (coordinator) await waitForLog(coordinator, 'coordinator started', 30_000);
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=worker-${label}-${Date.now()}.cpuprofile`] : [];
    const worker = run.shardflow('worker', properties, app, { env: { LOG_LEVEL: oneProcess ? 'info' : 'warn' }, nodeArgs: profile, flags: oneProcess ? ['--coordinate'] : [] });
    if (!coordinator) await waitForLog(worker, 'coordinator started', 30_000);
    const roles = coordinator ? ([['coordinator', coordinator], ['worker', worker]] as const) : ([['worker --coordinate', worker]] as const);
    // The coordinator and the worker together, as the peer's one process is measured whole; each apart too.
    const monitor = new ProcessMonitor(roles.map(([, p]) => p.child.pid!), 100, true);
    // PSS for the group only: reading it walks a process's page tables (about 1 ms for a 200 MiB worker,
    // on this process's CPU), which the per-process monitors would do a second time every sample.
    const parts = coordinator ? { coordinator: new ProcessMonitor(coordinator.child.pid!, 100), worker: new ProcessMonitor(worker.child.pid!, 100) } : undefined;
    return await measure(kinesis, contender, output, records, monitor, timeoutMs, started, () => {
      for (const [role, p] of roles) {
        if (p.child.exitCode !== null) throw new Error(`shardflow ${role} exited with ${p.child.exitCode}:\n${p.output().slice(-2000)}`);
      }
    }, parts);
  } finally {
    await run.stopAll();
  }
}

/**
 * Flink's sink buffer (shardflow's default is 25,000): a POLLING page is a quarter of it with 4 shards,
 * 2,500 records instead of 6,250, so this copy shows what the bigger default buys and costs.
 */
const FLINK_BUFFER = 10_000;

async function shardflow(kinesis: MemoryEndpoint, reader: 'POLLING' | 'EFO', records: number, timeoutMs: number, options: { oneProcess?: boolean; maxBuffered?: number } = {}): Promise<CopyRun> {
  const { oneProcess = false, maxBuffered } = options;
  const s = await prefilled(kinesis, reader.toLowerCase(), records);
  const shape = oneProcess ? ', one process (worker --coordinate)' : '';
  const buffer = maxBuffered ? `, sink.requests.max-buffered ${maxBuffered.toLocaleString('en-US')}` : '';
  const groups = benchProperties(kinesis.endpoint, s.inputArn, s.outputArn, reader);
  if (maxBuffered) groups.OutputStream0['sink.requests.max-buffered'] = String(maxBuffered);
  return shardflowCopy(kinesis, `shardflow ${reader}${shape}${buffer}`, `${reader.toLowerCase()}${oneProcess ? '-one' : ''}${maxBuffered ? '-flink' : ''}`, groups, s.output, records, timeoutMs, oneProcess);
}

/** The run with the median rate (its CPU and RSS go with it); for an even count, the lower middle one. */
export function medianRun(runs: readonly CopyRun[]): CopyRun {
  const sorted = [...runs].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export const throughput: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 200_000;
  const timeoutMs = quick ? 60_000 : 300_000;
  const rounds = quick ? 1 : PEER_ROUNDS;
  const kinesis = await MemoryEndpoint.start();
  const runs: CopyRun[] = [];
  const pairs: Array<{ floor: CopyRun; transformingFloor: CopyRun; polling: CopyRun; one: CopyRun; flink: CopyRun; peer: CopyRun }> = [];
  const report = (r: CopyRun) => {
    const parts = r.processes ? ` (${Object.entries(r.processes).map(([name, p]) => `${name} ${p.cpuSecondsPer1000.toFixed(3)} CPU s, ${p.peakRssMiB.toFixed(0)} MiB`).join('; ')})` : '';
    log(`  ${r.contender}: ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} records/s, ${r.cpuSecondsPer1000.toFixed(3)} CPU s per 1,000, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, PSS ${r.peakPssMiB.toFixed(0)} MiB${parts}`);
    runs.push(r);
    return r;
  };
  let efo: CopyRun;
  try {
    efo = report(await shardflow(kinesis, 'EFO', records, timeoutMs));
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) log(`  round ${round} of ${rounds}: the floor (bare, then with the stock transform), shardflow POLLING (coordinator + worker; one process; one process with Flink's ${FLINK_BUFFER.toLocaleString('en-US')}-record buffer), then ${PEER}`);
      const base = report(await floor(kinesis, records, timeoutMs));
      const transformingFloor = report(await floor(kinesis, records, timeoutMs, true));
      const polling = report(await shardflow(kinesis, 'POLLING', records, timeoutMs));
      const one = report(await shardflow(kinesis, 'POLLING', records, timeoutMs, { oneProcess: true }));
      const flink = report(await shardflow(kinesis, 'POLLING', records, timeoutMs, { oneProcess: true, maxBuffered: FLINK_BUFFER }));
      pairs.push({ floor: base, transformingFloor, polling, one, flink, peer: report(await peer(kinesis, records, timeoutMs)) });
    }
  } finally {
    await kinesis.stop();
  }
  const base = medianRun(pairs.map((p) => p.floor));
  const transformingFloor = medianRun(pairs.map((p) => p.transformingFloor));
  const polling = medianRun(pairs.map((p) => p.polling));
  const one = medianRun(pairs.map((p) => p.one));
  const flink = medianRun(pairs.map((p) => p.flink));
  const other = medianRun(pairs.map((p) => p.peer));
  const figures: Figure[] = [];
  for (const r of [base, transformingFloor, polling, one, flink, efo, other]) {
    const of = rounds > 1 && r !== efo ? ' (median round)' : '';
    figures.push({ name: `${r.contender} records/s${of}`, value: r.recordsPerSecond, unit: 'records/s' });
    figures.push({ name: `${r.contender} CPU per 1,000 records${of}`, value: r.cpuSecondsPer1000, unit: 'CPU s' });
    figures.push({ name: `${r.contender} peak RSS${of}`, value: r.peakRssMiB, unit: 'MiB' });
    figures.push({ name: `${r.contender} peak PSS${of}`, value: r.peakPssMiB, unit: 'MiB' });
  }
  const over = rounds > 1 ? `, median of ${rounds} rounds` : '';
  // Each round's floor and POLLING ran back to back: the ratio is taken per round, then the median.
  const floorRatios = {
    throughput: median(pairs.map((p) => p.polling.recordsPerSecond / p.floor.recordsPerSecond)),
    cpuPerRecord: median(pairs.map((p) => p.polling.cpuSecondsPer1000 / p.floor.cpuSecondsPer1000)),
    sameTransformThroughput: median(pairs.map((p) => p.polling.recordsPerSecond / p.transformingFloor.recordsPerSecond)),
    sameTransformCpuPerRecord: median(pairs.map((p) => p.polling.cpuSecondsPer1000 / p.transformingFloor.cpuSecondsPer1000)),
    transformThroughput: median(pairs.map((p) => p.transformingFloor.recordsPerSecond / p.floor.recordsPerSecond)),
    transformCpuPerRecord: median(pairs.map((p) => p.transformingFloor.cpuSecondsPer1000 / p.floor.cpuSecondsPer1000)),
  };
  // The targets: against the floor doing the same work (the stock transform), as every contender does.
  figures.push(atLeast(`POLLING / floor with the stock transform${over}`, floorRatios.sameTransformThroughput, 'x', 0.9));
  figures.push(atMost(`POLLING / floor with the stock transform CPU per record${over}`, floorRatios.sameTransformCpuPerRecord, 'x', 1.2));
  // Against the bare floor (no transform), and that floor's own distance from it: the transform's share.
  figures.push({ name: `POLLING / floor${over}`, value: floorRatios.throughput, unit: 'x' });
  figures.push({ name: `POLLING / floor CPU per record${over}`, value: floorRatios.cpuPerRecord, unit: 'x' });
  figures.push({ name: `floor with the stock transform / floor${over}`, value: floorRatios.transformThroughput, unit: 'x' });
  figures.push({ name: `floor with the stock transform / floor CPU per record${over}`, value: floorRatios.transformCpuPerRecord, unit: 'x' });
  // EFO runs once, before the rounds: against the median floor.
  figures.push({ name: `EFO / floor${rounds > 1 ? ' (median round)' : ''}`, value: efo.recordsPerSecond / base.recordsPerSecond, unit: 'x' });
  // Unthrottled, 4 shards: the worker's own peak (the coordinator's is in the details and in the peer ratio).
  const workerRss = polling.processes?.worker?.peakRssMiB ?? polling.peakRssMiB;
  figures.push(atMost('POLLING worker peak RSS, unthrottled, 4 shards', workerRss, 'MiB', 200));
  // Each round's POLLING and peer ran back to back: the ratio is taken per round, then the median.
  const ratios = {
    throughput: median(pairs.map((p) => p.polling.recordsPerSecond / p.peer.recordsPerSecond)),
    cpuPerRecord: median(pairs.map((p) => p.polling.cpuSecondsPer1000 / p.peer.cpuSecondsPer1000)),
    peakRss: median(pairs.map((p) => p.polling.peakRssMiB / p.peer.peakRssMiB)),
    peakPss: median(pairs.map((p) => p.polling.peakPssMiB / p.peer.peakPssMiB)),
    workerPeakRss: median(pairs.map((p) => (p.polling.processes?.worker?.peakRssMiB ?? p.polling.peakRssMiB) / p.peer.peakRssMiB)),
    oneProcessThroughput: median(pairs.map((p) => p.one.recordsPerSecond / p.peer.recordsPerSecond)),
    oneProcessCpuPerRecord: median(pairs.map((p) => p.one.cpuSecondsPer1000 / p.peer.cpuSecondsPer1000)),
    oneProcessPeakRss: median(pairs.map((p) => p.one.peakRssMiB / p.peer.peakRssMiB)),
    flinkBufferThroughput: median(pairs.map((p) => p.flink.recordsPerSecond / p.peer.recordsPerSecond)),
    flinkBufferPeakRss: median(pairs.map((p) => p.flink.peakRssMiB / p.peer.peakRssMiB)),
  };
  figures.push(atLeast(`POLLING / peer records/s${over}`, ratios.throughput, 'x', 1.3));
  figures.push(atMost(`POLLING / peer CPU per record${over}`, ratios.cpuPerRecord, 'x', 0.99));
  // Memory of the two processes together: their summed PSS, which counts the Node binary's pages they
  // share once; a sum of their RSS counts them twice (about 44 MiB), and is reported beside it.
  figures.push(atMost(`POLLING (coordinator + worker) / peer peak memory (summed PSS)${over}`, ratios.peakPss, 'x', 0.99));
  figures.push({ name: `POLLING (coordinator + worker) / peer peak RSS, summed${over}`, value: ratios.peakRss, unit: 'x' });
  figures.push({ name: `POLLING worker alone / peer peak RSS${over}`, value: ratios.workerPeakRss, unit: 'x' });
  // The same copy by one `worker --coordinate` process, the deployment whose shape matches the peer's.
  figures.push(atLeast(`POLLING one process / peer records/s${over}`, ratios.oneProcessThroughput, 'x', 1.3));
  figures.push(atMost(`POLLING one process / peer CPU per record${over}`, ratios.oneProcessCpuPerRecord, 'x', 0.99));
  figures.push(atMost(`POLLING one process / peer peak RSS${over}`, ratios.oneProcessPeakRss, 'x', 0.99));
  // The page size against memory: the same one process with Flink's smaller buffer (pages of 2,500), no target.
  figures.push({ name: `POLLING one process, ${FLINK_BUFFER.toLocaleString('en-US')}-record buffer (Flink's) / floor${over}`, value: median(pairs.map((p) => p.flink.recordsPerSecond / p.floor.recordsPerSecond)), unit: 'x' });
  figures.push({ name: `POLLING one process, ${FLINK_BUFFER.toLocaleString('en-US')}-record buffer (Flink's) / peer records/s${over}`, value: ratios.flinkBufferThroughput, unit: 'x' });
  figures.push({ name: `POLLING one process, ${FLINK_BUFFER.toLocaleString('en-US')}-record buffer (Flink's) / peer peak RSS${over}`, value: ratios.flinkBufferPeakRss, unit: 'x' });
  return { scenario: 'throughput', figures, details: { records, shards: SHARDS, rounds, peer: PEER, floorRatios, ratios, runs } };
};
