/**
 * What every benchmark scenario returns: named figures (ratios, rates, percentiles, peaks), each with
 * its unit and, where the issue sets one, the target it is judged against. `bench/run.ts` runs the
 * scenarios, prints one table and writes `bench/results.json`.
 */

export interface Figure {
  /** Short name shown in the table, e.g. "POLLING records/s". */
  name: string;
  value: number;
  unit: string;
  /** The target as text, e.g. "≥ 0.8" or "≤ 1000 ms"; absent when none is set. */
  target?: string;
  /** Whether the value meets the target; absent when there is no target. */
  met?: boolean;
}

export interface ScenarioResult {
  scenario: string;
  figures: Figure[];
  /** Anything else worth keeping in results.json (raw samples, settings). */
  details?: Record<string, unknown>;
}

export interface ScenarioOptions {
  /** The smaller run for CI: same shape, fewer records, shorter durations. */
  quick: boolean;
  /** Progress lines for the operator (stderr). */
  log: (line: string) => void;
}

export type Scenario = (opts: ScenarioOptions) => Promise<ScenarioResult>;

export function atMost(name: string, value: number, unit: string, limit: number): Figure {
  return { name, value, unit, target: `≤ ${limit}`, met: value <= limit };
}

export function atLeast(name: string, value: number, unit: string, floor: number): Figure {
  return { name, value, unit, target: `≥ ${floor}`, met: value >= floor };
}

/** The p-th percentile (0..100) of the samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** The median of the values (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
