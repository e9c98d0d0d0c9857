/**
 * The one string that says where Redis is: a plain URL (`redis://`, `rediss://`) as ioredis reads it,
 * or a Sentinel or Cluster URL, which ioredis has no URL syntax for, so we read those here:
 *
 * - `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<primary name>[/<db>][?sentinelPassword=...]`
 *   (Sentinels default to port 26379; `password` is the data nodes'; `sentinelPassword` the Sentinels' own, when they have one)
 * - `redis+cluster://[[user]:password@]host[:port][,host[:port]...]` (seed nodes; port 6379 by default; no db: a cluster has only db 0)
 *
 * `rediss+sentinel://` and `rediss+cluster://` are the TLS variants (TLS to every node, Sentinels included).
 * Pure: no connection is made here.
 */

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; primaryName: string; db: number; sentinelPassword?: string } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & Credentials);

/** What the `--redis` option takes, for error messages and help. */
export const REDIS_URL_FORMS =
  'a redis:// or rediss:// URL such as "redis://127.0.0.1:6379", a Sentinel URL "redis+sentinel://[:password@]host1:26379,host2:26379/<primary name>[/db]", ' +
  'or a Cluster URL "redis+cluster://[:password@]host1:6379,host2:6379" (rediss+sentinel:// and rediss+cluster:// for TLS)';

/** A URL that is not one of {@link REDIS_URL_FORMS}; the message says which part is wrong. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

const SCHEME = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(.*)$/i;
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;

export function parseRedisUrl(url: string): RedisTarget {
  const scheme = SCHEME.exec(url.trim());
  if (scheme === null || /\s/.test(url.trim())) throw new RedisUrlError('not a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');
  const [, base, mode, rest] = scheme as unknown as [string, string, string | undefined, string];
  if (mode === undefined) {
    if (rest === '') throw new RedisUrlError('no host');
    return { kind: 'standalone', url };
  }
  const kind = mode.toLowerCase() as 'sentinel' | 'cluster';
  const tls = base.toLowerCase() === 'rediss';

  const [beforeQuery, query = ''] = splitOnce(rest, '?');
  const at = beforeQuery.lastIndexOf('@');
  const userInfo = at === -1 ? undefined : beforeQuery.slice(0, at);
  const afterAuth = at === -1 ? beforeQuery : beforeQuery.slice(at + 1);
  const [hostList, path = ''] = splitOnce(afterAuth, '/');
  const credentials: Credentials = { tls, ...parseUserInfo(userInfo) };
  const nodes = parseHosts(hostList, DEFAULT_PORT[kind]);
  const params = new URLSearchParams(query);

  if (kind === 'cluster') {
    if (path !== '') throw new RedisUrlError(`a cluster URL has no path (got "/${path}"): a Redis Cluster has only database 0`);
    for (const key of params.keys()) throw new RedisUrlError(`unknown query parameter "${key}" (a cluster URL takes none)`);
    return { kind, nodes, ...credentials };
  }

  const [primaryName = '', dbText, ...extra] = path.split('/');
  if (primaryName === '') throw new RedisUrlError('no primary name: the path must name the Sentinel-monitored primary, as in /mymaster');
  if (extra.length > 0 || (dbText !== undefined && !/^\d{1,2}$/.test(dbText))) throw new RedisUrlError(`the path after the primary name must be a database number (got "/${path}")`);
  let sentinelPassword: string | undefined;
  for (const [key, value] of params) {
    if (key === 'sentinelPassword') sentinelPassword = value;
    else throw new RedisUrlError(`unknown query parameter "${key}" (allowed: sentinelPassword)`);
  }
  return { kind, sentinels: nodes, primaryName: decodeURIComponent(primaryName), db: dbText === undefined ? 0 : Number(dbText), ...credentials, ...(sentinelPassword === undefined ? {} : { sentinelPassword }) };
}

/** The URL with its passwords (user info and `sentinelPassword`) replaced by `***`, for logs and messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/:]*):([^@/]*)@/i, (_, scheme: string, user: string) => `${scheme}${user}:***@`).replace(/([?&]sentinelPassword=)[^&]*/, '$1***');
}

function splitOnce(text: string, separator: string): [string, string?] {
  const i = text.indexOf(separator);
  return i === -1 ? [text] : [text.slice(0, i), text.slice(i + 1)];
}

function parseUserInfo(userInfo: string | undefined): Pick<Credentials, 'username' | 'password'> {
  if (userInfo === undefined) return {};
  const [user, password] = splitOnce(userInfo, ':');
  return {
    ...(user === '' ? {} : { username: decodeURIComponent(user) }),
    ...(password === undefined ? {} : { password: decodeURIComponent(password) }),
  };
}

function parseHosts(list: string, defaultPort: number): RedisNode[] {
  if (list === '') throw new RedisUrlError('no host: list at least one host[:port]');
  return list.split(',').map((entry) => {
    const m = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/i.exec(entry);
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (m === null || port < 1 || port > 65535) throw new RedisUrlError(`"${entry}" is not a host[:port]`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}
