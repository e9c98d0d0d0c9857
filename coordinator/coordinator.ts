/**
 * The coordinator: lists the input stream's shards at start-up and every discovery interval (and
 * soon after a shard finishes), and keeps exactly one lease job per readable shard. Several may run:
 * one leads (a Redis lease with a TTL), the others stand by and take over when it goes away. Workers
 * keep reading while no coordinator runs; only new shards wait for one.
 */
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../shared/config/app-config';
import { KinesisGateway, type Shard } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { sleep } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import { LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import { CheckpointStore } from '../shared/leases/checkpoint-store';
import { LeaseQueue } from './lease-queue';
import { EfoConsumerLifecycle } from './efo-consumer-lifecycle';
import { LeaderLease } from './leader-lease';
import { metrics } from '../shared/metrics';
import { planLeases, type ShardInfo } from './shard-lineage';

export interface CoordinatorOptions {
  config: AppConfig;
  keys: AppKeys;
  redis: Redis;
  /** A separate connection for BullMQ's blocking event reads. */
  eventsConnection: Redis;
  log: Logger;
  id: string;
  /** Called once when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
}

export function shardInfo(shard: Shard): ShardInfo {
  const info: ShardInfo = {
    shardId: shard.ShardId!,
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => Boolean(p)),
    closed: Boolean(shard.SequenceNumberRange?.EndingSequenceNumber),
  };
  const range = shard.HashKeyRange;
  if (range?.StartingHashKey && range.EndingHashKey) info.hashKeyRange = { startingHashKey: range.StartingHashKey, endingHashKey: range.EndingHashKey };
  return info;
}

export class Coordinator {
  private readonly kinesis: KinesisGateway;
  readonly leases: LeaseQueue;
  private readonly checkpoints: CheckpointStore;
  private readonly events: QueueEvents;
  private readonly stopController = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly leadership: LeaderLease;
  /** Set while this coordinator leads; aborted when it stops leading. */
  private leading: AbortController | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  readonly efoConsumer: EfoConsumerLifecycle | undefined;
  /** Set once this coordinator has added hash-key ranges to lease jobs of earlier versions. */
  private rangesAdded = false;

  constructor(private readonly opts: CoordinatorOptions) {
    this.kinesis = KinesisGateway.fromConfig(opts.config.input.client);
    this.leases = new LeaseQueue(opts.redis, opts.keys);
    this.checkpoints = new CheckpointStore(opts.redis, opts.keys);
    this.events = new QueueEvents(LEASE_QUEUE, { connection: opts.eventsConnection, prefix: opts.keys.bullPrefix, autorun: false });
    // A finished parent makes its children leasable: look again soon instead of after an interval.
    this.events.on('completed', () => this.wake?.());
    this.leadership = new LeaderLease(opts.redis, opts.keys.coordinatorLeader, opts.id, opts.config.cluster.leaseTimeoutMs);
    if (opts.config.input.readerType === 'EFO') {
      this.efoConsumer = new EfoConsumerLifecycle(this.kinesis, opts.config.input, opts.redis, opts.keys, opts.log);
    }
  }

  /**
   * Joins the coordinators. The leader prepares the EFO consumer and runs the first discovery before
   * this returns, so errors such as a missing stream fail the start; a standby returns at once and
   * takes over when the leader's lease expires.
   */
  async start(): Promise<void> {
    await this.beat();
    const leads = await this.leadership.step();
    metrics().isLeader.set(leads ? 1 : 0);
    if (leads) {
      await this.efoConsumer?.prepare(this.stopController.signal);
      await this.discover();
      this.lead({ ready: true });
    } else {
      this.opts.log.info({ leader: await this.leadership.holder() }, 'another coordinator leads; standing by');
    }
    void this.events.run().catch((err) => this.opts.log.warn({ err: describeError(err) }, 'lease events stopped'));
    this.heartbeat = setInterval(() => void this.tick().catch((err) => this.opts.log.warn({ err: describeError(err) }, 'coordinator heartbeat failed')), 1000);
  }

  /** Every second: heartbeat, shutdown check, and leadership (take it, keep it, or notice its loss). */
  private async tick(): Promise<void> {
    if (this.stopController.signal.aborted) return;
    await this.beat();
    const leads = await this.leadership.step();
    metrics().isLeader.set(leads ? 1 : 0);
    if (leads && !this.leading) {
      this.opts.log.info('leader lease acquired: this coordinator leads now');
      this.lead({ ready: false });
    } else if (!leads && this.leading) {
      this.opts.log.warn({ leader: await this.leadership.holder() }, 'leader lease lost: standing by');
      this.leading.abort();
      this.leading = undefined;
      this.wake?.();
    }
  }

  private lead(state: { ready: boolean }): void {
    const controller = new AbortController();
    this.leading = controller;
    this.loop = this.runLoop(controller.signal, state.ready);
  }

  /** Heartbeat in the live-coordinators set, and the check for an application shutdown request. */
  private async beat(): Promise<void> {
    const { redis, keys, id } = this.opts;
    const now = Date.now();
    const results = await redis
      .multi()
      .zadd(keys.liveCoordinators, String(now), id)
      .zremrangebyscore(keys.liveCoordinators, '-inf', String(now - 10_000))
      .exists(keys.shutdown)
      .exec();
    const shutdownRequested = results?.[2]?.[1] === 1;
    if (shutdownRequested && !this.stopController.signal.aborted) this.opts.onShutdownRequested?.();
  }

  /**
   * Stops this coordinator and hands leadership over at once. Never deregisters the EFO consumer:
   * workers may still read through it.
   */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.stopController.abort();
    this.leading?.abort();
    this.wake?.();
    await this.loop;
    await this.leadership.resign().catch(() => undefined);
    await this.opts.redis.zrem(this.opts.keys.liveCoordinators, this.opts.id).catch(() => undefined);
    await this.events.close();
    await this.leases.close();
    this.kinesis.destroy();
  }

  /** While leading: (prepare the consumer,) discover now and then every interval or when woken. */
  private async runLoop(signal: AbortSignal, ready: boolean): Promise<void> {
    let prepared = ready;
    let due = !ready;
    while (!signal.aborted) {
      if (!due) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void sleep(this.opts.config.input.discoveryIntervalMs, signal).then(resolve);
        });
        this.wake = undefined;
      }
      due = false;
      if (signal.aborted) break;
      try {
        if (!prepared) {
          await this.efoConsumer?.prepare(signal);
          prepared = true;
        }
        await this.discover();
      } catch (err) {
        this.opts.log.warn({ err: describeError(err) }, 'shard discovery failed; will try again');
      }
    }
  }

  /** One discovery pass: list shards, plan, create missing leases. Idempotent. */
  async discover(): Promise<void> {
    const { config, keys, redis, log } = this.opts;
    const shards = (await this.kinesis.listShards(config.input.stream.arn)).map(shardInfo);
    const recorded = await redis.smembers(keys.initialShards);
    const firstDiscovery = recorded.length === 0;
    const initial = firstDiscovery ? shards.map((s) => s.shardId) : recorded;
    const finished = await this.checkpoints.finishedShards();
    const plan = planLeases({ shards, finished, initialShards: new Set(initial), firstDiscovery, initialPosition: config.input.initialPosition });
    const m = metrics();
    m.shards.set({ state: 'open' }, shards.filter((s) => !s.closed).length);
    m.shards.set({ state: 'closed' }, shards.filter((s) => s.closed).length);
    m.shards.set({ state: 'finished' }, finished.size);

    for (const shardId of plan.skip) await this.checkpoints.skip(shardId);
    // Recorded after the skips: a crash in between repeats this first discovery, with the same result.
    if (firstDiscovery && initial.length > 0) await redis.sadd(keys.initialShards, ...initial);
    const ranges = new Map(shards.map((s) => [s.shardId, s.hashKeyRange]));
    const leases = plan.lease.map(({ shardId, parentShardIds, start }) => {
      const hashKeyRange = ranges.get(shardId);
      return hashKeyRange ? { shardId, parentShardIds, start, hashKeyRange } : { shardId, parentShardIds, start };
    });
    await this.leases.ensure(leases);
    if (!this.rangesAdded) {
      // Once per coordinator: lease jobs of earlier versions get their shard's range too.
      const updated = await this.leases.addHashKeyRanges(leases);
      this.rangesAdded = true;
      if (updated > 0) log.info({ updated }, 'added hash-key ranges to lease jobs created by an earlier version');
    }
    const retried = await this.leases.retryFailed((id) => finished.has(id));
    log.debug({ shards: shards.length, leasable: plan.lease.length, skipped: plan.skip.length, finished: finished.size, retried }, 'shard discovery');
  }
}
