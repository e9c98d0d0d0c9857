/**
 * Which shards get a lease, and where each starts. Pure, no I/O.
 *
 * - Parents first: a shard is leased only when each of its parents is finished (checkpoint
 *   SHARD_END) or gone from the stream (trimmed past retention), so a key's records are read in
 *   order across splits and merges.
 * - The shards present at the application's first discovery start at `source.init.position`. With
 *   LATEST, the ones already closed at that first discovery hold nothing to read and are marked
 *   finished at once (a shard that closes later is read to its end like any other).
 * - A shard that appears later (a child of a split or merge) starts at TRIM_HORIZON, so nothing is
 *   skipped, whatever `source.init.position` says.
 */
import type { InitialPosition } from '../shared/config/app-config';
import type { LeaseStart } from '../shared/leases/lease-job';

export interface ShardInfo {
  shardId: string;
  parentShardIds: string[];
  /** True when the shard has an ending sequence number (split, merged or resized away). */
  closed: boolean;
  /** The shard's hash-key range, as ListShards gives it. */
  hashKeyRange?: { startingHashKey: string; endingHashKey: string };
}

export interface LeasePlan {
  /** Shards that should have a lease, with the position to start at when there is no checkpoint. */
  lease: Array<{ shardId: string; parentShardIds: string[]; start: LeaseStart }>;
  /** Closed shards at the first discovery with LATEST: nothing to read, finished without a lease. */
  skip: string[];
}

export interface LeasePlanInput {
  shards: readonly ShardInfo[];
  /** Shards whose checkpoint is SHARD_END. */
  finished: ReadonlySet<string>;
  /** Shards present at the application's first discovery (this one, when `firstDiscovery`). */
  initialShards: ReadonlySet<string>;
  /** True for the application's very first discovery, before its initial shards are recorded. */
  firstDiscovery: boolean;
  initialPosition: InitialPosition;
}

export function planLeases(input: LeasePlanInput): LeasePlan {
  const listed = new Set(input.shards.map((s) => s.shardId));
  const finished = new Set(input.finished);
  const plan: LeasePlan = { lease: [], skip: [] };
  const skipClosed = input.firstDiscovery && input.initialPosition.type === 'LATEST';

  for (const shard of input.shards) {
    if (finished.has(shard.shardId)) continue;
    if (skipClosed && shard.closed) {
      plan.skip.push(shard.shardId);
      finished.add(shard.shardId);
    }
  }
  for (const shard of input.shards) {
    if (finished.has(shard.shardId)) continue;
    const parentsDone = shard.parentShardIds.every((p) => finished.has(p) || !listed.has(p));
    if (!parentsDone) continue;
    plan.lease.push({ shardId: shard.shardId, parentShardIds: shard.parentShardIds, start: startFor(shard.shardId, input) });
  }
  return plan;
}

function startFor(shardId: string, input: LeasePlanInput): LeaseStart {
  if (!input.initialShards.has(shardId)) return { type: 'TRIM_HORIZON' };
  const position = input.initialPosition;
  return position.type === 'AT_TIMESTAMP' ? { type: 'AT_TIMESTAMP', timestamp: position.timestamp.toISOString() } : { type: position.type };
}
