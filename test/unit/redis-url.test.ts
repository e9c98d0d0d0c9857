import { Writable } from 'node:stream';
import pino from 'pino';
// ioredis's own URL reader: what it takes as a password is what the redaction must hide.
import { parseURL } from 'ioredis/built/utils';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../../shared/redis/redis-url';
import { REDACT_PATHS, safeRedisUrl } from '../../shared/logging';
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
  const stream = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
  expect(new AppKeys('orders').stream(stream).checkpoints).toBe('shardflow:orders:stream:in@123456789012.us-east-1:checkpoints');
  expect(new AppKeys('orders', { cluster: true }).stream(stream).checkpoints).toBe('shardflow:{orders}:stream:in@123456789012.us-east-1:checkpoints');
  expect(new AppKeys('orders', { cluster: true }).stream(stream).leaseLock('shardId-1')).toBe('shardflow:{orders}:leases:in@123456789012.us-east-1|shardId-1:lock');
  expect(new AppKeys('orders', { cluster: true }).legacy.checkpoints).toBe('shardflow:{orders}:checkpoints');
  expect(resolveContext({ redis: 'redis+sentinel://s1/m', app: 'orders' }, {}).keys.prefix).toBe('shardflow:orders');
  expect(resolveContext({ redis: 'redis+cluster://n1:7000', app: 'orders' }, {}).keys.bullPrefix).toBe('shardflow:{orders}');
});

describe('redactRedisUrl', () => {
  test.each([
    // Plain URLs: the user info's password, the user name stays.
    ['redis://:pw@h:6379/0', 'redis://:***@h:6379/0'],
    ['rediss://app:pw@h:6380', 'rediss://app:***@h:6380'],
    ['redis://h:6379', 'redis://h:6379'],
    ['redis://app:@h', 'redis://app:***@h'],
    // A lone token may be a password (redis://secret@host): hidden whole.
    ['redis://secret@h', 'redis://***@h'],
    // Reserved characters, percent-encoded or not: ioredis reads the encoded one, the raw one is still hidden.
    ['redis://:p%40ss%2Fw0rd%3Ax@h:6379', 'redis://:***@h:6379'],
    ['redis://:p@ss/w0rd:x@h:6379', 'redis://:***@h:6379'],
    ['redis://:pa#ss@h:6379', 'redis://:***@h:6379'],
    ['redis://app:p:q@h', 'redis://app:***@h'],
    // Sentinel and Cluster: the parser takes the last "@" before the query, and so does the redaction.
    ['redis+sentinel://:p@ss/w0rd:x@s1:26379,s2/mymaster/1?sentinelPassword=s@nt/x', 'redis+sentinel://:***@s1:26379,s2/mymaster/1?sentinelPassword=***'],
    ['rediss+sentinel://u:p%40ss@s1/m', 'rediss+sentinel://u:***@s1/m'],
    ['rediss+cluster://admin:p@ss/w0rd:x@n1:7000,n2', 'rediss+cluster://admin:***@n1:7000,n2'],
    ['redis+cluster://n1:7000,n2', 'redis+cluster://n1:7000,n2'],
    // Query passwords, which ioredis reads as options; any case, any encoding of the name.
    ['redis://h:6379/0?password=p@ss/w0rd:x', 'redis://h:6379/0?password=***'],
    ['redis://h?db=1&password=a&b&family=4', 'redis://h?db=1&password=***&family=4'],
    ['redis://h?PASSWORD=x&SentinelPassword=y&family=4', 'redis://h?PASSWORD=***&SentinelPassword=***&family=4'],
    ['redis://h?pass%77ord=x', 'redis://h?pass%77ord=***'],
    ['redis://:pw@h?password=q', 'redis://:***@h?password=***'],
    ['redis://h?sentinelPassword=a@b', 'redis://h?sentinelPassword=***'],
    // Scheme case.
    ['REDIS+SENTINEL://:pw@s/m', 'REDIS+SENTINEL://:***@s/m'],
    ['Rediss://:pw@h', 'Rediss://:***@h'],
    // In doubt (an "@" after the "?", outside a password value: a password with a raw "?"), everything up to it.
    ['redis://:pa?ss@h:6379', 'redis://***@h:6379'],
    ['redis+cluster://:pa?ss@n1:7000', 'redis+cluster://***@n1:7000'],
    // Not URLs at all: still nothing before the last "@", no password parameter.
    [':secret@h', ':***@h'],
    ['secret@h:6379', '***@h:6379'],
    ['http://u:pw@h', 'http://u:***@h'],
    ['/tmp/redis.sock?password=x', '/tmp/redis.sock?password=***'],
    ['not a url', 'not a url'],
    ['', ''],
  ])('%s -> %s', (url, redacted) => {
    expect(redactRedisUrl(url)).toBe(redacted);
    expect(safeRedisUrl(url)).toBe(redacted);
  });

  // Letters that occur nowhere else in the URLs below, so any piece of a password that leaks is seen.
  const PASSWORDS = ['Kq@Zv/Wy:Jm', 'Kq?Zv', 'Kq#Zv', 'Kq&Zv', 'Kq%Zv', 'Kq%40Zv', 'Kq Zv', 'Kq+Zv', 'Kq:Zv@Wy', 'Kq=Zv'];
  const FORMS: Array<[string, (pw: string) => string, string]> = [
    ['plain, user info', (pw) => `redis://:${pw}@h1:6379/0`, 'h1:6379/0'],
    ['plain, user and password', (pw) => `rediss://app:${pw}@h1:6379`, 'h1:6379'],
    ['plain, ?password=', (pw) => `redis://h1:6379/0?password=${pw}`, 'h1:6379/0'],
    ['plain, ?password= between options', (pw) => `redis://h1:6379?db=0&password=${pw}&family=4`, 'family=4'],
    ['Sentinel', (pw) => `redis+sentinel://:${pw}@s1:26379,s2/mymaster/1?sentinelPassword=${pw}`, 's1:26379,s2/mymaster/1'],
    ['Cluster', (pw) => `rediss+cluster://app:${pw}@n1:7000,n2`, 'n1:7000,n2'],
  ];
  const cases = FORMS.flatMap(([form, make, visible]) =>
    PASSWORDS.flatMap((pw) => [
      [`${form}, raw ${JSON.stringify(pw)}`, make(pw), pw, visible] as const,
      [`${form}, encoded ${JSON.stringify(pw)}`, make(encodeURIComponent(pw)), pw, visible] as const,
    ]),
  );

  /** Every password ioredis (plain URLs) or our parser (Sentinel, Cluster) would take from the URL. */
  function passwordsTaken(url: string): string[] {
    if (/^rediss?:/i.test(url)) {
      let options: Record<string, unknown>;
      try {
        options = parseURL(url);
      } catch {
        return [];
      }
      return [options.password, options.sentinelPassword].filter((p): p is string => typeof p === 'string' && p !== '');
    }
    try {
      const target = parseRedisUrl(url);
      return target.kind === 'standalone' ? [] : [target.password, target.kind === 'sentinel' ? target.sentinelPassword : undefined].filter((p): p is string => p !== undefined && p !== '');
    } catch {
      return [];
    }
  }

  test.each(cases)('%s: no piece of the password, nor what ioredis or our parser takes for one, is shown', (_name, url, pw, visible) => {
    const redacted = redactRedisUrl(url);
    for (const piece of pw.split(/[^A-Za-z]+/).filter((p) => p.length > 0)) expect(redacted).not.toContain(piece);
    for (const taken of passwordsTaken(url)) expect(redacted).not.toContain(taken);
    // Still useful: where Redis is stays visible.
    expect(redacted).toContain(visible);
    // A URL refused by the parser says why without quoting any of it either.
    let message = '';
    try {
      parseRedisUrl(url);
    } catch (err) {
      expect(err).toBeInstanceOf(RedisUrlError);
      message = (err as Error).message;
    }
    for (const piece of pw.split(/[^A-Za-z]+/).filter((p) => p.length > 0)) expect(message).not.toContain(piece);
  });

  test('a Sentinel or Cluster password may hold "/", "@" and ":" unencoded; the parser and the redaction read it the same way', () => {
    const sentinel = parseRedisUrl('redis+sentinel://:p@ss/w0rd:x@s1,s2/m?sentinelPassword=s@nt/x');
    expect(sentinel).toMatchObject({ kind: 'sentinel', password: 'p@ss/w0rd:x', sentinelPassword: 's@nt/x', sentinels: [{ host: 's1' }, { host: 's2' }] });
    expect(parseRedisUrl('redis+cluster://admin:p@ss/w0rd:x@n1:7000')).toMatchObject({ kind: 'cluster', username: 'admin', password: 'p@ss/w0rd:x', nodes: [{ host: 'n1', port: 7000 }] });
  });
});

describe('URLs ioredis would misread are refused, without quoting the password', () => {
  test.each([
    // ioredis would connect to host "ss" with password "p", and name "ss" in "getaddrinfo ENOTFOUND ss".
    ['redis://:Kq@Zv/Wy:Jm@h1:6379', 'an "@" after the host'],
    ['redis://Kq#Zv@h1:6379', 'an "@" after the host'],
    // WHATWG URL refuses these; Node's error would carry the whole URL in its `input` property.
    ['redis://:Kq?Zv@h1:6379', 'cannot tell where a password in it ends'],
    ['redis://app:Kq#Zv@h1:6379', 'not a valid URL'],
    ['redis://:Kq%Zv@h1:6379', 'percent-encoding'],
    ['redis+sentinel://:Kq%Zv@s1/m', 'percent-encoding'],
    ['redis+sentinel://s1/m?sentinelPassword=Kq&Zv', 'cannot tell where a password in it ends'],
    ['redis+cluster://:Kq?Zv@n1:7000', 'cannot tell where a password in it ends'],
    ['redis+cluster://:Kq@Zv@n1:7000/Wy', 'a cluster URL has no path (got "/Wy")'],
  ])('%s: %s', (url, message) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RedisUrlError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toMatch(/Kq|Zv|Jm/);
  });

  test('the same URL through --redis: exit 2 with the redacted URL, no part of the password', () => {
    let error: unknown;
    try {
      resolveContext({ redis: 'redis://:Kq@Zv/Wy:Jm@h1:6379' }, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"redis://:***@h1:6379"');
    expect((error as Error).message).not.toMatch(/Kq|Zv|Wy|Jm/);
  });

  test('well-formed URLs with passwords parse as before', () => {
    expect(parseRedisUrl('redis://:p%40ss%2Fw0rd%3Ax@h1:6379')).toEqual({ kind: 'standalone', url: 'redis://:p%40ss%2Fw0rd%3Ax@h1:6379' });
    expect(parseRedisUrl('redis://h1:6379/0?password=p@ss/w0rd:x')).toEqual({ kind: 'standalone', url: 'redis://h1:6379/0?password=p@ss/w0rd:x' });
    expect(parseURL('redis://h1:6379/0?password=p@ss/w0rd:x').password).toBe('p@ss/w0rd:x');
  });
});

test("an ioredis error logged whole keeps its command's arguments (AUTH/HELLO carry the password) out of the line", async () => {
  // What ioredis 6 emits on a wrong password: the message names no password, the command does.
  const err = Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), { name: 'ReplyError', command: { name: 'hello', args: ['3', 'AUTH', 'default', 'Kq@Zv'] } });
  let out = '';
  const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, new Writable({ write: (chunk, _encoding, done) => void ((out += String(chunk)), done()) }));
  log.warn({ err }, 'redis error');
  log.warn(err, 'redis error');
  log.warn({ redisUrl: 'redis://:Kq@Zv@h1' }, 'url');
  await new Promise((r) => setImmediate(r));
  expect(out).toContain('WRONGPASS');
  expect(out).not.toContain('Kq');
});
