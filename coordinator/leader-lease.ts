/**
 * Coordinator leadership: a Redis key holding the leader's id with a TTL. The leader renews it every
 * second; a standby takes it once it expires (the leader died or lost Redis), so another coordinator
 * leads within the lease timeout. Acquire and renew are one atomic script each.
 */
import type { Redis } from 'ioredis';

// KEYS: leader key. ARGV: id, ttl ms. 1 = this id leads (acquired or renewed), 0 = another leads.
const STEP = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaderRedis = Redis & {
  shardflowLeaderStep(key: string, id: string, ttlMs: number): Promise<number>;
  shardflowLeaderResign(key: string, id: string): Promise<number>;
};

export class LeaderLease {
  private readonly redis: LeaderRedis;

  constructor(
    redis: Redis,
    private readonly key: string,
    readonly id: string,
    private readonly ttlMs: number,
  ) {
    if (!('shardflowLeaderStep' in redis)) {
      redis.defineCommand('shardflowLeaderStep', { numberOfKeys: 1, lua: STEP });
      redis.defineCommand('shardflowLeaderResign', { numberOfKeys: 1, lua: RESIGN });
    }
    this.redis = redis as LeaderRedis;
  }

  /** Acquires or renews the lease; true when this process leads. */
  async step(): Promise<boolean> {
    return (await this.redis.shardflowLeaderStep(this.key, this.id, this.ttlMs)) === 1;
  }

  /** Gives leadership up at once (a graceful stop), so a standby need not wait for the TTL. */
  async resign(): Promise<void> {
    await this.redis.shardflowLeaderResign(this.key, this.id);
  }

  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
