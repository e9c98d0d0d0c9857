/** The decision whether Redis lost an application's state, on fake observations. */
import { AppStateGuard, newMarker, RECORD_STATE_LOST_MS, recordStateLost, STATE_LOST_EXIT_CODE, StateLostError } from '../../shared/redis/app-state';
import type { RedisClient } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';

const keys = new AppKeys('orders');
const marker = newMarker('coordinator-1', new Date('2026-01-01T00:00:00Z'));
const tombstone = JSON.stringify({ at: '2026-01-02T00:00:00Z', by: 'worker-7', reason: 'gone' });

test('the marker and tombstone keys live under the app', () => {
  expect(keys.state).toBe('shardflow:orders:state');
  expect(keys.stateLost).toBe('shardflow:orders:state-lost');
  expect(JSON.parse(marker)).toEqual({ createdAt: '2026-01-01T00:00:00.000Z', by: 'coordinator-1' });
});

test('no marker before it was ever seen: absent (wait), not lost', () => {
  const guard = new AppStateGuard(keys);
  expect(guard.observe({ marker: null, tombstone: null })).toEqual({ kind: 'absent' });
  expect(guard.observe({ marker: null, tombstone: null })).toEqual({ kind: 'absent' });
  expect(guard.hasSeenMarker).toBe(false);
  expect(guard.observe({ marker, tombstone: null })).toEqual({ kind: 'present' });
  expect(guard.hasSeenMarker).toBe(true);
});

test('a marker seen and then gone: lost', () => {
  const guard = new AppStateGuard(keys);
  expect(guard.observe({ marker, tombstone: null }).kind).toBe('present');
  expect(guard.observe({ marker, tombstone: null }).kind).toBe('present');
  const verdict = guard.observe({ marker: null, tombstone: null });
  expect(verdict.kind).toBe('lost');
  expect(verdict.kind === 'lost' && verdict.reason).toContain('shardflow:orders:state is gone');
});

test('a marker replaced by another one (Redis emptied, then someone started afresh): lost', () => {
  const guard = new AppStateGuard(keys);
  guard.observe({ marker, tombstone: null });
  const verdict = guard.observe({ marker: newMarker('coordinator-2'), tombstone: null });
  expect(verdict.kind).toBe('lost');
  expect(verdict.kind === 'lost' && verdict.reason).toContain('was replaced');
});

test('a tombstone: lost, whether or not the marker was seen or is there', () => {
  for (const seenFirst of [false, true]) {
    const guard = new AppStateGuard(keys);
    if (seenFirst) guard.observe({ marker, tombstone: null });
    const verdict = guard.observe({ marker, tombstone });
    expect(verdict.kind).toBe('lost');
    expect(verdict.kind === 'lost' && verdict.reason).toContain('noticed by worker-7 at 2026-01-02T00:00:00Z');
  }
});

test('the error names the app, exit code 3 and the start-over command', () => {
  const err = new StateLostError('orders', 'its marker key shardflow:orders:state is gone');
  expect(err.exitCode).toBe(STATE_LOST_EXIT_CODE);
  expect(STATE_LOST_EXIT_CODE).toBe(3);
  expect(err.message).toContain('Redis lost the state of application "orders"');
  expect(err.message).toContain('shardflow start-over --app orders --yes');
  expect(err.message).toContain('source.init.position');
});

test('the tombstone write is waited for at most RECORD_STATE_LOST_MS, so a process that found the state lost exits even when Redis does not answer', async () => {
  jest.useFakeTimers();
  try {
    const exec = jest.fn(() => new Promise<never>(() => undefined));
    const pipeline = { set: () => pipeline, zrem: () => pipeline, exec };
    const redis = { multi: () => pipeline } as unknown as RedisClient;
    let settled = false;
    void recordStateLost(redis, keys, 'worker-7', 'gone', keys.liveWorkers).then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(RECORD_STATE_LOST_MS - 1);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  } finally {
    jest.useRealTimers();
  }
});
