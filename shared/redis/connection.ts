import { Cluster, Redis, ReplyError, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from './redis-url';

/**
 * A connection to the application's Redis: one server (plain or behind Sentinel, both a `Redis`) or a
 * Redis Cluster. BullMQ takes either; our own scripts and MULTIs work on both because every key of an
 * application shares one hash slot in cluster mode (see `AppKeys`).
 */
export type RedisClient = Redis | Cluster;

/**
 * A connection for BullMQ and our own keys, to the Redis a URL names (`redis-url.ts` lists the forms).
 * `maxRetriesPerRequest: null` is what BullMQ workers require; commands then wait through a Redis blip
 * (or a Sentinel failover) instead of failing.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  return connect(parseRedisUrl(url), { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

/**
 * Whether an error came from Redis rather than from the code that called it: a reply error (CROSSSLOT on
 * a cluster, READONLY on a demoted primary, OOM, NOSCRIPT...) or ioredis giving up on a connection, so a
 * start-up failure can name Redis instead of the Kinesis call that ran beside it.
 */
export function isRedisError(err: unknown): boolean {
  if (err instanceof ReplyError) return true;
  const e = err as { name?: unknown; message?: unknown } | null;
  return e?.name === 'MaxRetriesPerRequestError' || (typeof e?.message === 'string' && /^(Connection is closed|Stream isn't writeable)/.test(e.message));
}

/** A second connection with the same settings (BullMQ's blocking reads and QueueEvents need their own). */
export function duplicateRedis(redis: RedisClient): RedisClient {
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
}

/**
 * Why no Redis answers PING at the URL within the timeout (refused, a certificate that does not verify, a
 * wrong password, no such Sentinel primary...), or undefined when one does. `options`: TLS settings, say.
 */
export async function redisProblem(url: string, timeoutMs = 1500, options: RedisOptions = {}): Promise<string | undefined> {
  const target = parseRedisUrl(url);
  const redis = connect(target, {
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  // connectTimeout bounds each socket; a cluster refreshing its slots or a Sentinel round over several
  // hosts can take more than one, so the whole probe has a bound of its own.
  const timer = setTimeout(() => redis.disconnect(), timeoutMs * 2);
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `PING answered ${pong}`;
  } catch (err) {
    return (lastError ?? (err as Error)).message;
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** True when a Redis answers PING at the URL within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 1500, options: RedisOptions = {}): Promise<boolean> {
  return (await redisProblem(url, timeoutMs, options)) === undefined;
}

/**
 * Deletes every key under a prefix (SCAN, never KEYS), for resetting one application's state. A cluster
 * has no global SCAN: each primary is scanned for the keys it holds.
 */
export async function deleteKeysUnder(redis: RedisClient, prefix: string): Promise<number> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      // One DEL per key on a cluster: a DEL of several keys must stay within one slot.
      if (keys.length > 0) deleted += redis instanceof Cluster ? (await Promise.all(keys.map((key) => node.del(key)))).reduce((a, b) => a + b, 0) : await node.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return deleted;
}

// A cluster prefix carries a hash tag, `{app}`, and braces are not glob characters, but `[` in a MATCH
// pattern is: escape what SCAN would read as a pattern.
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function connect(target: RedisTarget, options: RedisOptions): RedisClient {
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.primaryName,
        role: 'master',
        db: target.db,
        ...(target.username === undefined ? {} : { username: target.username }),
        ...(target.password === undefined ? {} : { password: target.password }),
        ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
        ...(target.tls ? { tls: options.tls ?? {}, enableTLSForSentinelMode: true, sentinelTLS: options.tls ?? {} } : {}),
        // A Sentinel says where the primary is; ioredis asks again after each reconnect. The failover
        // detector makes it reconnect as soon as a Sentinel announces a new primary, and a READONLY
        // answer (we reached a primary that has just become a replica) makes it reconnect too.
        failoverDetector: true,
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
        ...(options.retryStrategy === undefined || options.retryStrategy === null ? {} : { sentinelRetryStrategy: options.retryStrategy }),
      });
    case 'cluster': {
      const { retryStrategy, enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
      const clusterOptions: ClusterOptions = {
        redisOptions: {
          ...nodeOptions,
          ...(target.username === undefined ? {} : { username: target.username }),
          ...(target.password === undefined ? {} : { password: target.password }),
          ...(target.tls ? { tls: options.tls ?? {} } : {}),
        },
        ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
        ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
        ...(lazyConnect === undefined ? {} : { lazyConnect }),
      };
      return new Cluster(target.nodes, clusterOptions);
    }
  }
}
