/**
 * Redis state as a JSON fixture: every key of one application (`shardflow:<app>:*`), with its type, TTL
 * and value, so a test can start from the state an older build really left behind instead of one made up
 * by hand. `test/fixtures/upgrade/redis-state.json` is one, captured by `capture.mjs` beside it; the
 * upgrade tests load it under a fresh app name and check that the new build takes it over.
 *
 * Values are text: a hash is an object (fields sorted), a set a sorted array, a sorted set its
 * [member, score] pairs in Redis's order, a list its elements in order, a string itself, a stream its
 * [id, [field, value, ...]] entries. A dump decodes strictly, so a binary value fails loudly instead of
 * coming back changed. The prefix is written out here rather than taken from `AppKeys`: a fixture holds
 * the layout of the build that wrote it, whatever the current one does with its keys.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export type RedisFixtureKey =
  | { key: string; type: 'string'; ttlMs: number; value: string }
  | { key: string; type: 'hash'; ttlMs: number; value: Record<string, string> }
  | { key: string; type: 'set'; ttlMs: number; value: string[] }
  | { key: string; type: 'zset'; ttlMs: number; value: Array<[member: string, score: number]> }
  | { key: string; type: 'list'; ttlMs: number; value: string[] }
  | { key: string; type: 'stream'; ttlMs: number; value: Array<[id: string, fields: string[]]> };

export type RedisFixtureType = RedisFixtureKey['type'];

export interface RedisFixture {
  /** Which build wrote the state, e.g. "shardflow 0.1.0 at 4500954". */
  capturedWith: string;
  /** The app the state was captured under; keys are stored without its prefix. */
  app: string;
  keys: RedisFixtureKey[];
}

const TYPES: readonly string[] = ['string', 'hash', 'set', 'zset', 'list', 'stream'] satisfies RedisFixtureType[];

/** Where the keys of `app` live: `shardflow:<app>:` (the standalone layout; a Cluster's has braces). */
export function appPrefix(app: string): string {
  return `shardflow:${app}:`;
}

/** Reads a fixture file, checking its shape as far as a loader needs. */
export function readRedisFixture(file: string): RedisFixture {
  const fixture = JSON.parse(readFileSync(file, 'utf8')) as RedisFixture;
  if (!Array.isArray(fixture?.keys)) throw new Error(`${file}: not a Redis fixture (no "keys" array)`);
  for (const entry of fixture.keys) {
    if (typeof entry?.key !== 'string' || !TYPES.includes(entry.type)) throw new Error(`${file}: key ${JSON.stringify(entry?.key)} has type ${JSON.stringify(entry?.type)}`);
  }
  return fixture;
}

/**
 * Writes every key of the fixture under `shardflow:<app>:`, replacing a key of that name if there is one;
 * a positive `ttlMs` becomes a PEXPIRE, anything else is ignored. Returns how many keys it wrote.
 */
export async function loadRedisFixture(redis: Redis, file: string, app: string): Promise<number> {
  const fixture = readRedisFixture(file);
  for (const entry of fixture.keys) await writeKey(redis, appPrefix(app) + entry.key, entry);
  return fixture.keys.length;
}

/** One key, in one MULTI: deleted, written, given its TTL. */
async function writeKey(redis: Redis, name: string, entry: RedisFixtureKey): Promise<void> {
  const multi = redis.multi().del(name);
  for (const [command, ...args] of writeCommands(name, entry)) multi.call(command, ...args);
  if (entry.ttlMs > 0) multi.pexpire(name, entry.ttlMs);
  const replies = (await multi.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw new Error(`writing ${name} (${entry.type}) failed: ${failed[0]!.message}`);
}

/**
 * The commands that write a key's whole value: one, or one XADD per stream entry with its own id (a
 * stream without entries is made empty by MAXLEN 0).
 */
function writeCommands(name: string, entry: RedisFixtureKey): string[][] {
  switch (entry.type) {
    case 'string':
      return [['SET', name, entry.value]];
    case 'hash':
      return [['HSET', name, ...Object.entries(entry.value).flat()]];
    case 'set':
      return [['SADD', name, ...entry.value]];
    case 'zset':
      return [['ZADD', name, ...entry.value.flatMap(([member, score]) => [String(score), member])]];
    case 'list':
      return [['RPUSH', name, ...entry.value]];
    case 'stream':
      if (entry.value.length === 0) return [['XADD', name, 'MAXLEN', '0', '0-1', 'empty', 'stream']];
      return entry.value.map(([id, fields]) => ['XADD', name, id, ...fields]);
  }
}

/** Every key of `app` in the fixture's shape, names without the prefix, sorted. */
export async function dumpRedisApp(redis: Redis, app: string, capturedWith = 'dumpRedisApp'): Promise<RedisFixture> {
  const prefix = appPrefix(app);
  const keys: RedisFixtureKey[] = [];
  for (const name of await keysUnder(redis, prefix)) {
    const type = await redis.type(name);
    if (!TYPES.includes(type)) throw new Error(`${name} has type ${type}, which a Redis fixture does not hold`);
    const ttl = await redis.pttl(name);
    const value = await readValue(redis, name, type as RedisFixtureType);
    keys.push({ key: name.slice(prefix.length), type, ttlMs: ttl > 0 ? ttl : -1, value } as RedisFixtureKey);
  }
  return { capturedWith, app, keys };
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    batch.forEach((k) => found.add(k));
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function text(buffer: Buffer): string {
  return strictUtf8.decode(buffer);
}

function byName([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Through ioredis's typed `...Buffer` commands: they answer in RESP2's flat shapes whatever the protocol. */
async function readValue(redis: Redis, name: string, type: RedisFixtureType): Promise<RedisFixtureKey['value']> {
  switch (type) {
    case 'string':
      return text((await redis.getBuffer(name))!);
    case 'hash':
      return Object.fromEntries(Object.entries(await redis.hgetallBuffer(name)).map(([field, value]): [string, string] => [field, text(value)]).sort(byName));
    case 'set':
      return (await redis.smembersBuffer(name)).map(text).sort();
    case 'zset':
      return scorePairs(await redis.zrangeBuffer(name, '0', '-1', 'WITHSCORES'));
    case 'list':
      return (await redis.lrangeBuffer(name, 0, -1)).map(text);
    case 'stream':
      return (await redis.xrangeBuffer(name, '-', '+')).map(([id, fields]): [string, string[]] => [text(id), fields.map(text)]);
  }
}

/**
 * ZRANGE WITHSCORES as [member, score] pairs, from the flat member, score, ... reply, or from the nested
 * pairs a client with `replyMapping: 'resp3'` gives.
 */
function scorePairs(reply: unknown[]): Array<[string, number]> {
  const flat = reply.flat() as Array<Buffer | number>;
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < flat.length; i += 2) {
    const score = flat[i + 1];
    pairs.push([text(flat[i] as Buffer), typeof score === 'number' ? score : Number(text(score))]);
  }
  return pairs;
}
