/**
 * Coordinator leadership: a Redis key holding the leader's id with a TTL. The leader renews it every
 * second; a standby takes it once it expires (the leader died or lost Redis), so another coordinator
 * leads within the lease timeout. Acquire and renew are one atomic script each.
 *
 * A leader cut off from Redis must stop leading before Redis can expire its key and a standby take
 * over. So the lease remembers when its last successful step *started* (on a monotonic clock) and
 * {@link LeaderLease.leads} is true only until that moment plus the TTL minus a safety margin: a step
 * that never answers cannot keep leadership alive.
 */
import type { RedisClient } from '../shared/redis/connection';
import type { Clock } from '../shared/clock';

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

/** The few calls the lease makes on the store that holds the leader key. */
export interface LeaderLeaseStore {
  /** Acquires or renews the key for `id` with a TTL; true when `id` holds it now. */
  step(id: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key if `id` holds it. */
  resign(id: string): Promise<void>;
  holder(): Promise<string | null>;
}

type LeaderRedis = RedisClient & {
  shardflowLeaderStep(key: string, id: string, ttlMs: number): Promise<number>;
  shardflowLeaderResign(key: string, id: string): Promise<number>;
};

export class RedisLeaderLeaseStore implements LeaderLeaseStore {
  private readonly redis: LeaderRedis;

  constructor(
    redis: RedisClient,
    private readonly key: string,
  ) {
    if (!('shardflowLeaderStep' in redis)) {
      redis.defineCommand('shardflowLeaderStep', { numberOfKeys: 1, lua: STEP });
      redis.defineCommand('shardflowLeaderResign', { numberOfKeys: 1, lua: RESIGN });
    }
    this.redis = redis as LeaderRedis;
  }

  async step(id: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.shardflowLeaderStep(this.key, id, ttlMs)) === 1;
  }

  async resign(id: string): Promise<void> {
    await this.redis.shardflowLeaderResign(this.key, id);
  }

  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}

/** How long before the key's TTL runs out a leader that has not renewed stops leading. */
export function leaderMarginMs(ttlMs: number): number {
  return Math.max(500, Math.floor(ttlMs / 5));
}

export class LeaderLease {
  /** Clock reading when the last step that renewed or acquired the key started; undefined while not leading. */
  private renewedAt: number | undefined;
  readonly marginMs: number;

  /** @param clock a monotonic clock in ms (never the wall clock: it may jump). */
  constructor(
    private readonly store: LeaderLeaseStore,
    readonly id: string,
    readonly ttlMs: number,
    private readonly clock: Clock,
  ) {
    this.marginMs = leaderMarginMs(ttlMs);
  }

  /** How long after a successful step's start this process may still lead without another. */
  get validForMs(): number {
    return this.ttlMs - this.marginMs;
  }

  /**
   * Acquires or renews the lease; true when this process leads (see {@link leads}: an answer that came
   * too late does not count). A step that fails or never answers leaves the deadline where it was.
   */
  async step(): Promise<boolean> {
    const started = this.clock();
    const held = await this.store.step(this.id, this.ttlMs);
    if (held) this.renewedAt = Math.max(started, this.renewedAt ?? started);
    else this.renewedAt = undefined;
    return this.leads();
  }

  /** True while `now` is before the last successful step's start plus the TTL minus the margin. */
  leads(now = this.clock()): boolean {
    return this.renewedAt !== undefined && now < this.renewedAt + this.validForMs;
  }

  /** Gives leadership up at once (a graceful stop), so a standby need not wait for the TTL. */
  async resign(): Promise<void> {
    this.renewedAt = undefined;
    await this.store.resign(this.id);
  }

  holder(): Promise<string | null> {
    return this.store.holder();
  }
}
