/**
 * Load-aware share (`worker.balance = THROUGHPUT`): how many leases this worker may hold and which of
 * its leases it hands over, so that the live workers split the total input bytes per second instead
 * of the lease count. Pure: every worker computes the same plan from the same published loads.
 *
 * BullMQ does not let a worker pick which lease job it takes, only how many it may hold. So the plan
 * moves a lease by (1) the giver releasing it and holding one fewer, and (2) the receiver being the
 * only one given room for one more. The receiver is always the least loaded worker, and a move must
 * leave it below the giver's load before the move, so while the lease waits between the two (its old
 * owner no longer lists it, its new one not yet), the least loaded worker is still the receiver.
 *
 * Hysteresis, so leases do not flap:
 * - the most loaded worker moves a lease only when it is above the mean share by more than `margin`
 *   of it (and by more than `minImbalance` bytes/s, so noise on an idle stream moves nothing);
 * - the move must narrow the gap between giver and receiver; the lease that narrows it most moves;
 * - a lease moved for load within the last `cooldownMs` is not moved again.
 *
 * A lease without a measurement yet weighs the mean of the measured ones; with no measurement at all
 * (or an idle stream) every lease weighs 1 and the margin does not apply, so the plan is a count
 * balance: every worker within one lease of the others, as with COUNT.
 */
export interface LeaseLoad {
  leaseKey: string;
  /** The live worker holding the lease; undefined while it waits for one. */
  owner?: string;
  /** Measured input bytes per second; undefined while not measured. */
  bytesPerSecond?: number;
  /** How long ago the lease last moved for load (ms); undefined if it never did. */
  movedAgoMs?: number;
}

export interface ThroughputShareInput {
  self: string;
  live: readonly string[];
  /** Unfinished shards (lease jobs), held or not. */
  shards: number;
  /** What is known of the leases: every held one, and waiting ones whose last rate was published. */
  leases: readonly LeaseLoad[];
  maxPerWorker: number;
  cooldownMs: number;
  /** Fraction of the mean share a worker may exceed before a lease moves. */
  margin: number;
  /** Bytes per second a worker may exceed the mean share by in any case. */
  minImbalance: number;
}

export interface LoadMove {
  leaseKey: string;
  from: string;
  to: string;
  weight: number;
}

export interface ThroughputPlan {
  /** How many leases this worker may hold after the plan. */
  capacity: number;
  /** This worker's leases to hand over now. */
  release: string[];
  /** Every move of the plan (all workers'), for logs. */
  moves: LoadMove[];
  /** The mean share of the total weight, and this worker's load after the plan. */
  share: number;
  load: number;
}

export function planThroughputShare(input: ThroughputShareInput): ThroughputPlan {
  const workers = [...new Set([...input.live, input.self])].sort();
  const measured = input.leases.filter((l) => l.bytesPerSecond !== undefined).map((l) => l.bytesPerSecond!);
  const mean = measured.length > 0 ? measured.reduce((a, b) => a + b, 0) / measured.length : 0;
  // No data (or no traffic): every lease weighs the same, and the plan balances the count.
  const byCount = mean <= 0;
  const weightOf = (l: LeaseLoad) => (byCount ? 1 : (l.bytesPerSecond ?? mean));

  const load = new Map(workers.map((w) => [w, 0]));
  const count = new Map(workers.map((w) => [w, 0]));
  const owned = new Map(workers.map((w) => [w, [] as LeaseLoad[]]));
  const waiting: LeaseLoad[] = [];
  for (const lease of input.leases) {
    if (lease.owner !== undefined && owned.has(lease.owner)) {
      owned.get(lease.owner)!.push(lease);
      load.set(lease.owner, load.get(lease.owner)! + weightOf(lease));
      count.set(lease.owner, count.get(lease.owner)! + 1);
    } else {
      waiting.push(lease);
    }
  }
  const held = [...count.values()].reduce((a, b) => a + b, 0);
  const unheld = Math.max(0, input.shards - held);
  const leastLoaded = (exclude?: string) =>
    workers
      .filter((w) => w !== exclude && count.get(w)! < input.maxPerWorker)
      .sort((a, b) => load.get(a)! - load.get(b)! || count.get(a)! - count.get(b)! || (a < b ? -1 : 1))[0];

  // Waiting leases go to whoever is least loaded when each is taken: room, not a particular lease.
  // The heaviest known ones first, the rest at the default weight.
  const waitingWeights = waiting.map(weightOf).sort((a, b) => b - a);
  for (let i = 0; i < unheld; i++) {
    const to = leastLoaded();
    if (to === undefined) break;
    load.set(to, load.get(to)! + (waitingWeights[i] ?? (byCount ? 1 : mean)));
    count.set(to, count.get(to)! + 1);
  }

  const total = [...load.values()].reduce((a, b) => a + b, 0);
  const share = total / workers.length;
  // By count, as COUNT does: every worker within one lease of the others (the gap rule stops there).
  const threshold = byCount ? 0 : Math.max(input.margin * share, input.minImbalance);
  const moves: LoadMove[] = [];
  const moved = new Set<string>();
  for (let round = 0; round < input.leases.length; round++) {
    const giver = workers.reduce((a, b) => (load.get(b)! > load.get(a)! ? b : a));
    if (load.get(giver)! - share <= threshold) break;
    const to = leastLoaded(giver);
    if (to === undefined) break;
    const gap = load.get(giver)! - load.get(to)!;
    let best: { lease: LeaseLoad; weight: number; gap: number } | undefined;
    for (const lease of owned.get(giver)!) {
      if (moved.has(lease.leaseKey) || (lease.movedAgoMs !== undefined && lease.movedAgoMs < input.cooldownMs)) continue;
      const weight = weightOf(lease);
      const after = Math.abs(gap - 2 * weight);
      // Only a move that narrows the gap; of those, the one that narrows it most (lighter, then by id, on ties).
      if (!(after < gap)) continue;
      if (!best || after < best.gap || (after === best.gap && (weight < best.weight || (weight === best.weight && lease.leaseKey < best.lease.leaseKey)))) {
        best = { lease, weight, gap: after };
      }
    }
    if (!best) break;
    moved.add(best.lease.leaseKey);
    owned.set(giver, owned.get(giver)!.filter((l) => l !== best.lease));
    owned.get(to)!.push(best.lease);
    load.set(giver, load.get(giver)! - best.weight);
    load.set(to, load.get(to)! + best.weight);
    count.set(giver, count.get(giver)! - 1);
    count.set(to, count.get(to)! + 1);
    moves.push({ leaseKey: best.lease.leaseKey, from: giver, to, weight: best.weight });
  }

  return {
    capacity: Math.min(input.maxPerWorker, count.get(input.self)!),
    release: moves.filter((m) => m.from === input.self).map((m) => m.leaseKey),
    moves,
    share,
    load: load.get(input.self)!,
  };
}
