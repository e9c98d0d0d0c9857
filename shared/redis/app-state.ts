/**
 * Guards against a Redis that comes back empty (restarted without persistence, flushed, failed over
 * to an empty replica). Without it the next discovery would find no checkpoints and silently start the
 * application over from `source.init.position`.
 *
 * The first coordinator writes a marker (`shardflow:<app>:state`, SET NX). Every running process checks
 * it about once a second; one that saw the marker and finds it gone (or replaced by another one) writes
 * a tombstone (`shardflow:<app>:state-lost`), says so and exits with {@link STATE_LOST_EXIT_CODE}. Every
 * later start refuses while the tombstone exists, until `shardflow start-over` deletes the app's keys.
 */
import type { RedisClient } from './connection';
import type { AppKeys } from './keys';

/** The exit code of a process that stops (or refuses to start) because Redis lost the app's state. */
export const STATE_LOST_EXIT_CODE = 3;

/** What the marker key holds. */
export interface AppStateMarker {
  createdAt: string;
  by: string;
}

/** What the tombstone key holds. */
export interface AppStateTombstone {
  at: string;
  by: string;
  reason: string;
}

/** Redis lost the application's state: the process stops (or does not start), exit code 3. */
export class StateLostError extends Error {
  override readonly name = 'StateLostError';
  readonly exitCode = STATE_LOST_EXIT_CODE;

  constructor(
    readonly app: string,
    readonly reason: string,
  ) {
    super(
      `Redis lost the state of application "${app}" (${reason}). Refusing to run: its checkpoints and lease jobs are gone, ` +
        'and starting again would read every shard from source.init.position (LATEST: records are skipped; TRIM_HORIZON: everything is sent again). ' +
        `To start over on purpose, stop every worker and coordinator of "${app}" and run \`shardflow start-over --app ${app} --yes\` (with the same --redis).`,
    );
  }
}

/** The state of the app as one check sees it: the marker's raw value (or null) and whether the tombstone exists. */
export interface AppStateObservation {
  marker: string | null;
  tombstone: string | null;
}

export type AppStateVerdict =
  /** The marker is there (and is the one seen before): carry on. */
  | { kind: 'present' }
  /** No marker yet and none was ever seen: the app was never started (a worker waits for a coordinator). */
  | { kind: 'absent' }
  /** Redis lost the state: stop. */
  | { kind: 'lost'; reason: string };

/**
 * The decision, per process: remembers the marker it saw and judges each later observation. Pure.
 */
export class AppStateGuard {
  private seen: string | undefined;

  constructor(private readonly keys: AppKeys) {}

  /** True once this process has seen the marker. */
  get hasSeenMarker(): boolean {
    return this.seen !== undefined;
  }

  /** The marker's value as this process first saw it (undefined before). */
  get marker(): string | undefined {
    return this.seen;
  }

  observe(state: AppStateObservation): AppStateVerdict {
    if (state.tombstone !== null) return { kind: 'lost', reason: `${this.keys.stateLost} records an earlier loss: ${describeTombstone(state.tombstone)}` };
    if (state.marker === null) {
      if (this.seen === undefined) return { kind: 'absent' };
      return { kind: 'lost', reason: `its marker key ${this.keys.state} is gone: Redis was restarted without persistence, flushed, or failed over to an empty replica` };
    }
    if (this.seen === undefined) this.seen = state.marker;
    else if (this.seen !== state.marker) {
      return { kind: 'lost', reason: `its marker key ${this.keys.state} was replaced (${this.seen} before, ${state.marker} now): Redis lost the state and another process started the app afresh` };
    }
    return { kind: 'present' };
  }
}

function describeTombstone(raw: string): string {
  try {
    const t = JSON.parse(raw) as Partial<AppStateTombstone>;
    return `noticed by ${t.by ?? '?'} at ${t.at ?? '?'}`;
  } catch {
    return raw;
  }
}

/** A new marker's value. */
export function newMarker(by: string, now = new Date()): string {
  return JSON.stringify({ createdAt: now.toISOString(), by } satisfies AppStateMarker);
}

/** Reads the marker and the tombstone in one round trip. */
export async function readAppState(redis: RedisClient, keys: AppKeys): Promise<AppStateObservation> {
  const [marker, tombstone] = await redis.mget(keys.state, keys.stateLost);
  return { marker: marker ?? null, tombstone: tombstone ?? null };
}

/** Writes the marker unless it exists (the first start of the app). */
export async function createMarker(redis: RedisClient, keys: AppKeys, by: string): Promise<void> {
  await redis.set(keys.state, newMarker(by), 'NX');
}

// Adds members to a set only while the marker still holds the value this process saw: a write that
// raced with Redis losing the state must not re-create the app's keys in the emptied Redis.
const ADD_WHILE_MARKED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('SADD', KEYS[2], unpack(ARGV, 2))
`;
// Lua's unpack is bounded by its C stack (about 8,000 values): larger sets go in chunks.
const ADD_CHUNK = 1000;

/**
 * SADD `members` to `setKey` only while the marker equals `marker`, atomically. False when the marker
 * was gone or replaced (nothing written from then on).
 */
export async function addToSetWhileMarked(redis: RedisClient, keys: AppKeys, marker: string, setKey: string, members: readonly string[]): Promise<boolean> {
  for (let i = 0; i < members.length; i += ADD_CHUNK) {
    const added = (await redis.eval(ADD_WHILE_MARKED, 2, keys.state, setKey, marker, ...members.slice(i, i + ADD_CHUNK))) as number;
    if (added === -1) return false;
  }
  return true;
}

/** How long a process that found the state lost waits for its tombstone write before it exits anyway. */
export const RECORD_STATE_LOST_MS = 5_000;

/**
 * Writes the tombstone (keeps the first one), so every later start refuses too, and removes the
 * process's heartbeat from its live set (`liveSet`), since it is about to exit: `start-over` need not
 * wait for it to go stale. Best effort, for at most `withinMs`: the caller exits when this settles, and
 * a write that never answers (Redis failing over again; commands wait through reconnects) must not keep
 * a process that knows the state is gone running. Rejects when the write fails.
 */
export async function recordStateLost(redis: RedisClient, keys: AppKeys, by: string, reason: string, liveSet: string, withinMs = RECORD_STATE_LOST_MS): Promise<void> {
  const write = redis
    .multi()
    .set(keys.stateLost, JSON.stringify({ at: new Date().toISOString(), by, reason } satisfies AppStateTombstone), 'NX')
    .zrem(liveSet, by)
    .exec();
  // An answer after the deadline must not become an unhandled rejection.
  write.catch(() => undefined);
  await Promise.race([write, new Promise<void>((resolve) => setTimeout(resolve, withinMs).unref())]);
}

