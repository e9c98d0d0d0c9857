/**
 * The input streams as the leading coordinator sees them: one entry per configured stream (its Kinesis
 * client with the stream's own region and credentials, its shard discovery, its EFO consumer's life), a
 * discovery of each stream when its own `source.shard.discovery.interval` has passed, and the registry
 * of streams kept in step (input-stream-registry.ts): a stream named anew is `active` (a removed one
 * keeps its checkpoints and resumes), one no longer named is `removed` (its JOB_MANAGED EFO consumer is
 * deregistered), one Kinesis does not find is `deleted`: reported in the log, a metric and the
 * dashboard, while the other streams flow. What is done with the lease jobs of each is the tidy-up's
 * business (lease-queue-tidy.ts).
 */
import type { InputStreamConfig } from '../shared/config/app-config';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { CheckpointStore } from '../shared/leases/checkpoint-store';
import type { Logger } from '../shared/logging';
import { metrics } from '../shared/metrics';
import { addToSetWhileMarked } from '../shared/redis/app-state';
import type { RedisClient } from '../shared/redis/connection';
import { streamKey, type AppKeys } from '../shared/redis/keys';
import { EfoConsumerLifecycle } from './efo-consumer-lifecycle';
import type { InputStreamRecord, InputStreamRegistry, InputStreamState } from './input-stream-registry';
import type { LeaseJobStore } from './lease-job-store';
import { ShardDiscovery, type StreamListing } from './shard-discovery';

/** Removes the gauges a leader keeps per input stream. */
function forgetStreamSeries(arn: string): void {
  const m = metrics();
  m.inputStreamDeleted.remove({ stream: arn });
  for (const state of ['open', 'closed', 'finished']) m.shards.remove({ stream: arn, state });
}

interface StreamEntry {
  input: InputStreamConfig;
  kinesis: KinesisGateway;
  discovery: ShardDiscovery;
  efo: EfoConsumerLifecycle | undefined;
  efoReady: boolean;
  /** When the stream is due for its next discovery (ms, wall clock). */
  dueAt: number;
  /** Kinesis answered ResourceNotFound at the last discovery. */
  deleted: boolean;
}

export interface CoordinatorInputStreamsDeps {
  redis: RedisClient;
  keys: AppKeys;
  leases: Pick<LeaseJobStore, 'ensure'>;
  registry: InputStreamRegistry;
  /** Application.removed-stream.retention. */
  retentionMs: number;
  /** The state marker this process saw (for writing a stream's initial shards only while it holds). */
  marker(): string;
  stateAllows(): Promise<boolean>;
  log: Logger;
}

/** What a round found: the listings of the streams discovered, and the stream keys whose lease jobs may exist. */
export interface DiscoveryRound {
  listings: StreamListing[];
  /** Stream keys of the streams configured and not deleted. */
  readable: ReadonlySet<string>;
  /** Streams whose discovery failed in this round, by ARN, with the error. */
  failures: Map<string, unknown>;
  /** False when the application's state was lost meanwhile. */
  stateHeld: boolean;
}

export class CoordinatorInputStreams {
  private readonly entries = new Map<string, StreamEntry>();

  constructor(private readonly deps: CoordinatorInputStreamsDeps) {}

  /** The shortest discovery interval of the streams (how often a round is worth running). */
  get intervalMs(): number {
    return Math.min(...[...this.entries.values()].map((e) => e.input.discoveryIntervalMs), 60_000);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Applies the configured inputs: new streams are discovered in the next round; removed ones retire their consumer. */
  update(inputs: readonly InputStreamConfig[]): { added: string[]; removed: string[] } {
    const wanted = new Map(inputs.map((input) => [input.stream.arn, input]));
    const removed = [...this.entries.keys()].filter((arn) => !wanted.has(arn));
    for (const arn of removed) {
      const entry = this.entries.get(arn)!;
      this.entries.delete(arn);
      forgetStreamSeries(arn);
      void (entry.efo?.retire() ?? Promise.resolve(false))
        .catch((err) => this.deps.log.warn({ stream: arn, err: describeError(err) }, 'could not deregister the removed stream\'s EFO consumer'))
        .finally(() => entry.kinesis.destroy());
    }
    const added = [...wanted.keys()].filter((arn) => !this.entries.has(arn));
    for (const arn of added) this.entries.set(arn, this.open(wanted.get(arn)!));
    return { added, removed };
  }

  /**
   * Discovers every stream that is due (all of them with `force`), then brings the registry in step.
   * A stream that fails is reported and retried next round; the others go on.
   */
  async round(signal: AbortSignal, force = false): Promise<DiscoveryRound> {
    const now = Date.now();
    const readable = new Set<string>();
    const round: DiscoveryRound = { listings: [], readable, failures: new Map(), stateHeld: true };
    for (const [arn, entry] of this.entries) {
      if (signal.aborted) break;
      if (force || entry.dueAt <= now) {
        entry.dueAt = now + entry.input.discoveryIntervalMs;
        const listing = await this.discover(arn, entry, signal).catch((err: unknown) => {
          round.failures.set(arn, err);
          return null;
        });
        if (listing === undefined) {
          round.stateHeld = false;
          return round;
        }
        if (listing) round.listings.push(listing);
      }
      if (!entry.deleted) readable.add(streamKey(arn));
    }
    await this.syncRegistry(now);
    return round;
  }

  /** This coordinator stopped leading: its per-stream gauges would go stale (the new leader's are the ones that count). */
  forgetSeries(): void {
    for (const arn of this.entries.keys()) forgetStreamSeries(arn);
    metrics().inputStreams.reset();
  }

  /** Closes every stream's client. */
  destroy(): void {
    for (const entry of this.entries.values()) entry.kinesis.destroy();
  }

  private open(input: InputStreamConfig): StreamEntry {
    const { redis, keys, log } = this.deps;
    const streamKeys = keys.stream(input.stream.arn);
    const kinesis = KinesisGateway.fromConfig(input.client);
    const discovery = new ShardDiscovery({
      shards: kinesis,
      streamArn: input.stream.arn,
      initialPosition: input.initialPosition,
      leases: this.deps.leases,
      checkpoints: new CheckpointStore(redis, streamKeys),
      initialShards: {
        read: () => redis.smembers(streamKeys.initialShards),
        record: (shardIds) => addToSetWhileMarked(redis, keys, this.deps.marker(), streamKeys.initialShards, shardIds),
      },
      stateAllows: () => this.deps.stateAllows(),
      log: log.child({ stream: input.stream.name }),
    });
    const efo = input.readerType === 'EFO' ? new EfoConsumerLifecycle(kinesis, input, redis, streamKeys, log.child({ stream: input.stream.name })) : undefined;
    return { input, kinesis, discovery, efo, efoReady: false, dueAt: 0, deleted: false };
  }

  /** One stream's discovery (its EFO consumer made ready first); undefined when the application's state was lost. */
  private async discover(arn: string, entry: StreamEntry, signal: AbortSignal): Promise<StreamListing | undefined> {
    try {
      if (entry.efo && !entry.efoReady) {
        await entry.efo.prepare(signal);
        entry.efoReady = true;
      }
      const listing = await entry.discovery.discover();
      if (entry.deleted) this.deps.log.info({ stream: arn }, 'input stream found again: reading it');
      entry.deleted = false;
      metrics().inputStreamDeleted.remove({ stream: arn });
      return listing;
    } catch (err) {
      if (classifyKinesisError(err) === 'not-found') {
        if (!entry.deleted) this.deps.log.error({ stream: arn, group: entry.input.group }, 'input stream not found in Kinesis (deleted?): its leases end and its checkpoints are kept; the other streams go on');
        entry.deleted = true;
        entry.efoReady = false;
        metrics().inputStreamDeleted.set({ stream: arn }, 1);
      } else {
        this.deps.log.warn({ stream: arn, err: describeError(err) }, 'shard discovery of an input stream failed; will try again');
      }
      throw err;
    }
  }

  /** Writes each stream's state where it changed, gives removed and deleted streams' keys their TTL, and forgets those past it. */
  private async syncRegistry(now: number): Promise<void> {
    const { registry, retentionMs, log } = this.deps;
    const known = await registry.read();
    const counts: Record<InputStreamState, number> = { active: 0, removed: 0, deleted: 0 };
    for (const [arn, entry] of this.entries) {
      const state: InputStreamState = entry.deleted ? 'deleted' : 'active';
      counts[state] += 1;
      const before = known.get(arn);
      if (before?.state === state && before.group === entry.input.group) continue;
      const record: InputStreamRecord = { key: streamKey(arn), name: entry.input.stream.name, group: entry.input.group, state, since: before?.state === state ? before.since : now };
      await registry.write(arn, record);
      if (state === 'deleted') await registry.expireState(arn, retentionMs);
      else if (before && before.state !== 'active') {
        await registry.keepState(arn);
        log.info({ stream: arn, was: before.state, since: new Date(before.since).toISOString() }, 'input stream named again: resuming at its checkpoints');
      } else if (!before) log.info({ stream: arn, group: entry.input.group }, 'input stream added');
    }
    for (const [arn, record] of known) {
      if (this.entries.has(arn)) continue;
      if (record.state === 'active') {
        await registry.write(arn, { ...record, state: 'removed', since: now });
        await registry.expireState(arn, retentionMs);
        counts.removed += 1;
        log.info({ stream: arn, keptForMs: retentionMs }, 'input stream removed from the configuration: its leases end with final checkpoints, which are kept for Application.removed-stream.retention');
      } else if (now - record.since > retentionMs) {
        await registry.forget(arn);
        log.info({ stream: arn, state: record.state }, 'forgot an input stream past Application.removed-stream.retention');
      } else counts[record.state] += 1;
    }
    for (const [state, n] of Object.entries(counts)) metrics().inputStreams.set({ state }, n);
  }
}
