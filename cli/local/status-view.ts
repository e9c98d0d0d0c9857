/**
 * The local stack's live status line: records in and out per second (out per output when there are
 * several, from the workers' /metrics), leases per worker, lag and the dead-lettered count, from the
 * workers' published status. Pure.
 */
import { streamNameOf } from '../../shared/redis/keys';
import type { WorkerStatus } from '../../worker/status-reporter';

export interface StatusTotals {
  read: number;
  written: number;
  deadLettered: number;
  /** Dead letters by reason, every worker together. */
  deadLetteredByReason?: Record<string, number>;
  /** Records a transform module filtered out. */
  filtered?: number;
  /** The sinks' order violations and misplaced records (KPL after a reshard). */
  orderViolations?: number;
  misplacedRecords?: number;
  leasesByWorker: Array<{ worker: string; leases: number }>;
  maxLagMs: number | undefined;
  /** Reader types of the live leases (POLLING, EFO). */
  readers: string[];
  /** Live leases per input stream (by name), when there are several streams. */
  leasesByStream: Array<{ stream: string; leases: number }>;
}

/** Cumulative totals over every worker; leases and lag over those that reported within `freshMs`. */
export function summarize(statuses: readonly WorkerStatus[], now: number, freshMs = 5000): StatusTotals {
  const live = statuses.filter((s) => now - s.updatedAt <= freshMs);
  let maxLagMs: number | undefined;
  for (const s of live) {
    for (const lease of s.leases) {
      if (lease.millisBehindLatest !== undefined) maxLagMs = Math.max(maxLagMs ?? 0, lease.millisBehindLatest);
    }
  }
  return {
    read: statuses.reduce((sum, s) => sum + s.totals.read, 0),
    written: statuses.reduce((sum, s) => sum + s.totals.written, 0),
    deadLettered: statuses.reduce((sum, s) => sum + s.totals.deadLettered, 0),
    deadLetteredByReason: sumByKey(statuses.map((s) => s.totals.deadLetteredByReason ?? {})),
    filtered: statuses.reduce((sum, s) => sum + (s.totals.filtered ?? 0), 0),
    orderViolations: statuses.reduce((sum, s) => sum + (s.sink?.orderViolations ?? 0), 0),
    misplacedRecords: statuses.reduce((sum, s) => sum + (s.sink?.misplacedRecords ?? 0), 0),
    leasesByWorker: live.map((s) => ({ worker: s.worker, leases: s.leases.length })).sort((a, b) => a.worker.localeCompare(b.worker)),
    maxLagMs,
    readers: [...new Set(live.flatMap((s) => s.leases.map((l) => l.reader)))].sort(),
    leasesByStream: countByStream(live),
  };
}

function sumByKey(maps: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const map of maps) for (const [key, n] of Object.entries(map)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

/** `dead-lettered N` and, when there are any, the reasons; then the counters shown only when not zero. */
function countersText(totals: StatusTotals): string {
  const reasons = Object.entries(totals.deadLetteredByReason ?? {}).filter(([, n]) => n > 0);
  const dead = `dead-lettered ${totals.deadLettered}${reasons.length > 0 ? ` (${reasons.map(([reason, n]) => `${reason}: ${n}`).join(', ')})` : ''}`;
  const extra = [
    totals.filtered ? `filtered ${totals.filtered}` : '',
    totals.orderViolations ? `order violations ${totals.orderViolations}` : '',
    totals.misplacedRecords ? `misplaced ${totals.misplacedRecords}` : '',
  ].filter(Boolean);
  return [dead, ...extra].join(', ');
}

function countByStream(live: readonly WorkerStatus[]): Array<{ stream: string; leases: number }> {
  const counts = new Map<string, number>();
  for (const s of live) for (const lease of s.leases) if (lease.stream) counts.set(lease.stream, (counts.get(lease.stream) ?? 0) + 1);
  return [...counts].map(([arn, leases]) => ({ stream: streamNameOf(arn), leases })).sort((a, b) => a.stream.localeCompare(b.stream));
}

/** Records per second written to one output, by its property group. */
export interface OutputRate {
  output: string;
  perSecond: number;
}

/**
 * `outputs`: with more than one output, `out` gives each one's rate (`out OutputStream0 120/s,
 * OutputStream1 30/s`) instead of their sum.
 */
export function formatStatus(inPerSecond: number, outPerSecond: number, totals: StatusTotals, outputs: readonly OutputRate[] = []): string {
  const leases = totals.leasesByWorker.map((w) => `${w.worker}=${w.leases}`).join(' ') || 'none yet';
  const lag = totals.maxLagMs === undefined ? '-' : `${totals.maxLagMs} ms`;
  const out = outputs.length > 1 ? outputs.map((o) => `${o.output} ${o.perSecond.toFixed(0)}/s`).join(', ') : `${outPerSecond.toFixed(0)}/s`;
  const byStream = (totals.leasesByStream ?? []).length > 1 ? ` (streams ${totals.leasesByStream.map((s) => `${s.stream}=${s.leases}`).join(' ')})` : '';
  return (
    `in ${inPerSecond.toFixed(0)}/s, out ${out} | read ${totals.read}, written ${totals.written}, ` +
    `${countersText(totals)} | leases${totals.readers.length > 0 ? ` (${totals.readers.join(', ')})` : ''}: ${leases}${byStream} | max lag ${lag}`
  );
}

const WRITTEN_SAMPLE = /^shardflow_records_written_total\{([^}]*)\}\s+(\S+)/;
const OUTPUT_LABEL = /(?:^|,)output="((?:[^"\\]|\\.)*)"/;

/**
 * The records one process wrote, by output (its property group): the `shardflow_records_written_total`
 * series of its /metrics text (Prometheus text format), added up over their `stream` label. Pure.
 */
export function writtenByOutput(metricsText: string): Map<string, number> {
  const written = new Map<string, number>();
  for (const line of metricsText.split('\n')) {
    const sample = WRITTEN_SAMPLE.exec(line);
    if (!sample) continue;
    const output = OUTPUT_LABEL.exec(sample[1])?.[1];
    const value = Number(sample[2]);
    if (output === undefined || !Number.isFinite(value)) continue;
    written.set(output, (written.get(output) ?? 0) + value);
  }
  return written;
}

/** Where an operator of the local stack looks: the dashboard, each process's metrics, the logs. */
export interface StackAddresses {
  /** The dashboard's URL, or undefined when the coordinator does not serve one. */
  dashboardUrl: string | undefined;
  /** How the dashboard is protected: none (loopback only), basic auth for a user, or a bearer token. */
  dashboardAuth: { type: 'none' } | { type: 'basic'; username: string } | { type: 'token' };
  /** Process name -> its /metrics URL (/healthz and /readyz live beside it). */
  metrics: Record<string, string>;
  logDir: string;
}

/** The block `npm start` prints right after the processes started. Pure. */
export function formatAddresses(a: StackAddresses): string {
  const auth =
    a.dashboardAuth.type === 'basic'
      ? `basic auth, user "${a.dashboardAuth.username}", password from Dashboard auth.basic.password or SHARDFLOW_DASHBOARD_PASSWORD`
      : a.dashboardAuth.type === 'token'
        ? 'a bearer token (Dashboard auth.bearer.token or SHARDFLOW_DASHBOARD_TOKEN)'
        : 'no login: it listens on loopback only';
  const width = Math.max(...Object.keys(a.metrics).map((name) => name.length));
  const lines = [
    a.dashboardUrl ? `  dashboard  ${a.dashboardUrl}  (${auth})` : '  dashboard  off (Dashboard enabled = false); `shardflow dashboard` serves one',
    ...Object.entries(a.metrics).map(([name, url], i) => `  ${i === 0 ? 'metrics  ' : '         '}  ${name.padEnd(width)}  ${url}  (/healthz, /readyz beside it)`),
    `  logs       ${a.logDir}`,
  ];
  return `${lines.join('\n')}\n`;
}
