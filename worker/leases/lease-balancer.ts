/**
 * Keeps this worker at its fair share of the leases. Every tick it renews its heartbeat in the
 * live-workers set (scored with Redis's clock, in one script that also checks the shutdown request
 * and the application's state marker: see shared/redis/app-state.ts), reads how many shards are
 * unfinished and how many workers are alive, sets how many leases the BullMQ worker may hold, and
 * hands back the leases above its share gracefully (stop reading, flush, checkpoint, release), so
 * another worker takes them at once. A worker that stops removes its heartbeat, so the others grow
 * their share without waiting for a timeout.
 *
 * The share is the lease count (`worker.balance = COUNT`: see fair-share.ts), or the measured input
 * bytes per second (`THROUGHPUT`: see throughput-share.ts), for which the balancer also measures its
 * leases' rates and publishes them with each tick (lease-loads.ts). Either way a lease is handed back
 * the same graceful way.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../../shared/redis/connection';
import type { Logger } from '../../shared/logging';
import type { AppKeys } from '../../shared/redis/keys';
import { AppStateGuard, recordStateLost, StateLostError, type AppStateObservation } from '../../shared/redis/app-state';
import { beat } from '../../shared/redis/heartbeats';
import { fairShareTarget } from './fair-share';
import { monotonicClock, type Clock, type Lease } from './lease';
import { publishLeaseLoads, readLeaseLoads, type LeaseLoadEntry, type LeaseLoadWrite } from './lease-loads';
import { ThroughputMeter } from './throughput-meter';
import { planThroughputShare, type LeaseLoad } from './throughput-share';

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
  redis: RedisClient;
  keys: AppKeys;
  leaseQueue: Queue;
  workerId: string;
  leaseTimeoutMs: number;
  maxLeases: number;
  intervalMs: number;
  /** `COUNT` (default) splits the lease count; `THROUGHPUT` the measured input bytes per second. */
  balance?: 'COUNT' | 'THROUGHPUT';
  /** With THROUGHPUT: a lease moved for load stays this long where it went. */
  cooldownMs?: number;
  /** With THROUGHPUT: the bytes read so far by the lease's runner. */
  bytesRead?(shardId: string): number | undefined;
  /** Monotonic time for the rate measurement. */
  clock?: Clock;
  /** Leases this worker holds, oldest first. */
  held(): Lease[];
  setCapacity(leases: number): Promise<void>;
  /** Called when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
  /** The application's state was lost (Redis came back empty): the process must stop at once. */
  onStateLost: (err: StateLostError) => void;
  log: Logger;
}

export class LeaseBalancer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly appState: AppStateGuard;
  private stateLost = false;
  private waitingLogged = false;
  target = 0;
  private readonly meter = new ThroughputMeter({ tauMs: LOAD_TAU_MS, warmupMs: LOAD_WARMUP_MS });
  /** Redis time of the last move for load of each lease held, as published with it. */
  private readonly movedAt = new Map<string, number | undefined>();
  /** The leases this worker published as its own at the last tick. */
  private published = new Set<string>();

  constructor(private readonly deps: LeaseBalancerDeps) {
    this.appState = new AppStateGuard(deps.keys);
  }

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
    const { redis, keys, workerId, leaseTimeoutMs } = this.deps;
    const heartbeat = await beat(redis, keys, keys.liveWorkers, workerId, leaseTimeoutMs);
    if (this.checkAppState(heartbeat.state) === 'lost') return this.target;
    const live = heartbeat.live;
    if (heartbeat.shutdownRequested && !this.stopped) this.deps.onShutdownRequested?.();
    const counts = await this.deps.leaseQueue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    const shards = Object.values(counts).reduce((a, b) => a + b, 0);
    if (this.deps.balance === 'THROUGHPUT') return this.balanceThroughput(shards, live, heartbeat.redisNowMs);
    const target = fairShareTarget(shards, live, workerId, this.deps.maxLeases);
    if (this.stopped) return target;
    if (target !== this.target) this.deps.log.info({ shards, workers: live.length, target }, 'fair share changed');
    this.target = target;
    await this.deps.setCapacity(target);

    const held = this.deps.held().filter((lease) => !lease.isStopping);
    for (const lease of held.slice(target).reverse()) {
      this.deps.log.info({ shardId: lease.shardId, target, held: held.length }, 'over fair share: handing the lease back');
      lease.stop();
    }
    return target;
  }

  /**
   * One THROUGHPUT tick: measure the held leases, read every published load, plan (the same plan
   * every worker computes), publish this worker's leases (the ones it hands over as let go, with
   * the time they moved), set the capacity, and hand the planned leases over.
   */
  private async balanceThroughput(shards: number, live: string[], redisNowMs: number): Promise<number> {
    const { redis, keys, workerId, log } = this.deps;
    const loads = await readLeaseLoads(redis, keys);
    const held = this.deps.held().filter((lease) => !lease.isStopping);
    const heldIds = new Set(held.map((lease) => lease.shardId));
    const now = (this.deps.clock ?? monotonicClock)();
    for (const lease of held) {
      const known = loads.get(lease.shardId);
      // A lease new here starts from what its last owner measured, and remembers when it last moved.
      if (!this.movedAt.has(lease.shardId)) this.movedAt.set(lease.shardId, known?.movedAt);
      this.meter.sample(lease.shardId, this.deps.bytesRead?.(lease.shardId) ?? 0, now, known?.bytesPerSecond);
    }
    this.meter.retain(heldIds);
    for (const shardId of this.movedAt.keys()) if (!heldIds.has(shardId)) this.movedAt.delete(shardId);

    const liveSet = new Set(live);
    const leases: LeaseLoad[] = held.map((lease) => this.ownLoad(lease.shardId, redisNowMs));
    const stale: LeaseLoadEntry[] = [];
    for (const entry of loads.values()) {
      if (heldIds.has(entry.shardId)) continue;
      const owner = entry.owner !== '' && entry.owner !== workerId && liveSet.has(entry.owner) ? entry.owner : undefined;
      if (owner === undefined && redisNowMs - entry.updatedAt > LOAD_STALE_MS) {
        stale.push(entry);
        continue;
      }
      leases.push({ shardId: entry.shardId, owner, bytesPerSecond: entry.bytesPerSecond, movedAgoMs: entry.movedAt === undefined ? undefined : redisNowMs - entry.movedAt });
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
      shardId: lease.shardId,
      owner: release.has(lease.shardId) ? '' : workerId,
      bytesPerSecond: this.meter.rate(lease.shardId),
      movedAt: release.has(lease.shardId) ? redisNowMs : this.movedAt.get(lease.shardId),
    }));
    const dropped = [...this.published].filter((shardId) => !heldIds.has(shardId));
    await publishLeaseLoads(redis, keys, workerId, writes, dropped, stale);
    this.published = new Set([...heldIds].filter((shardId) => !release.has(shardId)));

    if (plan.capacity !== this.target) log.info({ shards, workers: live.length, target: plan.capacity, load: Math.round(plan.load), share: Math.round(plan.share) }, 'load share changed');
    this.target = plan.capacity;
    await this.deps.setCapacity(plan.capacity);
    for (const lease of held) {
      if (!release.has(lease.shardId)) continue;
      const move = plan.moves.find((m) => m.shardId === lease.shardId)!;
      log.info({ shardId: lease.shardId, bytesPerSecond: Math.round(move.weight), load: Math.round(plan.load + move.weight), share: Math.round(plan.share), to: move.to }, 'over load share: handing the lease over');
      lease.stop();
    }
    return plan.capacity;
  }

  private ownLoad(shardId: string, redisNowMs: number): LeaseLoad {
    const movedAt = this.movedAt.get(shardId);
    return { shardId, owner: this.deps.workerId, bytesPerSecond: this.meter.rate(shardId), movedAgoMs: movedAt === undefined ? undefined : redisNowMs - movedAt };
  }

  /**
   * The application's state, checked with every heartbeat: before the first coordinator ran there is
   * nothing to lease yet (wait); once seen, a missing or replaced marker means Redis lost the state.
   */
  private checkAppState(state: AppStateObservation): 'present' | 'absent' | 'lost' {
    if (this.stateLost) return 'lost';
    const verdict = this.appState.observe(state);
    if (verdict.kind === 'absent' && !this.waitingLogged) {
      this.waitingLogged = true;
      this.deps.log.info({ key: this.deps.keys.state }, 'application state not created yet: waiting for a coordinator to start the application');
    }
    if (verdict.kind !== 'lost') return verdict.kind;
    this.stateLost = true;
    const err = new StateLostError(this.deps.keys.app, verdict.reason);
    void recordStateLost(this.deps.redis, this.deps.keys, this.deps.workerId, verdict.reason, this.deps.keys.liveWorkers)
      .catch(() => undefined)
      .finally(() => this.deps.onStateLost(err));
    return 'lost';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.deps.redis.zrem(this.deps.keys.liveWorkers, this.deps.workerId).catch(() => undefined);
  }
}
