import { createRedis, redisProblem } from '../shared/redis/connection';
import { safeRedisUrl } from '../shared/logging';
import { FatalError } from './lifecycle';
import type { RedisClient } from '../shared/redis/connection';

/** Connects to Redis, or fails with a message that says what is missing and how to get it. */
export async function connectRedis(url: string): Promise<RedisClient> {
  const problem = await redisProblem(url, 3000);
  if (problem !== undefined) {
    throw new FatalError(
      `cannot reach Redis at ${safeRedisUrl(url)} (${problem}): start one (for example \`redis-server --port 6379\`, or \`docker compose up redis\`) or point --redis / REDIS_URL at yours`,
    );
  }
  const redis = createRedis(url);
  redis.on('error', () => undefined); // reconnects on its own; commands wait meanwhile
  return redis;
}
