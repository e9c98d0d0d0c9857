/**
 * One input stream's checkpoints in Redis, fenced by the lease: a write only happens while the BullMQ lock of the
 * shard's lease job (`StreamKeys.leaseLock`: BullMQ's layout, pinned by test/integration/bullmq-layout.test.ts)
 * still holds the writer's token, checked atomically in a Lua script, so a worker
 * that lost its lease (frozen, partitioned, too slow) can never overwrite the new owner's progress.
 * A checkpoint never moves backwards, and a finished shard (SHARD_END) stays finished.
 *
 * A checkpoint is a position (`shared/position.ts`): `"<seq>"` (the whole Kinesis record is done, the
 * only form older versions wrote) or `"<seq>:<sub>"` (user records 0..sub of a KPL aggregate are done).
 * The script orders positions as `comparePositionStrings` does: by sequence number (length, then
 * text), then by sub-sequence number, a whole record after all of its sub-sequence numbers.
 */
import type { RedisClient } from '../redis/connection';
import type { StreamKeys } from '../redis/keys';

export const SHARD_END = 'SHARD_END';

export type FencedWriteResult = 'written' | 'lease-lost' | 'stale' | 'finished';

// Orders positions as comparePositionStrings does (-1, 0 or 1).
const COMPARE = `
local function split(p)
  local at = string.find(p, ':', 1, true)
  if at then return string.sub(p, 1, at - 1), tonumber(string.sub(p, at + 1)) end
  return p, nil
end
-- -1, 0 or 1; a whole record (no sub-sequence number) after every sub-sequence number of it
local function compare(a, b)
  local sa, ua = split(a)
  local sb, ub = split(b)
  if #sa ~= #sb then return #sa < #sb and -1 or 1 end
  if sa ~= sb then return sa < sb and -1 or 1 end
  if ua == ub then return 0 end
  if ua == nil then return 1 end
  if ub == nil then return -1 end
  return ua < ub and -1 or 1
end
`;

// KEYS: lock, checkpoints. ARGV: token, shardId, position.
const SAVE = `${COMPARE}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lease-lost' end
local current = redis.call('HGET', KEYS[2], ARGV[2])
if current == 'SHARD_END' then return 'finished' end
if current and compare(ARGV[3], current) <= 0 then return 'stale' end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 'written'
`;

// KEYS: submitted. ARGV: shardId, position. Only ever forward: an owner that re-reads from an older
// checkpoint (after an outage) must not lower the mark the next owner counts duplicates up to.
const MARK = `${COMPARE}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and compare(ARGV[2], current) <= 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

// KEYS: lock, checkpoints, shard-ends. ARGV: token, shardId, childShardIds JSON.
const FINISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lease-lost' end
redis.call('HSET', KEYS[2], ARGV[2], 'SHARD_END')
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 'written'
`;

type FencedRedis = RedisClient & {
  shardflowSaveCheckpoint(lock: string, checkpoints: string, token: string, shardId: string, sequence: string): Promise<FencedWriteResult>;
  shardflowFinishShard(lock: string, checkpoints: string, ends: string, token: string, shardId: string, children: string): Promise<FencedWriteResult>;
  shardflowMarkSubmitted(submitted: string, shardId: string, position: string): Promise<number>;
};

export class CheckpointStore {
  private readonly redis: FencedRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: StreamKeys,
  ) {
    if (!('shardflowSaveCheckpoint' in redis)) {
      redis.defineCommand('shardflowSaveCheckpoint', { numberOfKeys: 2, lua: SAVE });
      redis.defineCommand('shardflowFinishShard', { numberOfKeys: 3, lua: FINISH });
      redis.defineCommand('shardflowMarkSubmitted', { numberOfKeys: 1, lua: MARK });
    }
    this.redis = redis as FencedRedis;
  }

  /** The shard's checkpoint: a position (`"<seq>"` or `"<seq>:<sub>"`), SHARD_END, or undefined when it has none. */
  async get(shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.checkpoints, shardId)) ?? undefined;
  }

  async getAll(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.checkpoints)));
  }

  /** The shards finished for good (SHARD_END). */
  async finishedShards(): Promise<Set<string>> {
    const all = await this.getAll();
    return new Set([...all].filter(([, value]) => value === SHARD_END).map(([shardId]) => shardId));
  }

  /**
   * Marks a shard finished that was never leased (a shard closed before the first discovery with
   * LATEST holds nothing to read). Unfenced: no lease exists; never overwrites a checkpoint.
   */
  async skip(shardId: string): Promise<void> {
    await this.redis.hsetnx(this.keys.checkpoints, shardId, SHARD_END);
  }

  /** Moves the checkpoint forward to `position` if `token` still holds the shard's lease. */
  save(shardId: string, token: string, position: string): Promise<FencedWriteResult> {
    return this.redis.shardflowSaveCheckpoint(this.keys.leaseLock(shardId), this.keys.checkpoints, token, shardId, position);
  }

  /**
   * Records (unfenced, best effort, never backwards) the highest position handed to the sink for a shard, so a worker
   * that takes the shard over after a crash can count the records it may write a second time.
   */
  markSubmitted(shardId: string, position: string): void {
    void this.redis.shardflowMarkSubmitted(this.keys.submitted, shardId, position).catch(() => undefined);
  }

  async submitted(shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.submitted, shardId)) ?? undefined;
  }

  /** Marks the shard finished for good and records its children, if `token` still holds the lease. */
  finish(shardId: string, token: string, childShardIds: readonly string[]): Promise<FencedWriteResult> {
    return this.redis.shardflowFinishShard(this.keys.leaseLock(shardId), this.keys.checkpoints, this.keys.shardEnds, token, shardId, JSON.stringify(childShardIds));
  }
}
