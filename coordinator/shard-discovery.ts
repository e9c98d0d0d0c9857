/**
 * One discovery pass of the leading coordinator over one input stream: list its shards, plan which get a
 * lease and where each starts (parents first: shard-lineage.ts), and create the missing lease jobs (with
 * their hash-key ranges). It returns what it listed, so the round's tidy-up (lease-queue-tidy.ts) puts
 * failed jobs back and removes the jobs of shards the stream no longer lists, in one pass over the queue
 * for every stream. Idempotent: a second pass with nothing new changes nothing.
 *
 * Storage sits behind ports (the lease jobs, the checkpoints, the record of the first discovery's
 * shards, the application's state check), so the pass is unit-tested on in-memory ones.
 */
import type { Shard, ShardLister } from '../shared/aws/kinesis-gateway';
import type { InitialPosition } from '../shared/config/app-config';
import type { CheckpointStore } from '../shared/leases/checkpoint-store';
import type { Logger } from '../shared/logging';
import { metrics } from '../shared/metrics';
import type { LeaseJobStore } from './lease-job-store';
import { planLeases, type ShardInfo } from './shard-lineage';

/** The shards present at the application's first discovery; shards found later start at TRIM_HORIZON. */
export interface InitialShards {
  read(): Promise<string[]>;
  /** Records them, only while the application's state is still the one this process saw; false when it was lost. */
  record(shardIds: readonly string[]): Promise<boolean>;
}

/** A listed shard as the plan sees it. */
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

/** What one pass found: the shards the stream lists, and those finished for good. */
export interface StreamListing {
  streamArn: string;
  listed: ReadonlySet<string>;
  finished: ReadonlySet<string>;
}

export interface ShardDiscoveryDeps {
  shards: ShardLister;
  streamArn: string;
  initialPosition: InitialPosition;
  leases: Pick<LeaseJobStore, 'ensure'>;
  checkpoints: Pick<CheckpointStore, 'finishedShards' | 'skip' | 'get'>;
  initialShards: InitialShards;
  /** False (and the loss reported) unless the application's state is still the one this process saw. */
  stateAllows(): Promise<boolean>;
  log: Logger;
}

export class ShardDiscovery {
  /** The stream's initial shards once recorded (one SMEMBERS per stream per round saved). */
  private initial: string[] | undefined;
  constructor(private readonly deps: ShardDiscoveryDeps) {}

  /** One pass: list shards, plan, create missing leases. Idempotent. Undefined when the application's state was lost meanwhile. */
  async discover(): Promise<StreamListing | undefined> {
    const { streamArn, initialPosition, checkpoints, leases, log } = this.deps;
    const shards = (await this.deps.shards.listShards(streamArn)).map(shardInfo);
    // Checked again after the listing, which can take long: Redis may have lost the state meanwhile.
    if (!(await this.deps.stateAllows())) return undefined;
    // Recorded once, at the stream's first discovery, and never changed: read until it is there, then kept.
    const recorded = this.initial ?? (await this.deps.initialShards.read());
    if (recorded.length > 0) this.initial = recorded;
    const firstDiscovery = recorded.length === 0;
    const initial = firstDiscovery ? shards.map((s) => s.shardId) : recorded;
    const finished = await checkpoints.finishedShards();
    const plan = planLeases({ shards, finished, initialShards: new Set(initial), firstDiscovery, initialPosition });
    const m = metrics();
    m.shards.set({ stream: streamArn, state: 'open' }, shards.filter((s) => !s.closed).length);
    m.shards.set({ stream: streamArn, state: 'closed' }, shards.filter((s) => s.closed).length);
    m.shards.set({ stream: streamArn, state: 'finished' }, finished.size);

    for (const shardId of plan.skip) await checkpoints.skip(shardId);
    // Recorded after the skips: a crash in between repeats this first discovery, with the same result.
    // Written only while the marker holds, atomically: after a loss it would make the emptied Redis look started.
    if (firstDiscovery && initial.length > 0 && !(await this.deps.initialShards.record(initial))) {
      await this.deps.stateAllows();
      return undefined;
    }
    const ranges = new Map(shards.map((s) => [s.shardId, s.hashKeyRange]));
    const jobs = plan.lease.map(({ shardId, parentShardIds, start }) => {
      const hashKeyRange = ranges.get(shardId);
      return hashKeyRange ? { streamArn, shardId, parentShardIds, start, hashKeyRange } : { streamArn, shardId, parentShardIds, start };
    });
    await leases.ensure(jobs);
    log.debug({ stream: streamArn, shards: shards.length, leasable: plan.lease.length, skipped: plan.skip.length, finished: finished.size }, 'shard discovery');
    return { streamArn, listed: new Set(shards.map((s) => s.shardId)), finished };
  }
}
