/**
 * The pure parts of the many-streams benchmark (bench/scenarios/many-streams.ts): sizes and layouts, the
 * streams file, balance and Redis command arithmetic, medians, ratios and figures. Unit-tested in
 * test/unit/bench-many-streams.test.ts.
 */
import { LEASE_KEY_SEPARATOR } from '../../shared/redis/keys';
import type { Groups } from '../../test/support/properties';
import type { WorkerStatus } from '../../worker/status-reporter';
import { atMost, median, type Figure } from '../scenario';
import { commandRates, parseCommandStats, parseProps as parsePropsOf } from './bench-inputs';

export { commandRates, parseCommandStats };

export type LayoutKind = 'one' | 'many';

export interface Layout {
  kind: LayoutKind;
  streams: number;
  shardsPerStream: number;
}

/** S leases as one stream and as N streams, on W workers, for R rounds of both. */
export interface Comparison {
  shards: number;
  streams: number;
  workers: number;
  rounds: number;
}

export const FULL: Comparison = { shards: 800, streams: 200, workers: 8, rounds: 3 };
export const QUICK: Comparison = { shards: 64, streams: 16, workers: 2, rounds: 1 };
/** Every stream's `source.shard.discovery.interval` (scale.ts's). */
export const DISCOVERY_INTERVAL_MS = 10_000;
/** `source.shard.idle-interval`'s default. */
export const IDLE_INTERVAL_DEFAULT_MS = 2_000;
/** Within 10 % of each other (issue #27). */
export const RATIO_TARGET = 1.1;
/** A worker whose status is older than this is not live (test/support/status.ts's rule). */
export const LIVE_STATUS_MS = 2500;
export const POLL_MS = 250;

/** The two layouts of a comparison; N must divide S. */
export function layoutsOf(c: Comparison): Record<LayoutKind, Layout> {
  const whole = (n: number) => Number.isInteger(n) && n > 0;
  if (!whole(c.shards) || !whole(c.streams) || !whole(c.workers) || !whole(c.rounds) || c.streams < 2 || c.shards % c.streams !== 0) {
    throw new Error(`many-streams: ${c.shards} shards over ${c.streams} streams on ${c.workers} workers, ${c.rounds} rounds: need whole numbers, at least 2 streams, and the streams dividing the shards`);
  }
  return { one: { kind: 'one', streams: 1, shardsPerStream: c.shards }, many: { kind: 'many', streams: c.streams, shardsPerStream: c.shards / c.streams } };
}

/** `1×800`, `200×4`. */
export function labelOf(layout: Pick<Layout, 'streams' | 'shardsPerStream'>): string {
  return `${layout.streams}×${layout.shardsPerStream}`;
}

/** The runs, alternating which layout goes first: one, many | many, one | one, many … (drift hits both alike). */
export function runOrder(rounds: number): LayoutKind[] {
  const order: LayoutKind[] = [];
  for (let r = 0; r < rounds; r++) order.push(...(r % 2 === 0 ? (['one', 'many'] as const) : (['many', 'one'] as const)));
  return order;
}

/** `SHARDFLOW_BENCH_MANY_STREAMS=<shards>x<streams>x<workers>[x<rounds>]` (rounds 3 unless given). */
export function parseComparison(spec: string | undefined): Comparison | undefined {
  if (!spec?.trim()) return undefined;
  const parts = spec.trim().split('x').map(Number);
  if (parts.length < 3 || parts.length > 4) throw new Error(`SHARDFLOW_BENCH_MANY_STREAMS: "${spec}" is not <shards>x<streams>x<workers>[x<rounds>]`);
  const [shards, streams, workers, rounds = 3] = parts;
  const c = { shards, streams, workers, rounds };
  layoutsOf(c); // validates
  return c;
}

/** `SHARDFLOW_BENCH_MANY_STREAMS_PROPS` (`key=value,…`) as input properties. */
export const parseProps = (spec: string | undefined): Record<string, string> => parsePropsOf(spec, 'SHARDFLOW_BENCH_MANY_STREAMS_PROPS');

/** The streams file of `Application.streams-file`: every stream by ARN, over the shared input keys. */
export function streamsFile(arns: readonly string[], defaults: Record<string, string>): { defaults: Record<string, string>; streams: string[] } {
  return { defaults, streams: [...arns] };
}

/**
 * The many-streams layout's properties from the one-stream layout's: the same output, dashboard and
 * input keys, the input group's keys (without its `stream.arn`) becoming the streams file's defaults.
 */
export function manyStreamsProperties(oneStream: Groups, arns: readonly string[], file: string): { groups: Groups; streams: ReturnType<typeof streamsFile> } {
  const { InputStream0: input, ...rest } = oneStream;
  if (!input) throw new Error('the one-stream properties have no InputStream0 group');
  const defaults = Object.fromEntries(Object.entries(input).filter(([key]) => key !== 'stream.arn'));
  return { groups: { ...rest, Application: { ...(rest.Application ?? {}), 'streams-file': file } }, streams: streamsFile(arns, defaults) };
}

// ---- what the fleet reports (pure) ------------------------------------------------------------------

export interface BalanceState {
  balanced: boolean;
  /** Workers that published within 2.5 s. */
  live: number;
  /** Leases the live workers hold, summed. */
  held: number;
  /** Distinct leases (stream + shard) held. */
  distinct: number;
  fewest: number;
  most: number;
}

/**
 * Whether `leases` leases are held by exactly `workers` live workers, each lease once, shares differing
 * by at most one. A lease is its stream and shard: shard ids repeat across streams.
 */
export function balanceOf(statuses: ReadonlyArray<Pick<WorkerStatus, 'updatedAt' | 'leases'>>, now: number, leases: number, workers: number): BalanceState {
  const live = statuses.filter((s) => now - s.updatedAt < LIVE_STATUS_MS);
  const counts = live.map((s) => s.leases.length);
  const distinct = new Set(live.flatMap((s) => s.leases.map((l) => `${l.stream}${LEASE_KEY_SEPARATOR}${l.shardId}`))).size;
  const held = counts.reduce((a, b) => a + b, 0);
  const fewest = counts.length > 0 ? Math.min(...counts) : 0;
  const most = counts.length > 0 ? Math.max(...counts) : 0;
  return { balanced: live.length === workers && distinct === leases && held === leases && most - fewest <= 1, live: live.length, held, distinct, fewest, most };
}

/** One run of one layout. */
export interface RunResult extends Layout {
  round: number;
  leases: number;
  workers: number;
  balancedFromSpawnS: number;
  /** From the last worker's "worker started" log line (the balancing alone), when every worker logged it. */
  balancedFromStartedS: number | undefined;
  windowS: number;
  redisCommandsPerLeasePerS: number;
  /** Commands per lease per second, by command (the largest first). */
  commandsPerLeasePerS: Record<string, number>;
  /** The window's Redis calls, by command (for comparing the layouts command by command). */
  commandCalls: Record<string, number>;
  workerCpuPercentPerLease: number;
  /** The coordinator's CPU per discovery interval (its CPU over the window, per 10 s), as scale.ts has it. */
  coordinatorCpuMsPerRound: number;
  /** Workers and coordinator, % of one core per lease. */
  idleCpuPercentPerLease: number;
  getRecordsPerLeasePerS: number;
  /** Kinesis calls per second in the window, by operation. */
  kinesisCallsPerS: Record<string, number>;
  workersRssMiB: number;
  coordinatorRssMiB: number;
  /** Still balanced at the window's end (nobody moved a lease in it). */
  balancedAfterWindow: boolean;
  /** The workers' and the coordinator's warnings and errors until the window's end, by message. */
  warnings: Record<string, number>;
  /** The workers' log lines at info and above until the window's end, by message (leases taken, released …). */
  workerLog: Record<string, number>;
  /** Seconds from a worker's spawn to its "worker started" line (process start-up): median and slowest. */
  workerStartupS: { median: number; max: number };
  /** [seconds, live workers, leases held, fewest, most] about once a second until balanced. */
  trace: number[][];
  loadAverage1m: { before: number; atBalance: number; windowStart: number; windowEnd: number };
}

/** The medians of one layout's runs. */
export interface LayoutMedians {
  label: string;
  runs: number;
  balancedFromSpawnS: number;
  redisCommandsPerLeasePerS: number;
  workerCpuPercentPerLease: number;
  coordinatorCpuMsPerRound: number;
  idleCpuPercentPerLease: number;
  workersRssMiB: number;
  loadAtBalance: number;
  loadOverWindow: number;
}

export type Measure = 'balancedFromSpawnS' | 'redisCommandsPerLeasePerS' | 'workerCpuPercentPerLease' | 'coordinatorCpuMsPerRound' | 'idleCpuPercentPerLease' | 'workersRssMiB';

export function mediansOf(runs: readonly RunResult[], label: string): LayoutMedians {
  const m = (f: (r: RunResult) => number) => median(runs.map(f).filter((v) => Number.isFinite(v)));
  return {
    label,
    runs: runs.length,
    balancedFromSpawnS: m((r) => r.balancedFromSpawnS),
    redisCommandsPerLeasePerS: m((r) => r.redisCommandsPerLeasePerS),
    workerCpuPercentPerLease: m((r) => r.workerCpuPercentPerLease),
    coordinatorCpuMsPerRound: m((r) => r.coordinatorCpuMsPerRound),
    idleCpuPercentPerLease: m((r) => r.idleCpuPercentPerLease),
    workersRssMiB: m((r) => r.workersRssMiB),
    loadAtBalance: m((r) => r.loadAverage1m.atBalance),
    loadOverWindow: m((r) => (r.loadAverage1m.windowStart + r.loadAverage1m.windowEnd) / 2),
  };
}

/** many/one per round (the runs of round r paired), for the spread behind the ratio of the medians. */
export function pairedRatios(runs: readonly RunResult[], measure: Measure): number[] {
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  return rounds.flatMap((round) => {
    const one = runs.find((r) => r.round === round && r.kind === 'one');
    const many = runs.find((r) => r.round === round && r.kind === 'many');
    return one && many ? [Number((many[measure] / one[measure]).toFixed(3))] : [];
  });
}

/** What each measure is called in the table, its unit, and whether the 10 % target applies. */
export const MEASURES: Array<{ key: Measure; name: string; unit: string; target: boolean }> = [
  { key: 'balancedFromSpawnS', name: 'balanced after spawn', unit: 's', target: true },
  { key: 'redisCommandsPerLeasePerS', name: 'idle Redis commands per lease', unit: '/s', target: true },
  { key: 'idleCpuPercentPerLease', name: 'idle CPU per lease (workers + coordinator)', unit: '% core', target: true },
  { key: 'workerCpuPercentPerLease', name: 'idle worker CPU per lease', unit: '% core', target: true },
  // A round lists every stream: it grows with the streams by design; the fleet figure judges its share.
  { key: 'coordinatorCpuMsPerRound', name: 'coordinator CPU per discovery round', unit: 'ms', target: false },
  { key: 'workersRssMiB', name: 'workers RSS (sum)', unit: 'MiB', target: false },
];

/**
 * The table's rows: per measure, each layout's median and the ratio many/one (of the medians), judged
 * against ≤ 1.10 where the issue sets it; then each layout's median 1-minute load average at the balance
 * and over the idle window, the machine's state beside the figures.
 */
export function figuresOf(one: LayoutMedians, many: LayoutMedians): Figure[] {
  const figures: Figure[] = [];
  for (const m of MEASURES) {
    figures.push({ name: `${one.label} ${m.name}`, value: one[m.key], unit: m.unit });
    figures.push({ name: `${many.label} ${m.name}`, value: many[m.key], unit: m.unit });
    const ratio = many[m.key] / one[m.key];
    const name = `${many.label}/${one.label} ${m.name}`;
    figures.push(m.target ? atMost(name, ratio, 'ratio', RATIO_TARGET) : { name, value: ratio, unit: 'ratio' });
  }
  for (const l of [one, many]) {
    figures.push({ name: `${l.label} load average (1 min) at balance`, value: l.loadAtBalance, unit: 'load' });
    figures.push({ name: `${l.label} load average (1 min) over the idle window`, value: l.loadOverWindow, unit: 'load' });
  }
  return figures;
}

/** The Node end-of-life notice every process logs once at warn: not about the run. */
const NOT_ABOUT_THE_RUN = /is past its end of life/;

/**
 * Log lines at `minLevel` or above (pino: 30 info, 40 warn, 50 error) in the processes' JSON logs, by
 * message, with the error where one is logged (`withErr`): what happened while balancing (leases taken,
 * released, lost; anything that failed).
 */
export function logCounts(outputs: readonly string[], minLevel: number, withErr = true): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const output of outputs) {
    for (const line of output.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
        if ((entry.level ?? 0) < minLevel || NOT_ABOUT_THE_RUN.test(entry.msg ?? '')) continue;
        const err = withErr && entry.err !== undefined ? `: ${(typeof entry.err === 'string' ? entry.err : JSON.stringify(entry.err)).slice(0, 160)}` : '';
        const key = `${entry.msg ?? ''}${err}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // a line still being written
      }
    }
  }
  return counts;
}

// ---- the run ----------------------------------------------------------------------------------------

