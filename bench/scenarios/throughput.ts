/**
 * Throughput of one worker against the floor set by the AWS SDK itself, on the in-memory Kinesis (which
 * never slows down as shards fill, unlike kinesis-local). Each contender copies the same number of
 * pre-filled stock records (4 shards) from a fresh input stream to a fresh output stream, one after the
 * other in the same run:
 *   - floor: `bench/floor.ts`, a plain GetRecords → PutRecords loop per shard, no Redis, no transform;
 *   - POLLING and EFO: a shardflow coordinator and one worker, full transform, checkpoints and leases.
 * Rates are measured between the first and the last arrival in the output stream, so start-up (module
 * loading, lease taking) does not count; CPU seconds are the copying process's own over the same window
 * (the worker's, for shardflow), and peak RSS is over the whole run.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomStock, stockEntry } from '../../generator/stock-records';
import { writeProperties, type Groups } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { ProcessMonitor } from '../support/process-stats';
import { BenchProcesses, guardService, waitForLog } from '../support/processes';
import { atLeast, type Figure, type Scenario } from '../scenario';

const SHARDS = 4;

export interface CopyRun {
  contender: string;
  records: number;
  recordsPerSecond: number;
  cpuSecondsPer1000: number;
  peakRssMiB: number;
  wallSeconds: number;
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

/** Waits for the copy to finish and turns the output's arrival times and the monitor's samples into a run. */
export async function measure(kinesis: MemoryEndpoint, contender: string, output: string, records: number, monitor: ProcessMonitor, timeoutMs: number, started: number, check: () => void): Promise<CopyRun> {
  // `check` throws when a measured process has died, so a crash is reported at once instead of at the deadline.
  await waitFor(async () => ((await kinesis.stats(output)).records > 0 ? true : undefined), timeoutMs, `${contender}: the first record in the output`, 20, check);
  monitor.sample();
  const cpuAtFirst = monitor.cpuSeconds;
  const done = await waitFor(async () => {
    const s = await kinesis.stats(output);
    // User records: with KPL aggregation one Kinesis record carries many.
    return s.userRecords >= records ? s : undefined;
  }, timeoutMs, `${contender}: ${records} records in the output`, 50, check);
  monitor.stop();
  const seconds = (done.lastArrivalMs! - done.firstArrivalMs!) / 1000;
  return {
    contender,
    records: done.userRecords,
    recordsPerSecond: done.userRecords / seconds,
    cpuSecondsPer1000: (monitor.cpuSeconds - cpuAtFirst) / (done.userRecords / 1000),
    peakRssMiB: monitor.peakRssBytes / 1024 ** 2,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

async function floor(kinesis: MemoryEndpoint, records: number, timeoutMs: number): Promise<CopyRun> {
  const s = await prefilled(kinesis, 'floor', records);
  const started = Date.now();
  const child = spawn(process.execPath, [join(__dirname, '..', 'floor.js'), kinesis.endpoint, s.inputArn, s.outputArn, String(records)], { stdio: ['ignore', 'ignore', 'inherit'] });
  guardService(child);
  const monitor = new ProcessMonitor(child.pid!, 100);
  try {
    return await measure(kinesis, 'floor (SDK loop)', s.output, records, monitor, timeoutMs, started, () => {
      if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`the floor exited with ${child.exitCode}`);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * One shardflow copy on the bench endpoint: a coordinator and one measured worker with `groups`, until
 * `records` user records reached `output`. The other scenarios (hot key, aggregation) copy through it too.
 * BENCH_PROFILE_DIR=<dir> leaves a V8 CPU profile of each measured worker there, named after `label`
 * (open it in Chrome DevTools).
 */
export async function shardflowCopy(kinesis: MemoryEndpoint, contender: string, label: string, groups: Groups, output: string, records: number, timeoutMs: number): Promise<CopyRun> {
  const run = new BenchProcesses();
  try {
    const app = run.app(`bench-${label}`);
    const properties = writeProperties(groups);
    const started = Date.now();
    const coordinator = run.shardflow('coordinator', properties, app);
    await waitForLog(coordinator, 'coordinator started', 30_000);
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=worker-${label}-${Date.now()}.cpuprofile`] : [];
    const worker = run.shardflow('worker', properties, app, { env: { LOG_LEVEL: 'warn' }, nodeArgs: profile });
    const monitor = new ProcessMonitor(worker.child.pid!, 100);
    return await measure(kinesis, contender, output, records, monitor, timeoutMs, started, () => {
      for (const [role, p] of [['coordinator', coordinator], ['worker', worker]] as const) {
        if (p.child.exitCode !== null) throw new Error(`shardflow ${role} exited with ${p.child.exitCode}:\n${p.output().slice(-2000)}`);
      }
    });
  } finally {
    await run.stopAll();
  }
}

async function shardflow(kinesis: MemoryEndpoint, reader: 'POLLING' | 'EFO', records: number, timeoutMs: number): Promise<CopyRun> {
  const s = await prefilled(kinesis, reader.toLowerCase(), records);
  return shardflowCopy(kinesis, `shardflow ${reader}`, reader.toLowerCase(), benchProperties(kinesis.endpoint, s.inputArn, s.outputArn, reader), s.output, records, timeoutMs);
}

export const throughput: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 200_000;
  const timeoutMs = quick ? 60_000 : 300_000;
  const kinesis = await MemoryEndpoint.start();
  const runs: CopyRun[] = [];
  try {
    for (const run of [() => floor(kinesis, records, timeoutMs), () => shardflow(kinesis, 'POLLING', records, timeoutMs), () => shardflow(kinesis, 'EFO', records, timeoutMs)]) {
      const r = await run();
      log(`  ${r.contender}: ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} records/s, ${r.cpuSecondsPer1000.toFixed(3)} CPU s per 1,000, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
      runs.push(r);
    }
  } finally {
    await kinesis.stop();
  }
  const [base, polling, efo] = runs;
  const figures: Figure[] = [];
  for (const r of runs) {
    figures.push({ name: `${r.contender} records/s`, value: r.recordsPerSecond, unit: 'records/s' });
    figures.push({ name: `${r.contender} CPU per 1,000 records`, value: r.cpuSecondsPer1000, unit: 'CPU s' });
    figures.push({ name: `${r.contender} peak RSS`, value: r.peakRssMiB, unit: 'MiB' });
  }
  figures.push(atLeast('POLLING / floor', polling.recordsPerSecond / base.recordsPerSecond, 'x', 0.8));
  figures.push({ name: 'EFO / floor', value: efo.recordsPerSecond / base.recordsPerSecond, unit: 'x' });
  figures.push(atLeast('POLLING records/s, one worker', polling.recordsPerSecond, 'records/s', 50_000));
  return { scenario: 'throughput', figures, details: { records, shards: SHARDS, runs } };
};
