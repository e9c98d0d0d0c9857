/**
 * Keeps this worker at its fair share of the leases. Every tick it renews its heartbeat in the
 * live-workers set (scored with Redis's clock, in one script that also checks the shutdown request
 * and the application's state marker: see shared/redis/app-state.ts), reads how many shards are
 * unfinished and how many workers are alive, sets how many leases the BullMQ worker may hold, and
 * hands back the leases above its share gracefully (stop reading, flush, checkpoint, release), so
 * another worker takes them at once. A worker that stops removes its heartbeat, so the others grow
 * their share without waiting for a timeout.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../../shared/redis/connection';
import type { Logger } from '../../shared/logging';
import type { AppKeys } from '../../shared/redis/keys';
import { AppStateGuard, recordStateLost, StateLostError, type AppStateObservation } from '../../shared/redis/app-state';
import { beat } from '../../shared/redis/heartbeats';
import { fairShareTarget } from './fair-share';
import type { Lease } from './lease';

export interface LeaseBalancerDeps {
  redis: RedisClient;
  keys: AppKeys;
  leaseQueue: Queue;
  workerId: string;
  leaseTimeoutMs: number;
  maxLeases: number;
  intervalMs: number;
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
