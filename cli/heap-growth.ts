/**
 * How far V8 lets the heap grow, set when a shardflow process starts: the old generation's bound for
 * every process, and a young generation that stays at its initial size unless the command moves records
 * (and then grows no larger than Node 20's).
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
 * and within the noise (±5 %) for 30 and 50 % in the others (docs/benchmarks.md).
 *
 * Node has no option for this in NODE_OPTIONS, so it is set at run time: V8 reads it every time it sets
 * the next limit. A process started with its own `node --heap-growing-percent=N` keeps that.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The old generation may grow to 1.5 times what was live after the last full GC. */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/** Sets the bound unless the process was started with its own; returns the percent set, if any. */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((arg) => FLAG.test(arg))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}

/** A process's own growth factor: it keeps it, whatever the command. */
const GROWTH_FLAG = /^--semi[-_]space[-_]growth[-_]factor(=|$)/;
/** A process's own ceiling for the young generation: it replaces the worker's cap. */
const MAX_SIZE_FLAG = /^--max[-_]semi[-_]space[-_]size(=|$)/;
/** A process's own floor for the young generation: it is not kept below it. */
const MIN_SIZE_FLAG = /^--min[-_]semi[-_]space[-_]size(=|$)/;

/** V8's own growth factor of the young generation, the same on Node 20, 22 and 24. */
export const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

/**
 * Keeps the young generation at its initial size (1 MiB per semi-space) from the start, for the
 * commands that move no records: the coordinator, the stand-alone dashboard, the local stack's
 * supervisor and the short administrative commands. `letYoungGenerationGrow` undoes it for the worker
 * and the generator before they load their modules.
 *
 * Why: loading the modules (about 600 for a coordinator) allocates fast and much of it survives, so V8
 * doubles the young generation at each scavenge up to its maximum (16 MiB per semi-space on Node 20 and
 * 22, 64 on Node 24 with this machine's 24 GB) and keeps those pages until its memory reducer finds the
 * process idle several seconds later. A coordinator peaked at 88–89 MiB for that, against 74 MiB with the growth off (104 against 90
 * on Node 24, where the young generation still grows a little with the factor at 1), for nothing:
 * its scavenges are rare and small. A worker needs the growth: a large young generation is what lets
 * records in flight die there instead of being promoted. V8 reads the factor at each scavenge (the sizes
 * themselves only when the heap is created, so the maximum cannot be set here). A process started with
 * its own growth factor or minimum size keeps its own sizing; a maximum (`--max-semi-space-size`, the
 * one of them `NODE_OPTIONS` allows) caps the growth, small or not, and is kept either way.
 */
export function keepYoungGenerationSmall(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => MIN_SIZE_FLAG.test(arg))) return false;
  return setSemiSpaceGrowth(1, execArgv);
}

/**
 * The young generation a worker may grow to: both semi-spaces of 16 MiB, V8's own maximum on Node 20 and
 * 22 (with this machine's 24 GB).
 */
export const YOUNG_GENERATION_CAP_BYTES = 32 * 1024 * 1024;

let capObserver: PerformanceObserver | undefined;

/**
 * V8's own young-generation growth again, for a command that moves records (see above), up to
 * `YOUNG_GENERATION_CAP_BYTES`.
 *
 * Why the cap: Node 24's V8 lets the young generation grow to 128 MiB on this machine, four times Node 20's
 * and 22's. A worker at full speed then peaked at 259–321 MiB against 191–205 MiB capped at Node 20's size
 * (4 shards, 25,000 buffered records, alternating copies on Node 24): its records in flight stay young
 * and keep their pages and ArrayBuffers alive for longer. The cap costs Node 24 about a tenth of its CPU
 * per record (0.0199 against 0.0179 CPU s per 1,000 there) and makes memory the same on every supported
 * Node. The maximum can only be set when the heap is created, so the cap works through the growth
 * factor: after each garbage collection the factor is 1 once the young generation reached the cap, V8's
 * own below it (a young generation shrunk by V8's memory reducer may grow again). A process started with
 * its own `--max-semi-space-size` (on its command line or in `NODE_OPTIONS`) gets no cap.
 */
export function letYoungGenerationGrow(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if (!setSemiSpaceGrowth(V8_SEMI_SPACE_GROWTH_FACTOR, execArgv)) return false;
  const ownMax = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => MAX_SIZE_FLAG.test(arg));
  if (!ownMax && !capObserver) {
    let factor = V8_SEMI_SPACE_GROWTH_FACTOR;
    capObserver = new PerformanceObserver(() => {
      const next = youngGenerationBytes() >= YOUNG_GENERATION_CAP_BYTES ? 1 : V8_SEMI_SPACE_GROWTH_FACTOR;
      if (next === factor) return;
      factor = next;
      setFlagsFromString(`--semi-space-growth-factor=${next}`);
    });
    capObserver.observe({ entryTypes: ['gc'] });
  }
  return true;
}

/** Whether the worker's young-generation cap is on. */
export function youngGenerationCapped(): boolean {
  return capObserver !== undefined;
}

/** Stops the worker's young-generation cap (for tests). */
export function stopYoungGenerationCap(): void {
  capObserver?.disconnect();
  capObserver = undefined;
}

/** The young generation's size now: both semi-spaces. */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

function setSemiSpaceGrowth(factor: number, execArgv: readonly string[]): boolean {
  if (execArgv.some((arg) => GROWTH_FLAG.test(arg))) return false;
  setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  return true;
}
