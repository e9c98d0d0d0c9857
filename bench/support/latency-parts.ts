/**
 * Pure helpers that split an end-to-end latency into parts without touching the worker: the worker's
 * own PutRecords histogram (Prometheus text, read before and after a phase), the output's PutRecords
 * requests as the bench endpoint logs them, and the output records grouped by the request that wrote them.
 */
import { percentile } from '../scenario';

export interface HistogramTotals {
  sum: number;
  count: number;
}

/**
 * The `_sum` and `_count` of a Prometheus histogram in a /metrics text, added up over its label sets
 * (a process's default labels put one on every line); zero when absent.
 */
export function histogramTotals(text: string, name: string): HistogramTotals {
  const total = (series: string): number => {
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(series)) continue;
      const rest = line.slice(series.length);
      if (!rest.startsWith(' ') && !rest.startsWith('{')) continue; // another metric whose name starts the same
      const n = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(n)) sum += n;
    }
    return sum;
  };
  return { sum: total(`${name}_sum`), count: total(`${name}_count`) };
}

/** The mean of the observations between two readings of a histogram, in the histogram's unit; NaN when none. */
export function meanBetween(before: HistogramTotals, after: HistogramTotals): number {
  const count = after.count - before.count;
  return count > 0 ? (after.sum - before.sum) / count : Number.NaN;
}

/** One PutRecords request as the bench endpoint's puts log has it. */
export interface PutLogEntry {
  at: number;
  records: number;
  accepted: number;
}

export interface RequestFigures {
  requests: number;
  recordsPerRequestP50: number;
  recordsPerRequestMax: number;
  /** Gap between one request and the next, ms. */
  gapP50Ms: number;
  gapP99Ms: number;
}

/** Records per request and the gaps between requests, for the requests at or after `from` and before `to`. */
export function requestFigures(log: readonly PutLogEntry[], from: number, to: number): RequestFigures {
  const inWindow = log.filter((e) => e.at >= from && e.at < to).sort((a, b) => a.at - b.at);
  const sizes = inWindow.map((e) => e.records);
  const gaps = inWindow.slice(1).map((e, i) => e.at - inWindow[i].at);
  return {
    requests: inWindow.length,
    recordsPerRequestP50: percentile(sizes, 50),
    recordsPerRequestMax: sizes.length ? sizes.reduce((a, b) => Math.max(a, b)) : Number.NaN,
    gapP50Ms: percentile(gaps, 50),
    gapP99Ms: percentile(gaps, 99),
  };
}

export interface OutputBatch {
  records: number;
  /** Arrival − sent_at of the batch's oldest record: the longest any of its records took. */
  oldestAgeMs: number;
  /** Arrival − sent_at of its newest record: the least time a record can spend from producer to output. */
  newestAgeMs: number;
}

/**
 * The output records grouped by arrival stamp: one PutRecords request stamps all its records with the
 * same millisecond, so a group is a request (two requests landing in the same millisecond count as one).
 */
export function outputBatches(arrivals: Iterable<{ sentAt: number; arrivedAt: number }>): OutputBatch[] {
  const byArrival = new Map<number, { records: number; oldest: number; newest: number }>();
  for (const a of arrivals) {
    const b = byArrival.get(a.arrivedAt);
    if (!b) byArrival.set(a.arrivedAt, { records: 1, oldest: a.sentAt, newest: a.sentAt });
    else {
      b.records++;
      b.oldest = Math.min(b.oldest, a.sentAt);
      b.newest = Math.max(b.newest, a.sentAt);
    }
  }
  return [...byArrival].sort(([x], [y]) => x - y).map(([at, b]) => ({ records: b.records, oldestAgeMs: at - b.oldest, newestAgeMs: at - b.newest }));
}
