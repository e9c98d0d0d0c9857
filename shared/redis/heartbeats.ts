/**
 * Heartbeats in the live-workers and live-coordinators sorted sets, scored with Redis's clock (TIME),
 * never the host's: a host clock that is off by 30 s must not make processes disagree on who is alive.
 * Each beat is one script (one round trip) that stamps, prunes and returns what the caller decides on,
 * including the shutdown request and the application's state marker and tombstone. Redis 7 replicates
 * scripts by their effects, so TIME in a script that writes is allowed.
 */
import type { RedisClient } from './connection';
import type { AppKeys } from './keys';
import { recordStateLost, type AppStateObservation } from './app-state';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: live set, shutdown, state, state-lost. ARGV: member, how long a heartbeat stays fresh (ms).
// Returns {live members, shutdown requested 0/1, marker or false, tombstone or false, now ms}.
const BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
return {live, redis.call('EXISTS', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4]), now}
`;

// KEYS: live set. ARGV: freshness (ms). Members whose heartbeat is at most that old, by Redis's clock.
const LIVE = `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;

type HeartbeatRedis = RedisClient & {
  shardflowBeat(live: string, shutdown: string, state: string, stateLost: string, member: string, freshMs: number): Promise<[string[], number, string | null, string | null, number]>;
  shardflowLive(live: string, freshMs: number): Promise<string[]>;
};

function withScripts(redis: RedisClient): HeartbeatRedis {
  if (!('shardflowBeat' in redis)) {
    redis.defineCommand('shardflowBeat', { numberOfKeys: 4, lua: BEAT });
    redis.defineCommand('shardflowLive', { numberOfKeys: 1, lua: LIVE });
  }
  return redis as HeartbeatRedis;
}

export interface Heartbeat {
  /** Members of the set whose heartbeat is fresh (this one included). */
  live: string[];
  shutdownRequested: boolean;
  state: AppStateObservation;
  /** Redis's clock at the beat, ms since the epoch. */
  redisNowMs: number;
}

/** Stamps `member` in a live set with Redis's time, prunes entries older than `freshMs`, and reads the rest. */
export async function beat(redis: RedisClient, keys: AppKeys, liveSet: string, member: string, freshMs: number): Promise<Heartbeat> {
  const [live, shutdown, marker, tombstone, now] = await withScripts(redis).shardflowBeat(liveSet, keys.shutdown, keys.state, keys.stateLost, member, freshMs);
  return { live, shutdownRequested: shutdown === 1, state: { marker: marker ?? null, tombstone: tombstone ?? null }, redisNowMs: Number(now) };
}

/** Members of a live set whose heartbeat is at most `freshMs` old by Redis's clock (for readers such as `shutdown`). */
export function liveMembers(redis: RedisClient, liveSet: string, freshMs: number): Promise<string[]> {
  return withScripts(redis).shardflowLive(liveSet, freshMs);
}

/**
 * One live set as a process sees it: its heartbeat, its leaving, and the tombstone it writes when it finds
 * the application's state lost. The port a process's heartbeat logic is tested against.
 */
export interface LiveSet {
  /** Stamps `member` with Redis's time, prunes entries older than `freshMs`, and reads the rest (see `beat`). */
  beat(member: string, freshMs: number): Promise<Heartbeat>;
  /** Takes `member` out of the set (a graceful stop), so the others need not wait for it to go stale. */
  leave(member: string): Promise<void>;
  /** Writes the tombstone and takes `member` out of the set, best effort (see `recordStateLost`). */
  recordStateLost(member: string, reason: string): Promise<void>;
}

/** A live set in Redis (`keys.liveWorkers` or `keys.liveCoordinators`). */
export class RedisLiveSet implements LiveSet {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AppKeys,
    private readonly setKey: string,
  ) {}

  beat(member: string, freshMs: number): Promise<Heartbeat> {
    return beat(this.redis, this.keys, this.setKey, member, freshMs);
  }

  async leave(member: string): Promise<void> {
    await this.redis.zrem(this.setKey, member);
  }

  recordStateLost(member: string, reason: string): Promise<void> {
    return recordStateLost(this.redis, this.keys, member, reason, this.setKey);
  }
}
