/**
 * Keeps this worker at its share of the leases. Every tick it beats (the worker's heartbeat, which
 * says who is alive: worker-heartbeat.ts), counts the unfinished shards in the lease store, sets how
 * many leases the lease loop may hold, and hands back the leases above its share gracefully (stop
 * reading, flush, checkpoint, release), so another worker takes them at once. A worker that stops
 * leaves the live set, so the others grow their share without waiting for a timeout.
 *
 * The capacity rises towards the share in steps (`ShareRamp`, fair-share.ts): a few leases in the tick
 * after a worker joined, doubling every tick without a newcomer, and (COUNT) never more than a step
 * above the mean a live worker holds, so the first workers of a fleet that is still starting do not
 * take the share of the few workers they see and hand most of it back later.
 *
 * The share is the lease count (`worker.balance = COUNT`: see fair-share.ts), or the measured input
 * bytes per second (`THROUGHPUT`: see throughput-share.ts), for which the balancer also measures its
 * leases' rates and publishes them with each tick (lease-loads.ts). Either way a lease is handed back
 * the same graceful way.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import { fairShareTarget, rampedCapacity, ShareRamp } from './fair-share';
import type { Lease } from './lease';
import type { LeaseLoadEntry, LeaseLoadStore, LeaseLoadWrite } from './lease-loads';
import { unfinished, type LeaseCounting } from './lease-store';
import { ThroughputMeter } from './throughput-meter';
import { planThroughputShare, type LeaseLoad } from './throughput-share';
import type { Membership } from './worker-heartbeat';

/** A worker more than this fraction above the mean load share hands a lease over. */
export const LOAD_MARGIN = 0.2;
/** Below this many bytes per second above the mean share, no lease moves (noise on an idle stream). */
export const LOAD_MIN_IMBALANCE = 1024;
/** The rate average's time constant and a new lease's warm-up (see ThroughputMeter). */
const LOAD_TAU_MS = 10_000;
const LOAD_WARMUP_MS = 3000;
/** A published load nobody holds and nobody wrote for this long is deleted (finished shards). */
const LOAD_STALE_MS = 10 * 60_000;

export interface LeaseBalancerDeps {
  /** The worker's heartbeat: who is alive, or undefined once the application's state is lost. */
  membership: { beat(): Promise<Membership | undefined> };
  /** Counts the unfinished shards (every lease job not finished). */
  leases: LeaseCounting;
  /** With THROUGHPUT: where every worker publishes its leases' loads. */
  loads: LeaseLoadStore;
  workerId: string;
  maxLeases: number;
  intervalMs: number;
  /** `COUNT` (default) splits the lease count; `THROUGHPUT` the measured input bytes per second. */
  balance?: 'COUNT' | 'THROUGHPUT';
  /** With THROUGHPUT: a lease moved for load stays this long where it went. */
  cooldownMs?: number;
  /** With THROUGHPUT: the bytes read so far by the lease's runner. */
  bytesRead?(leaseKey: string): number | undefined;
  /** Monotonic time, for the rate measurement. */
  clock: Clock;
  /** Leases this worker holds, oldest first. */
  held(): Lease[];
  setCapacity(leases: number): Promise<void>;
  log: Logger;
}

export class LeaseBalancer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The share (COUNT) or the plan's capacity (THROUGHPUT) at the last tick. */
  target = 0;
  /** The capacity set at the last tick: the target, or less while the ramp holds it back. */
  capacity = 0;
  private readonly ramp = new ShareRamp();
  private readonly meter = new ThroughputMeter({ tauMs: LOAD_TAU_MS, warmupMs: LOAD_WARMUP_MS });
  /** Redis time of the last move for load of each lease held, as published with it. */
  private readonly movedAt = new Map<string, number | undefined>();
  /** The leases this worker published as its own at the last tick. */
  private published = new Set<string>();

  constructor(private readonly deps: LeaseBalancerDeps) {}

  start(): void {
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'lease balancing failed; will try again'))
          .finally(() => {
            if (!this.stopped) loop();
          });
      }, this.deps.intervalMs);
    };
    loop();
  }

  async tick(): Promise<number> {
    const { workerId } = this.deps;
    const membership = await this.deps.membership.beat();
    if (!membership) return this.target;
    const { live, redisNowMs } = membership;
    const step = this.ramp.step(live);
    const counts = await this.deps.leases.count();
    const shards = unfinished(counts);
    if (this.deps.balance === 'THROUGHPUT') return this.balanceThroughput(shards, live, redisNowMs, step);
    const target = fairShareTarget(shards, live, workerId, this.deps.maxLeases);
    if (this.stopped) return target;
    const workers = live.includes(workerId) ? live.length : live.length + 1;
    const capacity = rampedCapacity({ target, held: this.deps.held().length, step, meanHeld: counts.held / workers });
    if (target !== this.target) this.deps.log.info({ shards, workers: live.length, target, capacity }, 'fair share changed');
    this.target = target;
    this.capacity = capacity;
    await this.deps.setCapacity(capacity);

    const held = this.deps.held().filter((lease) => !lease.isStopping);
    for (const lease of held.slice(target).reverse()) {
      this.deps.log.info({ leaseKey: lease.leaseKey, target, held: held.length }, 'over fair share: handing the lease back');
      lease.stop();
    }
    return target;
  }

  /**
   * One THROUGHPUT tick: measure the held leases, read every published load, plan (the same plan
   * every worker computes), publish this worker's leases (the ones it hands over as let go, with
   * the time they moved), set the capacity, and hand the planned leases over.
   */
  private async balanceThroughput(shards: number, live: string[], redisNowMs: number, step: number): Promise<number> {
    const { loads: store, workerId, log } = this.deps;
    const loads = await store.read();
    const held = this.deps.held().filter((lease) => !lease.isStopping);
    const heldIds = new Set(held.map((lease) => lease.leaseKey));
    const now = this.deps.clock();
    for (const lease of held) {
      const known = loads.get(lease.leaseKey);
      // A lease new here starts from what its last owner measured, and remembers when it last moved.
      if (!this.movedAt.has(lease.leaseKey)) this.movedAt.set(lease.leaseKey, known?.movedAt);
      this.meter.sample(lease.leaseKey, this.deps.bytesRead?.(lease.leaseKey) ?? 0, now, known?.bytesPerSecond);
    }
    this.meter.retain(heldIds);
    for (const leaseKey of this.movedAt.keys()) if (!heldIds.has(leaseKey)) this.movedAt.delete(leaseKey);

    const liveSet = new Set(live);
    const leases: LeaseLoad[] = held.map((lease) => this.ownLoad(lease.leaseKey, redisNowMs));
    const stale: LeaseLoadEntry[] = [];
    for (const entry of loads.values()) {
      if (heldIds.has(entry.leaseKey)) continue;
      const owner = entry.owner !== '' && entry.owner !== workerId && liveSet.has(entry.owner) ? entry.owner : undefined;
      if (owner === undefined && redisNowMs - entry.updatedAt > LOAD_STALE_MS) {
        stale.push(entry);
        continue;
      }
      leases.push({ leaseKey: entry.leaseKey, owner, bytesPerSecond: entry.bytesPerSecond, movedAgoMs: entry.movedAt === undefined ? undefined : redisNowMs - entry.movedAt });
    }
    const plan = planThroughputShare({
      self: workerId,
      live,
      shards,
      leases,
      maxPerWorker: this.deps.maxLeases,
      cooldownMs: this.deps.cooldownMs ?? 60_000,
      margin: LOAD_MARGIN,
      minImbalance: LOAD_MIN_IMBALANCE,
    });
    if (this.stopped) return plan.capacity;

    const release = new Set(plan.release);
    const writes: LeaseLoadWrite[] = held.map((lease) => ({
      leaseKey: lease.leaseKey,
      owner: release.has(lease.leaseKey) ? '' : workerId,
      bytesPerSecond: this.meter.rate(lease.leaseKey),
      movedAt: release.has(lease.leaseKey) ? redisNowMs : this.movedAt.get(lease.leaseKey),
    }));
    const dropped = [...this.published].filter((leaseKey) => !heldIds.has(leaseKey));
    await store.publish(workerId, writes, dropped, stale);
    this.published = new Set([...heldIds].filter((leaseKey) => !release.has(leaseKey)));

    if (plan.capacity !== this.target) log.info({ shards, workers: live.length, target: plan.capacity, load: Math.round(plan.load), share: Math.round(plan.share) }, 'load share changed');
    this.target = plan.capacity;
    // The leases about to be handed over are still held: they keep their slots until released.
    this.capacity = rampedCapacity({ target: plan.capacity, held: this.deps.held().length, step });
    await this.deps.setCapacity(this.capacity);
    for (const lease of held) {
      if (!release.has(lease.leaseKey)) continue;
      const move = plan.moves.find((m) => m.leaseKey === lease.leaseKey)!;
      log.info({ leaseKey: lease.leaseKey, bytesPerSecond: Math.round(move.weight), load: Math.round(plan.load + move.weight), share: Math.round(plan.share), to: move.to }, 'over load share: handing the lease over');
      lease.stop();
    }
    return plan.capacity;
  }

  private ownLoad(leaseKey: string, redisNowMs: number): LeaseLoad {
    const movedAt = this.movedAt.get(leaseKey);
    return { leaseKey, owner: this.deps.workerId, bytesPerSecond: this.meter.rate(leaseKey), movedAgoMs: movedAt === undefined ? undefined : redisNowMs - movedAt };
  }

  /** Stops balancing (the worker's heartbeat leaves the live set on its own). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
