/**
 * The coordinator: lists the input stream's shards at start-up and every discovery interval (and
 * soon after a shard finishes), and keeps exactly one lease job per readable shard.
 */
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../shared/config/app-config';
import { KinesisGateway, type Shard } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { sleep } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import { LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import { SHARD_END } from '../worker/checkpoint/checkpoint-store';
import { LeaseQueue } from './lease-queue';
import { EfoConsumerLifecycle } from './efo-consumer-lifecycle';
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
  return {
    shardId: shard.ShardId!,
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => Boolean(p)),
    closed: Boolean(shard.SequenceNumberRange?.EndingSequenceNumber),
  };
}

export class Coordinator {
  private readonly kinesis: KinesisGateway;
  readonly leases: LeaseQueue;
  private readonly events: QueueEvents;
  private readonly stopController = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  readonly efoConsumer: EfoConsumerLifecycle | undefined;

  constructor(private readonly opts: CoordinatorOptions) {
    this.kinesis = KinesisGateway.fromConfig(opts.config.input.client);
    this.leases = new LeaseQueue(opts.redis, opts.keys);
    this.events = new QueueEvents(LEASE_QUEUE, { connection: opts.eventsConnection, prefix: opts.keys.bullPrefix, autorun: false });
    // A finished parent makes its children leasable: look again soon instead of after an interval.
    this.events.on('completed', () => this.wake?.());
    if (opts.config.input.readerType === 'EFO') {
      this.efoConsumer = new EfoConsumerLifecycle(this.kinesis, opts.config.input, opts.redis, opts.keys, opts.log);
    }
  }

  /** Runs the first discovery (failing fast on errors such as a missing stream), then the loop. */
  async start(): Promise<void> {
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat().catch(() => undefined), 1000);
    await this.efoConsumer?.prepare(this.stopController.signal);
    await this.discover();
    void this.events.run().catch((err) => this.opts.log.warn({ err: describeError(err) }, 'lease events stopped'));
    this.loop = this.runLoop();
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

  /** Stops this coordinator. Never deregisters the EFO consumer: workers may still read through it. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.opts.redis.zrem(this.opts.keys.liveCoordinators, this.opts.id).catch(() => undefined);
    this.stopController.abort();
    this.wake?.();
    await this.loop;
    await this.events.close();
    await this.leases.close();
    this.kinesis.destroy();
  }

  private async runLoop(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(this.opts.config.input.discoveryIntervalMs, signal).then(resolve);
      });
      this.wake = undefined;
      if (signal.aborted) break;
      try {
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
    const checkpoints = await redis.hgetall(keys.checkpoints);
    const finished = new Set(Object.keys(checkpoints).filter((id) => checkpoints[id] === SHARD_END));
    const plan = planLeases({ shards, finished, initialShards: new Set(initial), firstDiscovery, initialPosition: config.input.initialPosition });

    for (const shardId of plan.skip) await redis.hsetnx(keys.checkpoints, shardId, SHARD_END);
    // Recorded after the skips: a crash in between repeats this first discovery, with the same result.
    if (firstDiscovery && initial.length > 0) await redis.sadd(keys.initialShards, ...initial);
    await this.leases.ensure(plan.lease.map(({ shardId, parentShardIds, start }) => ({ shardId, parentShardIds, start })));
    const retried = await this.leases.retryFailed((id) => finished.has(id));
    log.debug({ shards: shards.length, leasable: plan.lease.length, skipped: plan.skip.length, finished: finished.size, retried }, 'shard discovery');
  }
}
