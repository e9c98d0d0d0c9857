/**
 * How far V8 lets the old generation grow past what was live after the last full GC, set once when a
 * shardflow process starts.
 *
 * Why: a worker at full speed keeps thousands of records in flight (pages being read, the sink's buffer,
 * PutRecords bodies), each living for longer than the ~100 ms between two scavenges, so nearly all of it
 * is promoted to the old generation and dies there. V8 lets the old generation grow to up to four
 * times the live size before the next full GC when the program allocates fast, and a worker allocates
 * fast: its live old generation was about 35 MiB, yet grew to 90 MiB (plus 40 MiB of ArrayBuffers it
 * kept alive) between full GCs, and that garbage was most of the peak RSS. At 1.5 times the live size
 * the full GCs come sooner; each marks a small live set but they come more often, so the bound is a
 * trade of CPU for memory. Worker at full speed (4 shards, 25,000 buffered records), alternating copies
 * in one session: unbounded 248–271 MiB; 30 % 165–172 MiB; 50 % 179–185 MiB; 100 % 196–199 MiB. CPU per
 * record against unbounded: +21 % at 30 %, +10 % at 60 %, none measurable at 100 % in the quietest set,
 * and within the noise (±5 %) for 30 and 50 % in the others (README, "Benchmarks").
 *
 * Node has no option for this in NODE_OPTIONS, so it is set at run time: V8 reads it every time it sets
 * the next limit. A process started with its own `node --heap-growing-percent=N` keeps that.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to 1.5 times what was live after the last full GC. */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/** Sets the bound unless the process was started with its own; returns the percent set, if any. */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((arg) => FLAG.test(arg))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
