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
import { planLeases, type ShardInfo } from './shard-lineage';

export interface CoordinatorOptions {
  config: AppConfig;
  keys: AppKeys;
  redis: Redis;
  /** A separate connection for BullMQ's blocking event reads. */
  eventsConnection: Redis;
  log: Logger;
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

  constructor(private readonly opts: CoordinatorOptions) {
    this.kinesis = KinesisGateway.fromConfig(opts.config.input.client);
    this.leases = new LeaseQueue(opts.redis, opts.keys);
    this.events = new QueueEvents(LEASE_QUEUE, { connection: opts.eventsConnection, prefix: opts.keys.bullPrefix, autorun: false });
    // A finished parent makes its children leasable: look again soon instead of after an interval.
    this.events.on('completed', () => this.wake?.());
  }

  /** Runs the first discovery (failing fast on errors such as a missing stream), then the loop. */
  async start(): Promise<void> {
    await this.discover();
    void this.events.run().catch((err) => this.opts.log.warn({ err: describeError(err) }, 'lease events stopped'));
    this.loop = this.runLoop();
  }

  async stop(): Promise<void> {
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
    let initial = await redis.smembers(keys.initialShards);
    if (initial.length === 0 && shards.length > 0) {
      await redis.sadd(keys.initialShards, ...shards.map((s) => s.shardId));
      initial = await redis.smembers(keys.initialShards);
    }
    const checkpoints = await redis.hgetall(keys.checkpoints);
    const finished = new Set(Object.keys(checkpoints).filter((id) => checkpoints[id] === SHARD_END));
    const plan = planLeases({ shards, finished, initialShards: new Set(initial), initialPosition: config.input.initialPosition });

    for (const shardId of plan.skip) await redis.hsetnx(keys.checkpoints, shardId, SHARD_END);
    await this.leases.ensure(plan.lease.map(({ shardId, parentShardIds, start }) => ({ shardId, parentShardIds, start })));
    const retried = await this.leases.retryFailed((id) => finished.has(id));
    log.debug({ shards: shards.length, leasable: plan.lease.length, skipped: plan.skip.length, finished: finished.size, retried }, 'shard discovery');
  }
}
