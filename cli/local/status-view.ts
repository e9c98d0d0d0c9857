/**
 * The local stack's live status line: records in and out per second, leases per worker, lag and
 * the dead-lettered count, from the workers' published status. Pure.
 */
import type { WorkerStatus } from '../../worker/status-reporter';

export interface StatusTotals {
  read: number;
  written: number;
  deadLettered: number;
  leasesByWorker: Array<{ worker: string; leases: number }>;
  maxLagMs: number | undefined;
  /** Reader types of the live leases (POLLING, EFO). */
  readers: string[];
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
    leasesByWorker: live.map((s) => ({ worker: s.worker, leases: s.leases.length })).sort((a, b) => a.worker.localeCompare(b.worker)),
    maxLagMs,
    readers: [...new Set(live.flatMap((s) => s.leases.map((l) => l.reader)))].sort(),
  };
}

export function formatStatus(inPerSecond: number, outPerSecond: number, totals: StatusTotals): string {
  const leases = totals.leasesByWorker.map((w) => `${w.worker}=${w.leases}`).join(' ') || 'none yet';
  const lag = totals.maxLagMs === undefined ? '-' : `${totals.maxLagMs} ms`;
  return (
    `in ${inPerSecond.toFixed(0)}/s, out ${outPerSecond.toFixed(0)}/s | read ${totals.read}, written ${totals.written}, ` +
    `dead-lettered ${totals.deadLettered} | leases${totals.readers.length > 0 ? ` (${totals.readers.join(', ')})` : ''}: ${leases} | max lag ${lag}`
  );
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
