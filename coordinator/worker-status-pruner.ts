/**
 * Deletes the status entries of workers that died. Each worker writes its status to one hash field
 * (`AppKeys.workerStatus`, field = worker id, which names the host and pid) every second and deletes it
 * when it stops gracefully; a worker that was killed or lost its host leaves its entry behind, and a fleet
 * that autoscales would collect one per worker ever started.
 *
 * The leading coordinator prunes, at most once a minute from its discovery loop: one process does it for
 * the whole fleet, with one HGETALL and one ZRANGEBYSCORE, where a pruning worker would have to read every
 * other worker's entry on its own tick (N workers reading N entries each).
 */
import type { RedisClient } from '../shared/redis/connection';
import type { AppKeys } from '../shared/redis/keys';
import { liveMembers } from '../shared/redis/heartbeats';

/**
 * How long an entry outlives its last update before it is pruned: 5 minutes. Far past every reader's own
 * idea of a live worker (the status line and the tests count a worker live for 2.5 to 5 s after its last
 * update), so nothing that still shows a worker loses it; long enough that an operator still finds a
 * crashed worker's last totals for a while; and it tolerates minutes of clock difference between the
 * worker's host (which stamps `updatedAt`) and the coordinator's. A worker that is merely slow is never
 * pruned whatever its age: one whose heartbeat in the live-workers set is fresh (Redis's clock, within the
 * lease timeout) keeps its entry, so a lease timeout above 5 minutes does not change the rule.
 */
export const WORKER_STATUS_MAX_AGE_MS = 5 * 60_000;

/** How often the leader looks: once a minute is plenty against a 5-minute age. */
export const WORKER_STATUS_PRUNE_INTERVAL_MS = 60_000;

/**
 * The worker ids whose entries are stale at `nowMs`: last updated more than `maxAgeMs` ago and not live.
 * An entry that is not a status (not JSON, no numeric `updatedAt`) cannot be told live either and goes too.
 * Pure.
 */
export function staleWorkerStatuses(entries: Readonly<Record<string, string>>, live: ReadonlySet<string>, nowMs: number, maxAgeMs = WORKER_STATUS_MAX_AGE_MS): string[] {
  return Object.entries(entries)
    .filter(([worker, json]) => !live.has(worker) && !(nowMs - updatedAt(json) <= maxAgeMs))
    .map(([worker]) => worker);
}

function updatedAt(json: string): number {
  try {
    const value = (JSON.parse(json) as { updatedAt?: unknown } | null)?.updatedAt;
    return typeof value === 'number' ? value : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Deletes the stale entries and returns their worker ids. Not atomic with the read: a worker that comes
 * back between the HGETALL and the HDEL (after more than 5 minutes away) loses its entry for one second,
 * until its next publish; that is not worth a script.
 */
export async function pruneWorkerStatuses(redis: RedisClient, keys: AppKeys, leaseTimeoutMs: number, nowMs: number): Promise<string[]> {
  const [entries, live] = await Promise.all([redis.hgetall(keys.workerStatus), liveMembers(redis, keys.liveWorkers, leaseTimeoutMs)]);
  const stale = staleWorkerStatuses(entries, new Set(live), nowMs);
  if (stale.length > 0) await redis.hdel(keys.workerStatus, ...stale);
  return stale;
}
