/**
 * Checkpoints in Redis, fenced by the lease: a write only happens while the BullMQ lock of the
 * shard's lease job still holds the writer's token, checked atomically in a Lua script, so a worker
 * that lost its lease (frozen, partitioned, too slow) can never overwrite the new owner's progress.
 * A checkpoint never moves backwards, and a finished shard (SHARD_END) stays finished.
 */
import type { Redis } from 'ioredis';
import type { AppKeys } from '../../shared/redis/keys';

export const SHARD_END = 'SHARD_END';

export type FencedWriteResult = 'written' | 'lease-lost' | 'stale' | 'finished';

// KEYS: lock, checkpoints. ARGV: token, shardId, sequence.
const SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lease-lost' end
local current = redis.call('HGET', KEYS[2], ARGV[2])
if current == 'SHARD_END' then return 'finished' end
if current then
  local a, b = ARGV[3], current
  if #a < #b or (#a == #b and a <= b) then return 'stale' end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 'written'
`;

// KEYS: lock, checkpoints, shard-ends. ARGV: token, shardId, childShardIds JSON.
const FINISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lease-lost' end
redis.call('HSET', KEYS[2], ARGV[2], 'SHARD_END')
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 'written'
`;

type FencedRedis = Redis & {
  shardflowSaveCheckpoint(lock: string, checkpoints: string, token: string, shardId: string, sequence: string): Promise<FencedWriteResult>;
  shardflowFinishShard(lock: string, checkpoints: string, ends: string, token: string, shardId: string, children: string): Promise<FencedWriteResult>;
};

export class CheckpointStore {
  private readonly redis: FencedRedis;

  constructor(
    redis: Redis,
    private readonly keys: AppKeys,
  ) {
    if (!('shardflowSaveCheckpoint' in redis)) {
      redis.defineCommand('shardflowSaveCheckpoint', { numberOfKeys: 2, lua: SAVE });
      redis.defineCommand('shardflowFinishShard', { numberOfKeys: 3, lua: FINISH });
    }
    this.redis = redis as FencedRedis;
  }

  /** The shard's checkpoint: a sequence number, SHARD_END, or undefined when it has none. */
  async get(shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.checkpoints, shardId)) ?? undefined;
  }

  async getAll(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.checkpoints)));
  }

  /** Moves the checkpoint forward to `sequenceNumber` if `token` still holds the shard's lease. */
  save(shardId: string, token: string, sequenceNumber: string): Promise<FencedWriteResult> {
    return this.redis.shardflowSaveCheckpoint(this.keys.leaseLock(shardId), this.keys.checkpoints, token, shardId, sequenceNumber);
  }

  /**
   * Records (unfenced, best effort) the highest sequence number handed to the sink for a shard, so a
   * worker that takes the shard over after a crash can count the records it may write a second time.
   */
  markSubmitted(shardId: string, sequenceNumber: string): void {
    void this.redis.hset(this.keys.submitted, shardId, sequenceNumber).catch(() => undefined);
  }

  async submitted(shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.submitted, shardId)) ?? undefined;
  }

  /** Marks the shard finished for good and records its children, if `token` still holds the lease. */
  finish(shardId: string, token: string, childShardIds: readonly string[]): Promise<FencedWriteResult> {
    return this.redis.shardflowFinishShard(this.keys.leaseLock(shardId), this.keys.checkpoints, this.keys.shardEnds, token, shardId, JSON.stringify(childShardIds));
  }
}
