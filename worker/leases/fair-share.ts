/**
 * Fair-share arithmetic: with S unfinished shards and W live workers, every worker's target is
 * floor(S/W) or ceil(S/W). Workers are ranked by id, and the first S mod W of them take the extra
 * lease, so the targets add up to exactly S and every worker computes the same split. Pure.
 */
export function fairShareTarget(shards: number, liveWorkers: readonly string[], self: string, maxPerWorker: number): number {
  const workers = liveWorkers.includes(self) ? [...liveWorkers] : [...liveWorkers, self];
  workers.sort();
  const rank = workers.indexOf(self);
  const base = Math.floor(shards / workers.length);
  const extra = shards % workers.length;
  return Math.min(maxPerWorker, base + (rank < extra ? 1 : 0));
}
