/**
 * A worker's heartbeat in the live-workers set: each beat stamps the worker with Redis's clock and reads,
 * in the same call, who else is alive, whether `shardflow shutdown` asked the application to stop, and
 * the application's state marker (see shared/redis/app-state.ts).
 *
 * - Before the first coordinator ran there is nothing to lease: the worker waits (said once).
 * - Once the marker was seen, a missing or replaced one means Redis lost the application's state: the
 *   worker writes the tombstone (so every later start refuses), leaves the live set and calls
 *   `onStateLost`, which stops the process at once (exit 3). From then on it beats no more.
 * - A shutdown request calls `onShutdownRequested` with every beat until the heartbeat stops.
 *
 * The lease balancer beats once per tick and shares the leases among the live workers it returns.
 */
import type { Logger } from '../../shared/logging';
import { AppStateGuard, StateLostError, type AppStateObservation } from '../../shared/redis/app-state';
import type { LiveSet } from '../../shared/redis/heartbeats';
import type { AppKeys } from '../../shared/redis/keys';

/** Who is alive, as one beat saw it. */
export interface Membership {
  /** The live workers' ids (this one included). */
  live: string[];
  /** Redis's clock at the beat, ms since the epoch. */
  redisNowMs: number;
}

export interface WorkerHeartbeatDeps {
  liveSet: LiveSet;
  keys: AppKeys;
  workerId: string;
  /** How long a heartbeat keeps a worker alive: the lease timeout. */
  freshMs: number;
  /** Called when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
  /** The application's state was lost (Redis came back empty): the process must stop at once. */
  onStateLost: (err: StateLostError) => void;
  log: Logger;
}

export class WorkerHeartbeat {
  private readonly appState: AppStateGuard;
  private stateLost = false;
  private waitingLogged = false;
  private stopped = false;

  constructor(private readonly deps: WorkerHeartbeatDeps) {
    this.appState = new AppStateGuard(deps.keys);
  }

  /** One beat: who is alive, or undefined once the application's state is lost (nothing to balance then). */
  async beat(): Promise<Membership | undefined> {
    if (this.stateLost) return undefined;
    const { liveSet, workerId, freshMs } = this.deps;
    const heartbeat = await liveSet.beat(workerId, freshMs);
    if (this.observe(heartbeat.state) === 'lost') return undefined;
    if (heartbeat.shutdownRequested && !this.stopped) this.deps.onShutdownRequested?.();
    return { live: heartbeat.live, redisNowMs: heartbeat.redisNowMs };
  }

  /** Leaves the live set (a graceful stop), so the others grow their share at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.deps.liveSet.leave(this.deps.workerId).catch(() => undefined);
  }

  private observe(state: AppStateObservation): 'present' | 'absent' | 'lost' {
    if (this.stateLost) return 'lost';
    const { keys, log } = this.deps;
    const verdict = this.appState.observe(state);
    if (verdict.kind === 'absent' && !this.waitingLogged) {
      this.waitingLogged = true;
      log.info({ key: keys.state }, 'application state not created yet: waiting for a coordinator to start the application');
    }
    if (verdict.kind !== 'lost') return verdict.kind;
    this.stateLost = true;
    const err = new StateLostError(keys.app, verdict.reason);
    void this.deps.liveSet
      .recordStateLost(this.deps.workerId, verdict.reason)
      .catch(() => undefined)
      .finally(() => this.deps.onStateLost(err));
    return 'lost';
  }
}
