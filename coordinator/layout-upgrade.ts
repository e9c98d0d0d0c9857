/**
 * The upgrade of an application's Redis state from the single-stream layout (every build before several
 * input streams) to this one, run once by the leading coordinator before its first discovery round.
 *
 * The single-stream layout keyed everything by shard id alone; this one keys by stream and shard. How the
 * old keys map to the new, `<p>` being `shardflow:<app>` and `<s>` the first input stream's key
 * (`name@account.region`; that stream is the one the application read before, so upgrade first and add
 * streams afterwards):
 *
 * | single-stream key                  | becomes                                          |
 * |------------------------------------|--------------------------------------------------|
 * | `<p>:checkpoints` (field: shard)   | `<p>:stream:<s>:checkpoints` (same fields)       |
 * | `<p>:submitted`                    | `<p>:stream:<s>:submitted`                        |
 * | `<p>:shard-ends`                   | `<p>:stream:<s>:shard-ends`                       |
 * | `<p>:initial-shards`               | `<p>:stream:<s>:initial-shards`                   |
 * | `<p>:efo-consumer`                 | `<p>:stream:<s>:efo-consumer`                     |
 * | lease job `<shard>` (and its lock) | removed; discovery creates `<s>\|<shard>`, which resumes at the moved checkpoint |
 * | `<p>:lease-loads` (field: shard)   | deleted; holders publish `<s>\|<shard>` fields within a second |
 * | dead letter `<shard>-<seq>`        | kept as it is (its data names its stream); new ones are `<s>\|<shard>-<seq>` |
 *
 * The renames, the deletion of the old leases' locks and the layout marker are one Lua script, so a crash
 * leaves either the old layout or the new one. Deleting the locks fences out workers of the earlier
 * version that still run (a rolling upgrade): their next checkpoint write or renewal finds no lock, so they
 * stop writing, and nothing they do afterwards lands in a key this version reads. Their lease jobs are
 * then removed (held ones once the stalled check puts them back: lease-queue-tidy.ts removes any job
 * whose id is a bare shard id).
 */
import type { RedisClient } from '../shared/redis/connection';
import { LEASE_KEY_SEPARATOR, type AppKeys } from '../shared/redis/keys';
import type { LeaseQueue } from './lease-queue';

/** The layout this build writes. */
export const LAYOUT_VERSION = 2;

// KEYS: layout, lease-loads, then the 5 (old, new) pairs, then the old leases' lock keys.
// ARGV: the marker's JSON. Returns {checkpoints, submitted, shard ends, initial shards, efo consumer} moved (1/0) and the locks deleted.
const UPGRADE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local moved = {}
for i = 0, 4 do
  local old, new = KEYS[3 + i * 2], KEYS[4 + i * 2]
  if redis.call('EXISTS', old) == 1 and redis.call('EXISTS', new) == 0 then
    redis.call('RENAME', old, new)
    moved[#moved + 1] = 1
  else
    moved[#moved + 1] = 0
  end
end
local locks = 0
for i = 13, #KEYS do locks = locks + redis.call('DEL', KEYS[i]) end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1])
moved[#moved + 1] = locks
return moved
`;

export interface LayoutUpgrade {
  checkpoints: boolean;
  submitted: boolean;
  shardEnds: boolean;
  initialShards: boolean;
  efoConsumer: boolean;
  /** Locks of earlier-version leases deleted (workers of the earlier version fenced out). */
  fencedLeases: number;
  /** Lease jobs of the earlier layout removed. */
  removedLeaseJobs: number;
}

/**
 * Moves the single-stream state to `streamArn`'s keys, once: undefined when the layout is this one
 * already (or when the application is new: then only the marker is written).
 */
export async function upgradeLayout(redis: RedisClient, keys: AppKeys, leases: LeaseQueue, streamArn: string, by: string): Promise<LayoutUpgrade | undefined> {
  if ((await redis.exists(keys.layout)) === 1) return undefined;
  const legacy = keys.legacy;
  const stream = keys.stream(streamArn);
  const legacyJobs = (await leases.queue.getRanges(['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'], 0, -1, true)).filter((id) => !id.includes(LEASE_KEY_SEPARATOR));
  const ids = [...new Set(legacyJobs)];
  const pairs = [legacy.checkpoints, stream.checkpoints, legacy.submitted, stream.submitted, legacy.shardEnds, stream.shardEnds, legacy.initialShards, stream.initialShards, legacy.efoConsumer, stream.efoConsumer];
  const marker = JSON.stringify({ version: LAYOUT_VERSION, at: new Date().toISOString(), by, from: ids.length > 0 ? 'single-stream' : 'new', stream: streamArn });
  const result = (await redis.eval(UPGRADE, 2 + pairs.length + ids.length, keys.layout, keys.leaseLoads, ...pairs, ...ids.map((id) => keys.leaseLock(id)), marker)) as number[] | null;
  if (result === null) return undefined; // another coordinator did it meanwhile
  let removedLeaseJobs = 0;
  for (const id of ids) removedLeaseJobs += await leases.queue.remove(id);
  const [checkpoints, submitted, shardEnds, initialShards, efoConsumer, fencedLeases] = result;
  if (![checkpoints, submitted, shardEnds, initialShards, efoConsumer].some(Boolean) && ids.length === 0) return undefined;
  return { checkpoints: checkpoints === 1, submitted: submitted === 1, shardEnds: shardEnds === 1, initialShards: initialShards === 1, efoConsumer: efoConsumer === 1, fencedLeases, removedLeaseJobs };
}
