/**
 * The sink's flush modes side by side (`sink.flush-buffer.mode`, issue #13): FIXED (a partial request
 * always waits `sink.flush-buffer.timeout`, 200 ms) then ADAPTIVE (a partial request goes at once when
 * nothing is in flight, else with the next answer), in one run on the in-memory Kinesis. For each mode:
 *   - latency: a fresh 2-shard input and output, a shardflow coordinator and one POLLING worker, every
 *     other property at its default (`source.shard.get-records.interval` 200 ms). After warm-up records,
 *     a producer writes 100 records/s, 10 every 100 ms, each carrying `sent_at` taken just before its
 *     PutRecords call; a record's latency is its output record's ApproximateArrivalTimestamp (stamped by
 *     the in-memory Kinesis in ms, same clock) minus `sent_at`, as in `latency.ts`;
 *   - throughput: the copy of `throughput.ts` (pre-filled 4-shard input, one POLLING worker, unthrottled),
 *     records/s between the first and the last arrival; in the full run 3 pairs of copies back to back,
 *     the order alternating (FIXED first, then ADAPTIVE first, …), judged by the median of the pairs'
 *     ratios: a single pair once read 0.68 while the other scenarios' ADAPTIVE copies of the same run
 *     matched FIXED's rate, the machine having slowed down for that one copy (its CPU per record +42 %).
 * The ratios ADAPTIVE / FIXED are the figures judged: throughput must not drop (≥ 0.95) and p99 must fall.
 */
import { uniqueName, waitFor } from '../../test/support/wait';
import { writeProperties, type Groups } from '../../test/support/properties';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { BenchProcesses, leasesHeld, waitForLog } from '../support/processes';
import { atLeast, atMost, median, percentile, type Figure, type Scenario } from '../scenario';
import { latencies, OutputWatcher, produce } from '../support/latency-readers';
import { benchProperties, prefilled, shardflowCopy, type CopyRun } from './throughput';

type Mode = 'FIXED' | 'ADAPTIVE';
const MODES: Mode[] = ['FIXED', 'ADAPTIVE'];
const SHARDS = 2;
const PER_SECOND = 100;
const PER_BATCH = 10; // every 100 ms
const WARM_UP_RECORDS = 20;
const DRAIN_MS = 20_000;
const THROUGHPUT_PAIRS = 3;

function withMode(groups: Groups, mode: Mode): Groups {
  return { ...groups, OutputStream0: { ...groups.OutputStream0, 'sink.flush-buffer.mode': mode } };
}

interface LatencyRun {
  mode: Mode;
  sent: number;
  missing: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function latencyRun(kinesis: MemoryEndpoint, mode: Mode, durationS: number): Promise<LatencyRun> {
  const run = new BenchProcesses();
  let watcher: OutputWatcher | undefined;
  try {
    const inputArn = await kinesis.createStream(uniqueName(`linger-lat-in-${mode.toLowerCase()}`), SHARDS);
    const outputArn = await kinesis.createStream(uniqueName(`linger-lat-out-${mode.toLowerCase()}`), SHARDS);
    const app = run.app(`bench-linger-lat-${mode.toLowerCase()}`);
    const properties = writeProperties(withMode(benchProperties(kinesis.endpoint, inputArn, outputArn, 'POLLING'), mode));
    await waitForLog(run.shardflow('coordinator', properties, app), 'coordinator started', 30_000);
    const worker = run.shardflow('worker', properties, app);
    await waitFor(() => leasesHeld(worker).size === SHARDS, 60_000, () => `the worker holding ${SHARDS} leases\n${worker.output().slice(-2000)}`, 50);
    watcher = new OutputWatcher(kinesis.client, outputArn);
    await watcher.start();
    const warm = await produce(kinesis.client, inputArn, 'warm', WARM_UP_RECORDS, WARM_UP_RECORDS);
    await waitFor(() => watcher!.has(warm), 30_000, 'the warm-up records in the output', 50);
    const ids = await produce(kinesis.client, inputArn, 'lat', PER_SECOND * durationS, PER_BATCH);
    await waitFor(() => watcher!.has(ids), DRAIN_MS, 'every record in the output', 50).catch(() => undefined); // missing ones are a figure
    await watcher.stop();
    const l = latencies(mode, watcher, ids);
    const [p50Ms, p95Ms, p99Ms] = [50, 95, 99].map((p) => percentile(l.ms, p));
    return { mode, sent: ids.length, missing: l.missing, p50Ms, p95Ms, p99Ms, maxMs: l.ms.length ? Math.max(...l.ms) : Number.NaN };
  } finally {
    await watcher?.stop();
    await run.stopAll();
  }
}

async function throughputRun(kinesis: MemoryEndpoint, mode: Mode, records: number, timeoutMs: number): Promise<CopyRun> {
  const label = `linger-${mode.toLowerCase()}`;
  const s = await prefilled(kinesis, label, records);
  return shardflowCopy(kinesis, `POLLING ${mode}`, label, withMode(benchProperties(kinesis.endpoint, s.inputArn, s.outputArn, 'POLLING'), mode), s.output, records, timeoutMs);
}

export const linger: Scenario = async ({ quick, log }) => {
  const durationS = quick ? 8 : 30;
  const records = quick ? 50_000 : 300_000;
  const timeoutMs = quick ? 60_000 : 300_000;
  const kinesis = await MemoryEndpoint.start();
  const pairs = quick ? 1 : THROUGHPUT_PAIRS;
  const lat = {} as Record<Mode, LatencyRun>;
  const copies: Array<Record<Mode, CopyRun>> = [];
  try {
    for (const mode of MODES) {
      lat[mode] = await latencyRun(kinesis, mode, durationS);
      log(`  ${mode} latency at ${PER_SECOND} records/s: p50 ${lat[mode].p50Ms} ms, p99 ${lat[mode].p99Ms} ms, ${lat[mode].missing} of ${lat[mode].sent} missing`);
    }
    for (let pair = 0; pair < pairs; pair++) {
      const copy = {} as Record<Mode, CopyRun>;
      for (const mode of pair % 2 === 0 ? MODES : [...MODES].reverse()) {
        copy[mode] = await throughputRun(kinesis, mode, records, timeoutMs);
        log(`  ${mode} throughput${pairs > 1 ? ` (pair ${pair + 1} of ${pairs})` : ''}: ${Math.round(copy[mode].recordsPerSecond).toLocaleString('en-US')} records/s, ${copy[mode].cpuSecondsPer1000.toFixed(3)} CPU s per 1,000`);
      }
      copies.push(copy);
    }
  } finally {
    await kinesis.stop();
  }
  const of = pairs > 1 ? ' (median)' : '';
  const figures: Figure[] = [];
  for (const mode of MODES) {
    figures.push({ name: `${mode} latency p50`, value: lat[mode].p50Ms, unit: 'ms' });
    figures.push({ name: `${mode} latency p99`, value: lat[mode].p99Ms, unit: 'ms' });
    figures.push(atMost(`${mode} records missing (of ${lat[mode].sent})`, lat[mode].missing, 'records', 0));
    figures.push({ name: `${mode} records/s${of}`, value: median(copies.map((c) => c[mode].recordsPerSecond)), unit: 'records/s' });
    figures.push({ name: `${mode} CPU per 1,000 records${of}`, value: median(copies.map((c) => c[mode].cpuSecondsPer1000)), unit: 'CPU s' });
  }
  figures.push({ name: 'latency p50 ADAPTIVE / FIXED', value: lat.ADAPTIVE.p50Ms / lat.FIXED.p50Ms, unit: 'x' });
  figures.push(atMost('latency p99 ADAPTIVE / FIXED', lat.ADAPTIVE.p99Ms / lat.FIXED.p99Ms, 'x', 0.99));
  const rateRatios = copies.map((c) => c.ADAPTIVE.recordsPerSecond / c.FIXED.recordsPerSecond);
  figures.push(atLeast(`records/s ADAPTIVE / FIXED${pairs > 1 ? `, median of ${pairs} pairs` : ''}`, median(rateRatios), 'x', 0.95));
  return {
    scenario: 'linger',
    figures,
    details: {
      order: MODES,
      latency: { shards: SHARDS, perSecond: PER_SECOND, durationS, runs: lat, measuredAs: 'output ApproximateArrivalTimestamp (in-memory Kinesis, ms) − sent_at taken just before PutRecords; all other properties at their defaults' },
      throughput: { records, shards: 4, pairs: copies, rateRatios },
    },
  };
};
