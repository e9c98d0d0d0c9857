/**
 * What a transform module costs (docs/transforms.md), on the in-memory Kinesis, in one run with the
 * built-in transforms it is compared against. Each contender is one `shardflow worker --coordinate`
 * process (POLLING, every other property at its default) copying pre-filled stock records from a fresh
 * input stream to a fresh 4-shard output stream; its modules are `bench/fixtures/transforms/*.mjs`.
 *   - stock: the built-in `SerializationType.type = JSON` (the mapping done on the bytes) against
 *     `stock-module.mjs` (`record.json()`, ticker set to AMZN, `JSON.stringify`): records/s, CPU per
 *     1,000 records and the ratio module / built-in (no target: what plain JavaScript costs);
 *   - the module boundary: the built-in `STRING` pass-through against `pass-through-module.mjs`
 *     (`(r) => r.data`): the ratio of their records/s, target ≥ 0.9 (the boundary costs at most 10 %);
 *   - `filter-half.mjs` (every other record answered null, by a counter) and `fan-out-two.mjs` (two
 *     outputs per record): input records/s, each against the built-in pass-through of the same round;
 *   - `async-5ms.mjs` (a 5 ms setTimeout per record, then its bytes) on one input shard: with a random
 *     key per record, against the ideal Transform.concurrency (16) / 5 ms = 3,200 records/s; with every
 *     record under `stock.py`'s one key "partitionkey", against 1 / 5 ms = 200 records/s (a key's
 *     records are transformed one at a time); target ≥ 0.8 of the ideal for both. Each runs right after
 *     its floor, the same module awaited in a bare loop in a Node process of its own (16 lanes, or one),
 *     reported beside it with no target: on a loaded machine a 5 ms `setTimeout` takes 5.5 to 7 ms, which
 *     the ideal does not allow for, and the ratio to the floor is shardflow's own share.
 * The 4-shard contenders copy 80,000 records (40,000 in the quick run) in rounds (3 in the full run, 1 in
 * the quick one), in reversed order every other round, and each ratio is taken within a round, then the
 * median of the rounds, because the shared machine's speed drifts during a run (`throughput.ts`). The two
 * async contenders run once, after the rounds (their rate is set by their timers rather than by the CPU),
 * with 16,000 and 2,000 records in both runs: a few seconds each at the ideal rate.
 *
 * How a rate is measured: from the output stream's PutRecords log (`GET /_bench/puts` of the in-memory
 * Kinesis, the time each request was carried out and the records it wrote), as the records written after
 * the first arrival over the time from the first arrival to the last (`steadyWindow`). The worker hands
 * records to the sink in chunks of one PutRecords request (500), so the output grows in steps: counting
 * the first step's records over the first-to-last span, as `throughput.ts`'s `measure` does, overstates
 * a slow contender's rate by a whole chunk (by a third for 2,000 records in 4 chunks). Start-up (loading,
 * lease taking) does not count. Rates are of **input** records: the output's rate divided by the outputs
 * per input, 1/2 for the filter (exactly half of an even input reaches the output) and 2 for the fan-out,
 * so a filter is not credited for records it did not write, nor a fan-out charged for writing two. CPU
 * is the worker process's user + system time over the same window, read off samples of /proc taken every
 * 20 ms with their wall-clock time (`cpuBetween`), per 1,000 input records of the window: sampling at the
 * moments the bench's own polling notices the first and the last record, as `measure` does, missed most
 * of a 20,000-record copy on a loaded machine (0.0005 CPU s per 1,000 records once).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONSTANT_PARTITION_KEY, randomStock } from '../../generator/stock-records';
import { TRANSFORM_CONCURRENCY } from '../../shared/config/options';
import { uniqueName, waitFor } from '../../test/support/wait';
import { writeProperties, type Groups } from '../../test/support/properties';
import type { PutLogEntry } from '../memory-kinesis/stream-store';
import { cpuBetween, inputRate, putGaps, steadyWindow, type CpuSample, type SteadyWindow } from '../support/steady-window';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { readProcess } from '../support/process-stats';
import { BenchProcesses, guardService } from '../support/processes';
import { atLeast, median, type Figure, type Scenario } from '../scenario';
import { benchProperties } from './throughput';

const SHARDS = 4;
const OUTPUT_SHARDS = 4;
const ROUNDS = 3;
/** The async module's wait per record (`async-5ms.mjs`). */
const ASYNC_WAIT_MS = 5;
const CONCURRENCY = TRANSFORM_CONCURRENCY.defaultValue!;

/** A module of `bench/fixtures/transforms/`, found from the source tree or from the compiled one under `dist/`. */
export function fixture(name: string, from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'bench', 'fixtures', 'transforms', name);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`bench/fixtures/transforms/${name} not found above ${from}`);
  }
}

/**
 * The async module's floor on this machine at this moment: its function awaited in a bare loop in a
 * Node process of its own (no shardflow), `lanes` records at a time, so the figures can tell a late
 * `setTimeout` on a loaded machine (which the ideal does not allow for) from shardflow's own overhead.
 */
const FLOOR_SCRIPT = `
import { pathToFileURL } from 'node:url';
const [file, count, lanes] = process.argv.slice(1);
const transform = (await import(pathToFileURL(file).href)).default;
const record = { data: Buffer.from('{}') };
let next = 0;
const started = performance.now();
await Promise.all(Array.from({ length: Number(lanes) }, async () => { while (next++ < Number(count)) await transform(record); }));
process.stdout.write(JSON.stringify({ recordsPerSecond: Number(count) / ((performance.now() - started) / 1000) }));
`;

async function asyncFloor(file: string, records: number, lanes: number): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SCRIPT, file, String(records), String(lanes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  guardService(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the async module's bare loop exited with ${code}: ${out}`);
  return (JSON.parse(out) as { recordsPerSecond: number }).recordsPerSecond;
}

type ContenderId = 'stock-builtin' | 'stock-module' | 'pass-builtin' | 'pass-module' | 'filter' | 'fan-out' | 'async-spread' | 'async-one-key';

interface Contender {
  name: string;
  /** The groups that choose the transform. */
  transform: Groups;
  shards: number;
  /** Input partition keys: a random UUID per record, or `stock.py`'s one key. */
  keys: 'spread' | 'one';
  /** Output records per input record: 1, 1/2 (the filter), 2 (the fan-out). */
  outputsPerInput: number;
}

const moduleGroups = (file: string): Groups => ({ Transform: { module: fixture(file) } });

const CONTENDERS: Record<ContenderId, Contender> = {
  'stock-builtin': { name: 'built-in stock (SerializationType JSON)', transform: { SerializationType: { type: 'JSON' } }, shards: SHARDS, keys: 'spread', outputsPerInput: 1 },
  'stock-module': { name: 'stock module (JSON.parse/stringify)', transform: moduleGroups('stock-module.mjs'), shards: SHARDS, keys: 'spread', outputsPerInput: 1 },
  'pass-builtin': { name: 'built-in pass-through (SerializationType STRING)', transform: { SerializationType: { type: 'STRING' } }, shards: SHARDS, keys: 'spread', outputsPerInput: 1 },
  'pass-module': { name: 'pass-through module (r => r.data)', transform: moduleGroups('pass-through-module.mjs'), shards: SHARDS, keys: 'spread', outputsPerInput: 1 },
  filter: { name: 'filter-half module', transform: moduleGroups('filter-half.mjs'), shards: SHARDS, keys: 'spread', outputsPerInput: 0.5 },
  'fan-out': { name: 'fan-out-two module', transform: moduleGroups('fan-out-two.mjs'), shards: SHARDS, keys: 'spread', outputsPerInput: 2 },
  'async-spread': { name: `async 5 ms module, 1 shard, random keys, concurrency ${CONCURRENCY}`, transform: moduleGroups('async-5ms.mjs'), shards: 1, keys: 'spread', outputsPerInput: 1 },
  'async-one-key': { name: `async 5 ms module, 1 shard, one key "${CONSTANT_PARTITION_KEY}"`, transform: moduleGroups('async-5ms.mjs'), shards: 1, keys: 'one', outputsPerInput: 1 },
};

/** The 4-shard contenders of a round, in the order of even rounds (odd rounds run them reversed). */
const ROUND_ORDER: ContenderId[] = ['pass-builtin', 'pass-module', 'stock-builtin', 'stock-module', 'filter', 'fan-out'];

export interface TransformRun {
  contender: string;
  inputRecords: number;
  outputRecords: number;
  /** Input records per second over the steady window. */
  recordsPerSecond: number;
  /** The worker's CPU seconds per 1,000 input records of the window. */
  cpuSecondsPer1000: number;
  peakRssMiB: number;
  window: SteadyWindow;
  /** The gaps between the output's PutRecords requests: a stall (a page read, say) shows as a large one. */
  gaps: ReturnType<typeof putGaps>;
  /** For the 1-shard contenders: each PutRecords request's time after the first, ms, to see how the output grew. */
  putsAtMs?: number[];
}

async function putsLog(endpoint: string, stream: string): Promise<PutLogEntry[]> {
  const res = await fetch(`${endpoint}/_bench/puts?stream=${encodeURIComponent(stream)}`);
  if (!res.ok) throw new Error(`the puts log of ${stream}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as PutLogEntry[];
}

/** How often the worker's CPU time is read: /proc counts it in 10 ms ticks. */
const CPU_SAMPLE_MS = 20;

/**
 * One `shardflow worker --coordinate` process with `groups`, until `outputRecords` records reached the
 * output; its CPU time read every CPU_SAMPLE_MS with the wall-clock time, so the CPU of any window can
 * be read off afterwards. BENCH_PROFILE_DIR=<dir> leaves a V8 CPU profile of the worker there.
 */
async function workerCopy(kinesis: MemoryEndpoint, contender: string, label: string, groups: Groups, output: string, outputRecords: number, timeoutMs: number): Promise<{ cpu: CpuSample[]; peakRssMiB: number }> {
  const run = new BenchProcesses();
  const cpu: CpuSample[] = [];
  let peakRss = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    const app = run.app(`bench-${label}`);
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=worker-${label}-${Date.now()}.cpuprofile`] : [];
    const worker = run.shardflow('worker', writeProperties(groups), app, { env: { LOG_LEVEL: 'info' }, nodeArgs: profile, flags: ['--coordinate'] });
    const pid = worker.child.pid!;
    const sample = () => {
      const s = readProcess(pid);
      if (!s) return;
      cpu.push({ atMs: Date.now(), cpuSeconds: s.cpuSeconds });
      peakRss = Math.max(peakRss, s.rssBytes);
    };
    sample();
    timer = setInterval(sample, CPU_SAMPLE_MS);
    await waitFor(async () => (await kinesis.stats(output)).userRecords >= outputRecords, timeoutMs, `${contender}: ${outputRecords} records in the output`, 50, () => {
      if (worker.child.exitCode !== null) throw new Error(`shardflow worker --coordinate exited with ${worker.child.exitCode}:\n${worker.output().slice(-2000)}`);
    });
    sample();
    return { cpu, peakRssMiB: peakRss / 1024 ** 2 };
  } finally {
    clearInterval(timer);
    await run.stopAll();
  }
}

async function copy(kinesis: MemoryEndpoint, id: ContenderId, records: number, timeoutMs: number): Promise<TransformRun> {
  const c = CONTENDERS[id];
  const input = uniqueName(`transform-${id}-in`);
  const output = uniqueName(`transform-${id}-out`);
  const inputArn = await kinesis.createStream(input, c.shards);
  const outputArn = await kinesis.createStream(output, OUTPUT_SHARDS);
  const now = new Date();
  await kinesis.putAll(inputArn, Array.from({ length: records }, () => ({ PartitionKey: c.keys === 'one' ? CONSTANT_PARTITION_KEY : randomUUID(), Data: Buffer.from(JSON.stringify(randomStock(now))) })));
  const groups = { ...benchProperties(kinesis.endpoint, inputArn, outputArn, 'POLLING'), ...c.transform };
  const outputRecords = Math.round(records * c.outputsPerInput);
  const { cpu, peakRssMiB } = await workerCopy(kinesis, c.name, `transform-${id}`, groups, output, outputRecords, timeoutMs);
  const puts = (await putsLog(kinesis.endpoint, output)).filter((p) => p.accepted > 0);
  const window = steadyWindow(puts);
  if (window.total !== outputRecords) throw new Error(`${c.name}: ${window.total} records written, ${outputRecords} expected`);
  const at = puts.map((p) => p.at);
  const first = Math.min(...at);
  const last = Math.max(...at);
  return {
    contender: c.name,
    inputRecords: records,
    outputRecords,
    recordsPerSecond: inputRate(window, c.outputsPerInput),
    cpuSecondsPer1000: cpuBetween(cpu, first, last) / (window.records / c.outputsPerInput / 1000),
    peakRssMiB,
    window,
    gaps: putGaps(at),
    ...(c.shards === 1 ? { putsAtMs: at.map((t) => t - first) } : {}),
  };
}

const rate = (r: TransformRun) => `${Math.round(r.recordsPerSecond).toLocaleString('en-US')} records/s`;

export const transform: Scenario = async ({ quick, log }) => {
  const records = quick ? 40_000 : 80_000;
  const rounds = quick ? 1 : ROUNDS;
  // A few seconds each at the ideal rate (16,000 at 3,200/s, 2,000 at 200/s), the same in both runs: 16,000
  // records cross one page boundary (a GetRecords page is 10,000 records), and 2,000 make 4 output requests.
  const asyncRecords = { spread: 16_000, one: 2_000 };
  const timeoutMs = quick ? 120_000 : 300_000;
  const kinesis = await MemoryEndpoint.start();
  const roundsRuns: Array<Record<string, TransformRun>> = [];
  const report = (r: TransformRun) => {
    log(`  ${r.contender}: ${rate(r)}, ${r.cpuSecondsPer1000.toFixed(4)} CPU s per 1,000 input records, peak RSS ${r.peakRssMiB.toFixed(0)} MiB (${r.window.records.toLocaleString('en-US')} records in ${r.window.seconds.toFixed(2)} s after the first arrival, ${r.window.requests} PutRecords)`);
    return r;
  };
  let spread: TransformRun;
  let oneKey: TransformRun;
  const floors = { spread: Number.NaN, one: Number.NaN };
  const floorRecords = { spread: asyncRecords.spread / 2, one: asyncRecords.one / 4 };
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ROUND_ORDER : [...ROUND_ORDER].reverse();
      if (rounds > 1) log(`  round ${round + 1} of ${rounds}`);
      const runs: Record<string, TransformRun> = {};
      for (const id of order) runs[id] = report(await copy(kinesis, id, records, timeoutMs));
      roundsRuns.push(runs);
    }
    // Each async contender right after its floor: the same module in a bare loop, as many at a time.
    const asyncFile = fixture('async-5ms.mjs');
    floors.spread = await asyncFloor(asyncFile, floorRecords.spread, CONCURRENCY);
    log(`  async 5 ms module in a bare loop, ${CONCURRENCY} at a time (no shardflow): ${Math.round(floors.spread).toLocaleString('en-US')} records/s`);
    spread = report(await copy(kinesis, 'async-spread', asyncRecords.spread, timeoutMs));
    floors.one = await asyncFloor(asyncFile, floorRecords.one, 1);
    log(`  async 5 ms module in a bare loop, one at a time (no shardflow): ${Math.round(floors.one).toLocaleString('en-US')} records/s`);
    oneKey = report(await copy(kinesis, 'async-one-key', asyncRecords.one, timeoutMs));
    log(`  async output gaps between PutRecords: random keys median ${spread.gaps.medianMs} ms, largest ${spread.gaps.maxMs} ms (after request ${spread.gaps.maxAfterRequest}); one key median ${oneKey.gaps.medianMs} ms, largest ${oneKey.gaps.maxMs} ms`);
  } finally {
    await kinesis.stop();
  }
  const of = rounds > 1 ? ' (median of rounds)' : '';
  const over = rounds > 1 ? `, median of ${rounds} rounds` : '';
  const med = (id: ContenderId, f: (r: TransformRun) => number) => median(roundsRuns.map((runs) => f(runs[id])));
  const ratio = (a: ContenderId, b: ContenderId, f: (r: TransformRun) => number) => median(roundsRuns.map((runs) => f(runs[a]) / f(runs[b])));
  const rps = (r: TransformRun) => r.recordsPerSecond;
  const cpu = (r: TransformRun) => r.cpuSecondsPer1000;
  const perRound = (a: ContenderId, b: ContenderId) => roundsRuns.map((runs) => (rps(runs[a]) / rps(runs[b])).toFixed(2)).join(', ');
  log(`  per round, records/s: stock module / built-in ${perRound('stock-module', 'stock-builtin')}; pass-through module / built-in ${perRound('pass-module', 'pass-builtin')}; filter / built-in pass-through ${perRound('filter', 'pass-builtin')}; fan-out / built-in pass-through ${perRound('fan-out', 'pass-builtin')}`);
  const figures: Figure[] = [];
  for (const id of ['stock-builtin', 'stock-module', 'pass-builtin', 'pass-module'] as const) {
    figures.push({ name: `${CONTENDERS[id].name} records/s${of}`, value: med(id, rps), unit: 'records/s' });
    figures.push({ name: `${CONTENDERS[id].name} CPU per 1,000 records${of}`, value: med(id, cpu), unit: 'CPU s' });
  }
  // 1. What the plain-JavaScript mapping costs against the built-in's byte-level one: reported, no target.
  figures.push({ name: `stock module / built-in stock records/s${over}`, value: ratio('stock-module', 'stock-builtin', rps), unit: 'x' });
  figures.push({ name: `stock module / built-in stock CPU per record${over}`, value: ratio('stock-module', 'stock-builtin', cpu), unit: 'x' });
  // 2. The module boundary alone: the same bytes out, through a module.
  figures.push(atLeast(`pass-through module / built-in pass-through records/s${over}`, ratio('pass-module', 'pass-builtin', rps), 'x', 0.9));
  figures.push({ name: `pass-through module / built-in pass-through CPU per record${over}`, value: ratio('pass-module', 'pass-builtin', cpu), unit: 'x' });
  // 4. Filter and fan-out, in input records, against the built-in pass-through of the same round.
  for (const id of ['filter', 'fan-out'] as const) {
    figures.push({ name: `${CONTENDERS[id].name} input records/s${of}`, value: med(id, rps), unit: 'records/s' });
    figures.push({ name: `${CONTENDERS[id].name} CPU per 1,000 input records${of}`, value: med(id, cpu), unit: 'CPU s' });
    figures.push({ name: `${CONTENDERS[id].name} / built-in pass-through input records/s${over}`, value: ratio(id, 'pass-builtin', rps), unit: 'x' });
  }
  // 3. The async module against its ideal: concurrency records per wait, or one per wait for one key.
  const ideal = { spread: (CONCURRENCY * 1000) / ASYNC_WAIT_MS, one: 1000 / ASYNC_WAIT_MS };
  figures.push({ name: `${spread.contender} records/s`, value: spread.recordsPerSecond, unit: 'records/s' });
  figures.push(atLeast(`${spread.contender} / ideal ${ideal.spread.toLocaleString('en-US')}/s`, spread.recordsPerSecond / ideal.spread, 'x', 0.8));
  // No target: the same module in a bare loop, run just before, shows how late this machine's timers are.
  figures.push({ name: `async 5 ms module, ${CONCURRENCY} at a time in a bare loop (no shardflow) records/s`, value: floors.spread, unit: 'records/s' });
  figures.push({ name: `${spread.contender} / the bare loop`, value: spread.recordsPerSecond / floors.spread, unit: 'x' });
  figures.push({ name: `${oneKey.contender} records/s`, value: oneKey.recordsPerSecond, unit: 'records/s' });
  figures.push(atLeast(`${oneKey.contender} / ideal ${ideal.one.toLocaleString('en-US')}/s`, oneKey.recordsPerSecond / ideal.one, 'x', 0.8));
  figures.push({ name: 'async 5 ms module, one at a time in a bare loop (no shardflow) records/s', value: floors.one, unit: 'records/s' });
  figures.push({ name: `${oneKey.contender} / the bare loop`, value: oneKey.recordsPerSecond / floors.one, unit: 'x' });
  return {
    scenario: 'transform',
    figures,
    details: {
      records,
      shards: SHARDS,
      outputShards: OUTPUT_SHARDS,
      rounds,
      order: ROUND_ORDER,
      asyncRecords,
      asyncWaitMs: ASYNC_WAIT_MS,
      concurrency: CONCURRENCY,
      ideal,
      floors,
      floorRecords,
      measuredAs: 'input records written after the first output arrival / (last − first arrival), from the in-memory Kinesis PutRecords log; CPU of the worker --coordinate process over the same window',
      runs: roundsRuns,
      async: { spread, oneKey },
    },
  };
};
