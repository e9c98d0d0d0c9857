import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../../shared/redis/redis-url';
import { AppKeys } from '../../shared/redis/keys';
import { resolveContext } from '../../cli/context';
import { ConfigError } from '../../shared/config/config-error';

test('plain URLs pass through to ioredis unchanged', () => {
  expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
  expect(parseRedisUrl('rediss://:pw@host:6380/2')).toEqual({ kind: 'standalone', url: 'rediss://:pw@host:6380/2' });
});

test('a Sentinel URL lists the Sentinels, names the primary and may give a db and passwords', () => {
  expect(parseRedisUrl('redis+sentinel://:s3cret@s1:26380,s2,[::1]:26381/mymaster/3?sentinelPassword=x%20y')).toEqual({
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26380 },
      { host: 's2', port: 26379 },
      { host: '::1', port: 26381 },
    ],
    primaryName: 'mymaster',
    db: 3,
    password: 's3cret',
    sentinelPassword: 'x y',
    tls: false,
  });
  expect(parseRedisUrl('rediss+sentinel://u:p@s1/m')).toMatchObject({ kind: 'sentinel', username: 'u', password: 'p', db: 0, tls: true });
});

test('a Cluster URL lists seed nodes', () => {
  expect(parseRedisUrl('redis+cluster://n1:7000,n2')).toEqual({
    kind: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 6379 },
    ],
    tls: false,
  });
  expect(parseRedisUrl('rediss+cluster://:pw@n1:7000')).toMatchObject({ kind: 'cluster', password: 'pw', tls: true });
});

test.each([
  ['http://h:1', 'not a redis://'],
  ['redis+sentinel://s1:26379', 'no primary name'],
  ['redis+sentinel://s1:26379/m/x', 'database number'],
  ['redis+sentinel:///m', 'no host'],
  ['redis+sentinel://s1:99999/m', 'is not a host[:port]'],
  ['redis+sentinel://s1/m?password=x', 'unknown query parameter'],
  ['redis+cluster://n1:7000/1', 'only database 0'],
  ['redis+cluster://n1:7000,', 'is not a host[:port]'],
])('%s is refused: %s', (url, message) => {
  expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
  expect(() => parseRedisUrl(url)).toThrow(message);
});

test('passwords never reach a message', () => {
  expect(redactRedisUrl('redis+sentinel://u:p:q@s1,s2/m?sentinelPassword=abc')).toBe('redis+sentinel://u:***@s1,s2/m?sentinelPassword=***');
  expect(redactRedisUrl('redis://:pw@h:6379/0')).toBe('redis://:***@h:6379/0');
  expect(redactRedisUrl('redis://h:6379')).toBe('redis://h:6379');
  let error: unknown;
  try {
    resolveContext({ redis: 'redis+sentinel://:hunter2@s1:26379' }, {});
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toContain('--redis (or REDIS_URL)');
  expect((error as Error).message).toContain('no primary name');
  expect((error as Error).message).toContain('redis+cluster://');
  expect((error as Error).message).not.toContain('hunter2');
});

test('keys carry a hash tag on a cluster only, so standalone and Sentinel deployments keep their names', () => {
  expect(new AppKeys('orders').checkpoints).toBe('shardflow:orders:checkpoints');
  expect(new AppKeys('orders', { cluster: true }).checkpoints).toBe('shardflow:{orders}:checkpoints');
  expect(new AppKeys('orders', { cluster: true }).leaseLock('shardId-1')).toBe('shardflow:{orders}:leases:shardId-1:lock');
  expect(resolveContext({ redis: 'redis+sentinel://s1/m', app: 'orders' }, {}).keys.prefix).toBe('shardflow:orders');
  expect(resolveContext({ redis: 'redis+cluster://n1:7000', app: 'orders' }, {}).keys.bullPrefix).toBe('shardflow:{orders}');
});
