/**
 * Rates and CPU over a copy's steady window, read off the output stream's PutRecords log and a process's
 * CPU samples (`bench/scenarios/transform.ts` says why these, not `throughput.ts`'s `measure`). Pure.
 */
import type { PutLogEntry } from '../memory-kinesis/stream-store';
import { median } from '../scenario';

/** The output's steady part: the records written after its first arrival and the time they took. */
export interface SteadyWindow {
  /** Records accepted by the requests after the first arrival (those carried out in its millisecond excluded). */
  records: number;
  /** From the first arrival to the last. */
  seconds: number;
  /** Every record accepted, the first arrival's included. */
  total: number;
  requests: number;
}

/**
 * The steady window of an output stream's PutRecords log: the records written after the first arrival
 * over the span from the first arrival to the last. The first arrival's own records were transformed
 * before it, so counting them over the span would credit the contender with a chunk it made outside it.
 * Requests that wrote nothing (faults) are ignored.
 */
export function steadyWindow(puts: ReadonlyArray<Pick<PutLogEntry, 'at' | 'accepted'>>): SteadyWindow {
  const written = puts.filter((p) => p.accepted > 0);
  if (written.length === 0) return { records: 0, seconds: 0, total: 0, requests: 0 };
  let first = Infinity;
  let last = -Infinity;
  let total = 0;
  for (const p of written) {
    first = Math.min(first, p.at);
    last = Math.max(last, p.at);
    total += p.accepted;
  }
  const atFirst = written.filter((p) => p.at === first).reduce((sum, p) => sum + p.accepted, 0);
  return { records: total - atFirst, seconds: (last - first) / 1000, total, requests: written.length };
}

/** Input records per second over a steady window whose output holds `outputsPerInput` records per input record. */
export function inputRate(window: SteadyWindow, outputsPerInput: number): number {
  return window.seconds > 0 ? window.records / outputsPerInput / window.seconds : Number.NaN;
}

/** One reading of a process's CPU time, at a wall-clock time comparable with the puts log's. */
export interface CpuSample {
  atMs: number;
  cpuSeconds: number;
}

/**
 * The CPU seconds a process used between two wall-clock times, each read off the samples (taken in time
 * order) by linear interpolation between the two around it; NaN when the samples do not cover both.
 */
export function cpuBetween(samples: readonly CpuSample[], fromMs: number, toMs: number): number {
  const at = (t: number): number => {
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1];
      const b = samples[i];
      if (a.atMs <= t && t <= b.atMs) return b.atMs === a.atMs ? b.cpuSeconds : a.cpuSeconds + ((b.cpuSeconds - a.cpuSeconds) * (t - a.atMs)) / (b.atMs - a.atMs);
    }
    return Number.NaN;
  };
  return at(toMs) - at(fromMs);
}

/** The median and the largest gap between consecutive PutRecords requests (ms): a stall shows as a large one. */
export function putGaps(atMs: readonly number[]): { medianMs: number; maxMs: number; maxAfterRequest: number } {
  const sorted = [...atMs].sort((a, b) => a - b);
  const gaps = sorted.slice(1).map((at, i) => at - sorted[i]);
  if (gaps.length === 0) return { medianMs: Number.NaN, maxMs: Number.NaN, maxAfterRequest: -1 };
  const maxMs = Math.max(...gaps);
  return { medianMs: median(gaps), maxMs, maxAfterRequest: gaps.indexOf(maxMs) + 1 };
}
