/**
 * The Redis side of lease loads (`worker.balance = THROUGHPUT`): one hash field per shard,
 * "owner|bytes per second|moved at|updated at", times in ms of Redis's clock (never the host's).
 *
 * A worker reads the whole hash once per balancer tick and writes its own leases in one script call,
 * so the cost is four commands per worker per tick (HGETALL; the script, its TIME and one HSET)
 * whatever its lease count: with 32 workers and 2,048 shards, 0.06 commands per lease per second.
 * A field is about 40 bytes. The per-lease
 * progress in the worker-status hash would have been free to write but is several hundred bytes per
 * lease to read by every worker every second.
 *
 * A field keeps its rate after its owner lets the lease go (owner empty), so the next owner starts
 * from the measured rate; fields nobody owns that were not written for a while (finished shards, a
 * crashed worker's leases nobody took) are deleted.
 */
import type { RedisClient } from '../../shared/redis/connection';
import type { AppKeys } from '../../shared/redis/keys';

export interface LeaseLoadEntry {
  leaseKey: string;
  /** Empty when nobody holds the lease (as far as the field knows). */
  owner: string;
  bytesPerSecond?: number;
  movedAt?: number;
  updatedAt: number;
  /** The field as read, to delete it only if it did not change since. */
  raw: string;
}

export interface LeaseLoadWrite {
  leaseKey: string;
  /** Empty to publish the lease as let go. */
  owner: string;
  bytesPerSecond?: number;
  movedAt?: number;
}

// Lua's unpack has a stack limit: HSET in chunks of this many fields.
const CHUNK = 500;

// KEYS: loads hash. ARGV: owner, number of writes, number of dropped, then the writes as (field,
// value without the update time) pairs, the dropped fields (let go only while still ours), then
// (field, value) pairs of stale fields (deleted only if unchanged).
const PUBLISH = `
local t = redis.call('TIME')
local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local me = ARGV[1]
local writes = tonumber(ARGV[2])
local dropped = tonumber(ARGV[3])
local i = 4
local last = i + writes * 2 - 1
while i <= last do
  local args = {}
  local stop = math.min(last, i + ${CHUNK * 2} - 1)
  for j = i, stop, 2 do
    args[#args + 1] = ARGV[j]
    args[#args + 1] = ARGV[j + 1] .. '|' .. now
  end
  redis.call('HSET', KEYS[1], unpack(args))
  i = stop + 1
end
local mine = me .. '|'
for j = i, i + dropped - 1 do
  local v = redis.call('HGET', KEYS[1], ARGV[j])
  if v and string.sub(v, 1, #mine) == mine then redis.call('HSET', KEYS[1], ARGV[j], string.sub(v, #me + 1)) end
end
i = i + dropped
for j = i, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[j]) == ARGV[j + 1] then redis.call('HDEL', KEYS[1], ARGV[j]) end
end
return 1
`;

type LoadsRedis = RedisClient & { shardflowPublishLoads(key: string, ...args: (string | number)[]): Promise<number> };

function withScript(redis: RedisClient): LoadsRedis {
  if (!('shardflowPublishLoads' in redis)) redis.defineCommand('shardflowPublishLoads', { numberOfKeys: 1, lua: PUBLISH });
  return redis as LoadsRedis;
}

function optionalNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function parseLeaseLoad(leaseKey: string, raw: string): LeaseLoadEntry {
  const [owner = '', rate, movedAt, updatedAt] = raw.split('|');
  return { leaseKey, owner, bytesPerSecond: optionalNumber(rate), movedAt: optionalNumber(movedAt), updatedAt: optionalNumber(updatedAt) ?? 0, raw };
}

/** A write's field value without its update time ("owner|bytes per second|moved at"), which the store appends. */
export function formatLeaseLoad(write: LeaseLoadWrite): string {
  return `${write.owner}|${write.bytesPerSecond === undefined ? '' : Math.round(write.bytesPerSecond)}|${write.movedAt ?? ''}`;
}

/** Where every worker publishes its leases' loads; the balancer's port (in Redis: `RedisLeaseLoads`). */
export interface LeaseLoadStore {
  /** Every published lease load, by shard id. */
  read(): Promise<Map<string, LeaseLoadEntry>>;
  /**
   * Writes `owner`'s leases (stamped with the store's time), lets go of the ones it no longer holds
   * (only where the field still names it: a new owner may have written already), and deletes stale
   * fields that did not change since they were read.
   */
  publish(owner: string, writes: readonly LeaseLoadWrite[], dropped: readonly string[], stale: readonly LeaseLoadEntry[]): Promise<void>;
}

/** The lease loads in one Redis hash: one HGETALL to read, one script call to publish. */
export class RedisLeaseLoads implements LeaseLoadStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AppKeys,
  ) {}

  async read(): Promise<Map<string, LeaseLoadEntry>> {
    const fields = await this.redis.hgetall(this.keys.leaseLoads);
    return new Map(Object.entries(fields).map(([leaseKey, raw]) => [leaseKey, parseLeaseLoad(leaseKey, raw)]));
  }

  async publish(owner: string, writes: readonly LeaseLoadWrite[], dropped: readonly string[], stale: readonly LeaseLoadEntry[]): Promise<void> {
    if (writes.length === 0 && dropped.length === 0 && stale.length === 0) return;
    const args: (string | number)[] = [owner, writes.length, dropped.length];
    for (const w of writes) args.push(w.leaseKey, formatLeaseLoad(w));
    args.push(...dropped);
    for (const s of stale) args.push(s.leaseKey, s.raw);
    await withScript(this.redis).shardflowPublishLoads(this.keys.leaseLoads, ...args);
  }
}
