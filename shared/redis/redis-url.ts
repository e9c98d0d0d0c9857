/**
 * The one string that says where Redis is: a plain URL (`redis://`, `rediss://`) as ioredis reads it,
 * or a Sentinel or Cluster URL, which ioredis has no URL syntax for, so we read those here:
 *
 * - `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<primary name>[/<db>][?sentinelPassword=...]`
 *   (Sentinels default to port 26379; `password` is the data nodes'; `sentinelPassword` the Sentinels' own, when they have one)
 * - `redis+cluster://[[user]:password@]host[:port][,host[:port]...]` (seed nodes; port 6379 by default; no db: a cluster has only db 0)
 *
 * `rediss+sentinel://` and `rediss+cluster://` are the TLS variants (TLS to every node, Sentinels included).
 * A plain URL may also carry `?password=` (ioredis reads its query as options).
 *
 * Passwords: ioredis reads a plain URL with WHATWG `URL`, whose user info ends at the first `/`, `?` or `#`,
 * so in a plain URL those (and `%`) must be percent-encoded; a plain URL where part of the password would be
 * taken for the host or the path is refused here, since ioredis would connect to the wrong host and print it
 * in its errors. The Sentinel and Cluster forms take the user info up to the last `@` before the query, so
 * only `?`, `&` (in `sentinelPassword`) and `%` need encoding there. Every message about a URL is written
 * from {@link redactRedisUrl}'s result, so it never shows a part of a password.
 *
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

/** What a refused URL's message says when the fault is inside a password (so it cannot quote it). */
const UNCLEAR_PASSWORD =
  'cannot tell where a password in it ends: percent-encode "?" (%3F), "&" (%26) and "%" (%25) in a password, and in a redis:// or rediss:// URL also "/" (%2F) and "#" (%23)';

/** A refusal whose message quotes a part of the URL (a host, the path, a parameter name). */
class QuotingUrlError extends RedisUrlError {}

export function parseRedisUrl(url: string): RedisTarget {
  try {
    return parse(url);
  } catch (err) {
    if (err instanceof QuotingUrlError) throw new RedisUrlError(safeMessage(url, err.message));
    if (err instanceof URIError) throw new RedisUrlError('a part of it is not valid percent-encoding (write "%" as %25)');
    throw err;
  }
}

/**
 * A message that quotes a part of the URL is made again from the redacted URL when the URL carries a
 * password, so it holds no part of one; when the redacted URL parses, the part it quoted was inside a
 * password, and the message says only that.
 */
function safeMessage(url: string, message: string): string {
  const redacted = redactRedisUrl(url);
  if (redacted === url) return message;
  try {
    parse(redacted);
  } catch (err) {
    if (err instanceof QuotingUrlError) return err.message;
  }
  return UNCLEAR_PASSWORD;
}

function parse(url: string): RedisTarget {
  if (readSecrets(url).inDoubt) throw new RedisUrlError(UNCLEAR_PASSWORD);
  const scheme = SCHEME.exec(url.trim());
  if (scheme === null || /\s/.test(url.trim())) throw new RedisUrlError('not a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');
  const [, base, mode, rest] = scheme as unknown as [string, string, string | undefined, string];
  if (mode === undefined) {
    if (rest === '') throw new RedisUrlError('no host');
    checkPlainUrl(url);
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
    if (path !== '') throw new QuotingUrlError(`a cluster URL has no path (got "/${path}"): a Redis Cluster has only database 0`);
    for (const key of params.keys()) throw new QuotingUrlError(`unknown query parameter "${key}" (a cluster URL takes none)`);
    return { kind, nodes, ...credentials };
  }

  const [primaryName = '', dbText, ...extra] = path.split('/');
  if (primaryName === '') throw new RedisUrlError('no primary name: the path must name the Sentinel-monitored primary, as in /mymaster');
  if (extra.length > 0 || (dbText !== undefined && !/^\d{1,2}$/.test(dbText))) throw new QuotingUrlError(`the path after the primary name must be a database number (got "/${path}")`);
  let sentinelPassword: string | undefined;
  for (const [key, value] of params) {
    if (key === 'sentinelPassword') sentinelPassword = value;
    else throw new QuotingUrlError(`unknown query parameter "${key}" (allowed: sentinelPassword)`);
  }
  return { kind, sentinels: nodes, primaryName: decodeURIComponent(primaryName), db: dbText === undefined ? 0 : Number(dbText), ...credentials, ...(sentinelPassword === undefined ? {} : { sentinelPassword }) };
}

/**
 * A plain URL as ioredis will read it (`new URL`, then `decodeURIComponent` of the user name and password):
 * one it could not read, or one where an `@` lands after the host (a password with an unencoded `/` or `#`:
 * ioredis would take the rest for the host, connect there and name it in its errors), is refused.
 */
function checkPlainUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Node's "Invalid URL" error carries the whole URL in its `input` property: never let it out.
    throw new RedisUrlError('not a valid URL: percent-encode "/" (%2F), "?" (%3F), "#" (%23) and "%" (%25) in a password');
  }
  if (parsed.pathname.includes('@') || parsed.hash.includes('@')) {
    throw new RedisUrlError('an "@" after the host: a "/" or "#" in a password must be written %2F or %23, or ioredis takes part of the password for the host');
  }
  decodeURIComponent(parsed.username);
  decodeURIComponent(parsed.password);
}

const MASK = '***';

/**
 * Query parameters that carry a password: ioredis takes `password` (and `sentinelPassword`) from a plain
 * URL's query, the Sentinel form takes `sentinelPassword`. Names are compared as URLSearchParams decodes
 * them and in any case, so `Password`, `PASSWORD` and `pass%77ord` are hidden too.
 */
const PASSWORD_PARAMETER = /password/i;

interface Span {
  start: number;
  end: number;
}

/**
 * Where the secrets of a Redis URL are, read the way ioredis and {@link parseRedisUrl} read it, and wider
 * wherever they could disagree:
 *
 * - the user info, from `://` to the last `@` before the query (ioredis ends it at the first `/`, `?` or
 *   `#`, the Sentinel and Cluster parser at the last `@`: this span holds both); the user name before the
 *   first `:` stays visible, and with no `:` the whole user info is hidden (a lone token may be a password);
 * - the value of each query parameter named like a password, to the next `&` (as URLSearchParams splits),
 *   and over the following pieces that have no `=` (an unencoded `&` inside the password);
 * - in doubt, when an `@` comes after the `?` outside such a value (a password with an unencoded `?`):
 *   everything from `://` to that last `@`.
 *
 * Input without `://` is read from its first character, so even a bare `:secret@host` is hidden.
 */
function readSecrets(url: string): { spans: Span[]; inDoubt: boolean } {
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const start = scheme === null ? 0 : scheme[0].length;
  const queryAt = url.indexOf('?', start);
  const authorityEnd = queryAt === -1 ? url.length : queryAt;
  const spans: Span[] = [];
  if (queryAt !== -1) {
    const pieces: Span[] = [];
    for (let from = queryAt + 1; from <= url.length; ) {
      const amp = url.indexOf('&', from);
      const end = amp === -1 ? url.length : amp;
      pieces.push({ start: from, end });
      from = end + 1;
    }
    for (let i = 0; i < pieces.length; i++) {
      const piece = url.slice(pieces[i]!.start, pieces[i]!.end);
      const eq = piece.indexOf('=');
      if (eq === -1 || !PASSWORD_PARAMETER.test(parameterName(piece.slice(0, eq)))) continue;
      const valueStart = pieces[i]!.start + eq + 1;
      while (i + 1 < pieces.length && !url.slice(pieces[i + 1]!.start, pieces[i + 1]!.end).includes('=')) i++;
      spans.push({ start: valueStart, end: pieces[i]!.end });
    }
  }
  const lastAt = url.lastIndexOf('@');
  if (lastAt >= authorityEnd && !spans.some((s) => s.start <= lastAt && lastAt < s.end)) {
    spans.push({ start, end: lastAt });
    return { spans, inDoubt: true };
  }
  const at = authorityEnd === 0 ? -1 : url.lastIndexOf('@', authorityEnd - 1);
  if (at >= start) {
    const colon = url.indexOf(':', start);
    spans.push({ start: colon !== -1 && colon < at ? colon + 1 : start, end: at });
  }
  return { spans, inDoubt: false };
}

/** A query parameter's name as URLSearchParams (and so ioredis) reads it: `+` is a space, `%xx` decoded. */
function parameterName(raw: string): string {
  for (const [name] of new URLSearchParams(raw)) return name;
  return '';
}

/**
 * The URL with every password replaced by `***`, for logs and messages: the user info's password (any
 * characters, percent-encoded or not), `password` and `sentinelPassword` in the query, in any case. Works on
 * any text, valid URL or not; when it cannot tell where a password ends it hides more, never less.
 */
export function redactRedisUrl(url: string): string {
  const merged: Span[] = [];
  for (const span of readSecrets(url).spans.sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  let out = '';
  let from = 0;
  for (const span of merged) {
    out += url.slice(from, span.start) + MASK;
    from = span.end;
  }
  return out + url.slice(from);
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
    if (m === null || port < 1 || port > 65535) throw new QuotingUrlError(`"${entry}" is not a host[:port]`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}
