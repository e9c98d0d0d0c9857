/**
 * Renews a worker's lease locks in one Redis call, with fewer Redis commands per lock than BullMQ's own
 * `extendLocks` script: a renewal then costs GET and PEXPIRE per lock and one SREM for all of them,
 * where BullMQ runs GET, SET and SREM per lock. At thousands of leases renewed every few seconds that
 * is a third of the cluster's steady Redis commands (issue #14: 3 commands per lease per second).
 *
 * Same contract as BullMQ's: a lock is extended only while it holds the worker's token (fencing, as
 * the checkpoint writes are), renewed jobs leave the stalled set (the stalled check then has nothing to
 * look up for them), and the ids whose lock was gone or another's are returned. The keys are BullMQ's
 * layout as `AppKeys` states it (pinned by test/integration/bullmq-layout.test.ts).
 */
import type { RedisClient } from '../../shared/redis/connection';
import { LEASE_LOCK_SUFFIX, type AppKeys } from '../../shared/redis/keys';

// KEYS: stalled set. ARGV: the lease jobs' key prefix, duration ms, then job id, token pairs.
const EXTEND = `
local failed = {}
local renewed = {}
for i = 3, #ARGV, 2 do
  local lockKey = ARGV[1] .. ARGV[i] .. '${LEASE_LOCK_SUFFIX}'
  if redis.call('GET', lockKey) == ARGV[i + 1] then
    redis.call('PEXPIRE', lockKey, ARGV[2])
    renewed[#renewed + 1] = ARGV[i]
  else
    failed[#failed + 1] = ARGV[i]
  end
end
-- unpack() is bounded by Lua's stack: a few thousand members a call.
for from = 1, #renewed, 5000 do
  redis.call('SREM', KEYS[1], unpack(renewed, from, math.min(from + 4999, #renewed)))
end
return failed
`;

type RenewingRedis = RedisClient & {
  shardflowExtendLocks(stalled: string, jobPrefix: string, duration: number, ...idsAndTokens: string[]): Promise<string[]>;
};

export class LockRenewal {
  private readonly redis: RenewingRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: AppKeys,
  ) {
    if (!('shardflowExtendLocks' in redis)) redis.defineCommand('shardflowExtendLocks', { numberOfKeys: 1, lua: EXTEND });
    this.redis = redis as RenewingRedis;
  }

  /** Extends each lease job's lock to `durationMs` from now if it still holds its token; returns the ids that were not extended. */
  async extend(jobIds: readonly string[], tokens: readonly string[], durationMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const pairs = jobIds.flatMap((id, i) => [id, tokens[i] ?? '']);
    return this.redis.shardflowExtendLocks(this.keys.leaseStalled, this.keys.leaseJobPrefix, durationMs, ...pairs);
  }
}
