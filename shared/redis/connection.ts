import { Redis, type RedisOptions } from 'ioredis';

/**
 * A connection for BullMQ and our own keys. `maxRetriesPerRequest: null` is what BullMQ workers
 * require; commands then wait through a Redis blip instead of failing.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

/**
 * Why no Redis answers PING at the URL within the timeout (refused, a certificate that does not verify, a
 * wrong password...), or undefined when one does. `options`: TLS settings, say.
 */
export async function redisProblem(url: string, timeoutMs = 1500, options: RedisOptions = {}): Promise<string | undefined> {
  const redis = new Redis(url, { ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `PING answered ${pong}`;
  } catch (err) {
    return (lastError ?? (err as Error)).message;
  } finally {
    redis.disconnect();
  }
}

/** True when a Redis answers PING at the URL within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 1500, options: RedisOptions = {}): Promise<boolean> {
  return (await redisProblem(url, timeoutMs, options)) === undefined;
}

/** Deletes every key under a prefix (SCAN, never KEYS), for resetting one application's state. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
