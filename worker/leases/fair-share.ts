/**
 * Fair-share arithmetic: with S unfinished shards and W live workers, every worker's target is
 * floor(S/W) or ceil(S/W). Workers are ranked by id, and the first S mod W of them take the extra
 * lease, so the targets add up to exactly S and every worker computes the same split. Pure.
 *
 * How fast a worker grows towards its target is the share ramp's (below): the target is computed from
 * the workers alive now, and while workers are still joining it is too high for the early ones.
 */
export function fairShareTarget(shards: number, liveWorkers: readonly string[], self: string, maxPerWorker: number): number {
  const workers = liveWorkers.includes(self) ? [...liveWorkers] : [...liveWorkers, self];
  workers.sort();
  const rank = workers.indexOf(self);
  const base = Math.floor(shards / workers.length);
  const extra = shards % workers.length;
  return Math.min(maxPerWorker, base + (rank < extra ? 1 : 0));
}

/** Leases a worker may take in the beat after the live set grew (and in its own first beat). */
export const RAMP_FIRST_STEP = 4;
/** The step stops doubling here (2^20 × the first step: more than any worker holds). */
const RAMP_MAX_DOUBLINGS = 20;

/**
 * How many leases a worker may take on top of those it holds, beat by beat, the way KCL's lease taker
 * takes a bounded number per cycle. The fair share is computed from the live set, which misses the
 * workers still starting: in a fleet that starts over several seconds (tens of seconds on a busy host)
 * the first workers see a few others and compute shares many times the final one. Taking all of it
 * at once means handing most of it back once the others are up, and a graceful hand-over is what a
 * busy host does slowest (seconds per lease: stop reading, wait for the output, checkpoint, release).
 *
 * So a worker's room grows in steps: RAMP_FIRST_STEP leases in the beat after the live set last grew
 * (a worker it had not seen, its own first beat included), and the step doubles with every beat
 * without a newcomer: 4, 8, 16, 32, ... While workers keep joining, everyone grows slowly; a few beats
 * after the last one joined, the step is past any share. Workers leaving (a stop, a crash) do not
 * restart it: the survivors take the leases let go at once. A worker above its target hands the
 * excess back at once, whatever the step.
 */
export class ShareRamp {
  private previous = new Set<string>();
  private quietBeats = 0;

  /** Records one beat's live set and returns the step for this beat. */
  step(live: readonly string[]): number {
    const grew = this.previous.size === 0 || live.some((worker) => !this.previous.has(worker));
    this.previous = new Set(live);
    this.quietBeats = grew ? 0 : this.quietBeats + 1;
    return RAMP_FIRST_STEP * 2 ** Math.min(this.quietBeats, RAMP_MAX_DOUBLINGS);
  }
}

export interface RampInput {
  /** The fair share (or the load plan's capacity). */
  target: number;
  /** The leases this worker holds now, stopping ones included (they count against the capacity until released). */
  held: number;
  /** This beat's step (`ShareRamp.step`). */
  step: number;
  /** COUNT: the leases held in the store over the live workers. */
  meanHeld?: number;
}

/**
 * The capacity to set: the target, but at most `step` above what this worker holds, and (COUNT) at
 * most `step` above what a live worker holds on average. The second bound is for a fleet that starts
 * slowly: joining workers hold nothing and pull the mean down, so the workers that started first stop
 * growing until the newcomers catch up, instead of each growing by a step every beat for as long as
 * the start lasts (four leases a beat over a start of 18 s is 72, above a share of 64). The growth of
 * the mean is itself bounded by the first bound, so while workers keep joining, leases are left
 * waiting for them rather than taken by the first workers and handed back later.
 */
export function rampedCapacity({ target, held, step, meanHeld = Number.POSITIVE_INFINITY }: RampInput): number {
  return Math.max(0, Math.min(target, held + step, Math.ceil(meanHeld) + step));
}
