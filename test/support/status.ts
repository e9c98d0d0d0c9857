/** What the workers publish about themselves in Redis, as the tests and the benchmarks read it (no jest here). */
import type { RedisClient } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import type { WorkerStatus } from '../../worker/status-reporter';

/**
 * Leases per live worker, from the workers' own status in Redis (refreshed every second): a worker that
 * has not published for 2.5 s (killed, frozen) drops out, though its last status stays in the hash.
 */
export async function statusLeases(redis: RedisClient, app: string): Promise<Map<string, string[]>> {
  const now = Date.now();
  const statuses = Object.values(await redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
  return new Map(statuses.filter((s) => now - s.updatedAt < 2500).map((s) => [s.worker, s.leases.map((l) => l.shardId)]));
}
