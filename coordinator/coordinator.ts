/**
 * The coordinator: lists every input stream's shards at start-up and every discovery interval (and
 * soon after a shard finishes), and keeps exactly one lease job per readable shard of every stream (the
 * streams: input-streams.ts; a stream's pass: shard-discovery.ts; the round's tidy-up:
 * lease-queue-tidy.ts; the lease jobs in BullMQ: lease-queue.ts). The list of input streams can change
 * while it runs (`updateInputs`). Before its first round a new leader moves a single-stream
 * application's keys to the several-streams layout (layout-upgrade.ts). Several may run:
 * one leads (a Redis lease with a TTL), the others stand by and take over when it goes away. Workers
 * keep reading while no coordinator runs; only new shards wait for one.
 */
import type { RedisClient } from '../shared/redis/connection';
import type { AppConfig, InputStreamConfig } from '../shared/config/app-config';
import { ConfigError } from '../shared/config/config-error';
import { describeError } from '../shared/aws/kinesis-errors';
import { sleep } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import type { AppKeys } from '../shared/redis/keys';
import { CheckpointStore } from '../shared/leases/checkpoint-store';
import { LeaseQueue } from './lease-queue';
import { CoordinatorInputStreams, type DiscoveryRound } from './input-streams';
import { InputStreamRegistry } from './input-stream-registry';
import { tidyLeaseJobs } from './lease-queue-tidy';
import { upgradeLayout } from './layout-upgrade';
import { LeaderLease, RedisLeaderLeaseStore } from './leader-lease';
import { AppStateGuard, createMarker, readAppState, recordStateLost, StateLostError, type AppStateObservation } from '../shared/redis/app-state';
import { beat } from '../shared/redis/heartbeats';
import { metrics } from '../shared/metrics';
import { pruneWorkerStatuses, WORKER_STATUS_MAX_AGE_MS, WORKER_STATUS_PRUNE_INTERVAL_MS } from './worker-status-pruner';
import { monotonicClock } from '../shared/clock';

/** How long a state check before a discovery stands for the next ones. */
const STATE_CHECK_REUSE_MS = 1000;

export interface CoordinatorOptions {
  config: AppConfig;
  keys: AppKeys;
  redis: RedisClient;
  /** A separate connection for BullMQ's blocking event reads. */
  eventsConnection: RedisClient;
  log: Logger;
  id: string;
  /** Called once when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
  /** Called once when Redis lost the application's state (Redis came back empty): the process must stop at once. */
  onStateLost: (err: StateLostError) => void;
}

export class Coordinator {
  readonly leases: LeaseQueue;
  readonly streams: CoordinatorInputStreams;
  private readonly stopController = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly leadership: LeaderLease;
  /** Set while this coordinator leads; aborted when it stops leading. */
  private leading: AbortController | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Checks the leader lease's deadline, independently of any Redis call that may hang. */
  private deadlineCheck: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly appState: AppStateGuard;
  private stateLost = false;
  /** When this coordinator last pruned the status entries of dead workers (ms, its own clock). */
  private workerStatusPrunedAt = -Infinity;

  constructor(private readonly opts: CoordinatorOptions) {
    const { config, keys, redis } = opts;
    this.leases = new LeaseQueue(redis, keys, opts.eventsConnection);
    // A finished parent makes its children leasable: look again soon instead of after an interval.
    this.leases.onShardFinished(() => this.wake?.());
    this.streams = new CoordinatorInputStreams({
      redis,
      keys,
      leases: this.leases,
      registry: new InputStreamRegistry(redis, keys),
      retentionMs: config.application.removedStreamRetentionMs,
      marker: () => this.appState.marker ?? '',
      stateAllows: () => this.stateAllowsDiscovery(),
      log: opts.log,
    });
    this.streams.update(config.inputs);
    this.leadership = new LeaderLease(new RedisLeaderLeaseStore(opts.redis, opts.keys.coordinatorLeader), opts.id, opts.config.cluster.leaseTimeoutMs, monotonicClock);
    this.appState = new AppStateGuard(opts.keys);
  }

  /** The input streams named by a re-read configuration: new ones are discovered at once, removed ones end. */
  updateInputs(inputs: readonly InputStreamConfig[]): void {
    const { added, removed } = this.streams.update(inputs);
    if (added.length > 0 || removed.length > 0) {
      this.forceRound = true;
      this.wake?.();
    }
  }

  /** Set when the next round discovers every stream, due or not. */
  private forceRound = false;

  /**
   * Joins the coordinators. The leader prepares the EFO consumer and runs the first discovery before
   * this returns, so errors such as a missing stream fail the start; a standby returns at once and
   * takes over when the leader's lease expires. Throws {@link StateLostError} when Redis lost the
   * application's state earlier (the tombstone exists); writes the state marker at the app's first start.
   */
  async start(): Promise<void> {
    await this.initAppState();
    await this.beat();
    const leads = await this.leadership.step();
    metrics().isLeader.set(leads ? 1 : 0);
    if (leads) {
      if (!(await this.stateAllowsDiscovery())) throw new StateLostError(this.opts.keys.app, 'its state marker vanished during the start');
      await this.upgrade();
      const round = await this.discover(true);
      // A start fails on a configuration error (a SELF_MANAGED consumer missing), or when no stream at all could be listed.
      const failures = [...round.failures.values()];
      const fatal = failures.find((err) => err instanceof ConfigError) ?? (failures.length === this.streams.size ? failures[0] : undefined);
      if (fatal !== undefined) throw fatal;
      this.lead({ ready: true });
    } else {
      this.opts.log.info({ leader: await this.leadership.holder() }, 'another coordinator leads; standing by');
    }
    void this.leases.listen().catch((err) => this.opts.log.warn({ err: describeError(err) }, 'lease events stopped'));
    this.heartbeat = setInterval(() => this.onTick(), 1000);
    const checkMs = Math.max(50, Math.min(250, Math.floor(this.leadership.marginMs / 4)));
    this.deadlineCheck = setInterval(() => this.enforceLeaderDeadline(), checkMs);
  }

  /** The 1 s timer: one tick at a time (a tick that hangs on Redis is not stacked on). */
  private onTick(): void {
    this.enforceLeaderDeadline();
    if (this.ticking) return;
    this.ticking = true;
    void this.tick()
      .catch((err) => this.opts.log.warn({ err: describeError(err) }, 'coordinator heartbeat failed'))
      .finally(() => (this.ticking = false));
  }

  /** Every second: heartbeat, shutdown and state check, and leadership (take it, keep it, or notice its loss). */
  private async tick(): Promise<void> {
    if (this.stopController.signal.aborted || this.stateLost) return;
    await this.beat();
    if (this.stateLost) return;
    await this.leadership.step();
    const leads = this.leadership.leads();
    metrics().isLeader.set(leads ? 1 : 0);
    if (leads && !this.leading) {
      this.opts.log.info('leader lease acquired: this coordinator leads now');
      this.lead({ ready: false });
    } else if (!leads && this.leading) {
      this.opts.log.warn({ leader: await this.leadership.holder() }, 'leader lease lost: standing by');
      this.stopLeading();
    }
  }

  /**
   * A leader whose last successful renewal started more than the TTL minus the margin ago stops leading
   * now, before Redis can expire its key and let a standby lead too (whether the renewal failed or hangs).
   */
  private enforceLeaderDeadline(): void {
    if (!this.leading || this.leadership.leads()) return;
    metrics().isLeader.set(0);
    metrics().leaderLeaseExpired.inc();
    const { validForMs } = this.leadership;
    this.opts.log.warn({ leaseTimeoutMs: this.leadership.ttlMs, validForMs }, `leader lease not renewed within ${validForMs} ms; stopped leading`);
    this.stopLeading();
  }

  private stopLeading(): void {
    this.leading?.abort();
    this.leading = undefined;
    this.streams.forgetSeries();
    this.wake?.();
  }

  /** At start: refuse after a recorded loss; write the marker at the app's first start, and remember it. */
  private async initAppState(): Promise<void> {
    const { redis, keys, id } = this.opts;
    const before = await readAppState(redis, keys);
    if (before.tombstone === null) await createMarker(redis, keys, id);
    const verdict = this.appState.observe(await readAppState(redis, keys));
    if (verdict.kind === 'lost') throw new StateLostError(keys.app, verdict.reason);
  }

  /** Right before each discovery: false (and the loss reported) unless the marker this process saw is still there. */
  private async stateAllowsDiscovery(): Promise<boolean> {
    if (this.stateLost) return false;
    // Asked after every stream's listing: with hundreds of streams, one read a second answers them all
    // (the heartbeat checks the state every second anyway).
    const now = Date.now();
    if (now - this.stateCheckedAt < STATE_CHECK_REUSE_MS) return true;
    this.observeAppState(await readAppState(this.opts.redis, this.opts.keys));
    this.stateCheckedAt = now;
    return !this.stateLost;
  }

  /** When the last state check before a discovery read Redis (ms, wall clock). */
  private stateCheckedAt = -Infinity;

  private observeAppState(state: AppStateObservation): void {
    if (this.stateLost) return;
    const verdict = this.appState.observe(state);
    if (verdict.kind === 'present') return;
    // The marker is written before the first discovery, so "absent" after it means it is gone.
    const reason = verdict.kind === 'lost' ? verdict.reason : `its marker key ${this.opts.keys.state} is gone`;
    this.stateLost = true;
    this.stopLeading();
    metrics().isLeader.set(0);
    const err = new StateLostError(this.opts.keys.app, reason);
    void recordStateLost(this.opts.redis, this.opts.keys, this.opts.id, reason, this.opts.keys.liveCoordinators)
      .catch(() => undefined)
      .finally(() => this.opts.onStateLost(err));
  }

  private lead(state: { ready: boolean }): void {
    const controller = new AbortController();
    this.leading = controller;
    this.loop = this.runLoop(controller.signal, state.ready);
  }

  /**
   * Heartbeat in the live-coordinators set (Redis's clock), the check for an application shutdown
   * request and the check of the application's state: one script, one round trip.
   */
  private async beat(): Promise<void> {
    const { redis, keys, id } = this.opts;
    const heartbeat = await beat(redis, keys, keys.liveCoordinators, id, 10_000);
    this.observeAppState(heartbeat.state);
    if (this.stateLost) return;
    if (heartbeat.shutdownRequested && !this.stopController.signal.aborted) this.opts.onShutdownRequested?.();
  }

  /**
   * Stops this coordinator and hands leadership over at once. Never deregisters the EFO consumer:
   * workers may still read through it.
   */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.deadlineCheck);
    this.stopController.abort();
    this.leading?.abort();
    this.wake?.();
    await this.loop;
    await this.leadership.resign().catch(() => undefined);
    await this.opts.redis.zrem(this.opts.keys.liveCoordinators, this.opts.id).catch(() => undefined);
    await this.leases.close();
    this.streams.destroy();
  }

  /** While leading: (upgrade the layout,) discover now and then every interval or when woken. */
  private async runLoop(signal: AbortSignal, ready: boolean): Promise<void> {
    let upgraded = ready;
    let due = !ready;
    while (!signal.aborted) {
      if (!due) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void sleep(this.streams.intervalMs, signal).then(resolve);
        });
        this.wake = undefined;
      }
      due = false;
      if (signal.aborted) break;
      try {
        if (!(await this.stateAllowsDiscovery()) || signal.aborted) break;
        if (!upgraded) {
          await this.upgrade();
          upgraded = true;
        }
        const force = this.forceRound;
        this.forceRound = false;
        await this.discover(force);
      } catch (err) {
        this.opts.log.warn({ err: describeError(err) }, 'shard discovery failed; will try again');
      }
      if (!signal.aborted) await this.pruneWorkerStatuses();
    }
  }

  /** At most once a minute while leading: deletes the status entries of workers that died (see worker-status-pruner.ts). */
  private async pruneWorkerStatuses(): Promise<void> {
    const now = Date.now();
    if (now - this.workerStatusPrunedAt < WORKER_STATUS_PRUNE_INTERVAL_MS) return;
    this.workerStatusPrunedAt = now;
    try {
      const pruned = await pruneWorkerStatuses(this.opts.redis, this.opts.keys, this.opts.config.cluster.leaseTimeoutMs, now);
      if (pruned.length > 0) this.opts.log.info({ workers: pruned }, `removed the status of ${pruned.length} worker(s) not heard from for ${WORKER_STATUS_MAX_AGE_MS / 60_000} minutes`);
    } catch (err) {
      this.opts.log.warn({ err: describeError(err) }, 'pruning the status of dead workers failed; will try again');
    }
  }

  /**
   * One round: discover the streams that are due (all with `force`), then tidy the lease jobs no worker
   * holds (lease-queue-tidy.ts). Idempotent.
   */
  async discover(force = false): Promise<DiscoveryRound> {
    const round = await this.streams.round(this.stopController.signal, force);
    // A round cut short by a stop has not seen every stream: tidying then would remove the others' jobs.
    if (!round.stateHeld || this.stopController.signal.aborted) return round;
    const { keys, redis, log } = this.opts;
    await tidyLeaseJobs(round, { leases: this.leases, checkpoint: (arn, shardId) => new CheckpointStore(redis, keys.stream(arn)).get(shardId), log });
    return round;
  }

  /** Moves a single-stream application's keys to this layout, once (layout-upgrade.ts). */
  private async upgrade(): Promise<void> {
    const { redis, keys, config, log } = this.opts;
    const moved = await upgradeLayout(redis, keys, this.leases, config.inputs[0].stream.arn, this.opts.id);
    if (moved) log.info({ stream: config.inputs[0].stream.arn, ...moved }, 'moved the single-stream state of an earlier version to this layout (its stream: the first input stream)');
  }
}
