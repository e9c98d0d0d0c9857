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
