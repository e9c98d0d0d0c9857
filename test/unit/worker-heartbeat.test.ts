/**
 * The worker's heartbeat against a scripted live set (no Redis): who is alive, the wait for the first
 * coordinator, the shutdown request, and the state-loss exit (tombstone first, then `onStateLost` with
 * exit code 3, once; no beat after it).
 */
import pino from 'pino';
import { StateLostError, STATE_LOST_EXIT_CODE } from '../../shared/redis/app-state';
import type { Heartbeat, LiveSet } from '../../shared/redis/heartbeats';
import { AppKeys } from '../../shared/redis/keys';
import { WorkerHeartbeat } from '../../worker/leases/worker-heartbeat';

const MARKER = '{"createdAt":"2026-12-06T10:00:00.000Z","by":"coordinator-a"}';
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Answers each beat with the next scripted heartbeat (the last one again once they run out). */
class ScriptedLiveSet implements LiveSet {
  readonly beats: string[] = [];
  readonly left: string[] = [];
  readonly tombstones: Array<{ member: string; reason: string }> = [];
  /** What happened, in order: 'tombstone' (written) and 'onStateLost' (the caller's). */
  readonly events: string[] = [];
  tombstoneFails = false;

  constructor(private readonly answers: Array<Partial<Heartbeat>>) {}

  async beat(member: string, freshMs: number): Promise<Heartbeat> {
    this.beats.push(`${member}/${freshMs}`);
    const answer = this.answers.length > 1 ? this.answers.shift()! : this.answers[0];
    return { live: [member], shutdownRequested: false, state: { marker: MARKER, tombstone: null }, redisNowMs: 1_700_000_000_000, ...answer };
  }

  async leave(member: string): Promise<void> {
    this.left.push(member);
  }

  async recordStateLost(member: string, reason: string): Promise<void> {
    this.tombstones.push({ member, reason });
    await Promise.resolve(); // an answer from Redis comes later
    this.events.push('tombstone');
    if (this.tombstoneFails) throw new Error('Connection is closed.');
  }
}

function heartbeat(answers: Array<Partial<Heartbeat>>) {
  const liveSet = new ScriptedLiveSet(answers);
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line).msg) });
  const shutdowns: number[] = [];
  const losses: StateLostError[] = [];
  const hb = new WorkerHeartbeat({ liveSet, keys: new AppKeys('orders'), workerId: 'worker-a', freshMs: 10_000, onShutdownRequested: () => shutdowns.push(1), onStateLost: (err) => (losses.push(err), liveSet.events.push('onStateLost')), log });
  return { hb, liveSet, lines, shutdowns, losses };
}

test('a beat says who is alive by Redis\'s clock, with the freshness it was given', async () => {
  const { hb, liveSet } = heartbeat([{ live: ['worker-a', 'worker-b'], redisNowMs: 42 }]);
  expect(await hb.beat()).toEqual({ live: ['worker-a', 'worker-b'], redisNowMs: 42 });
  expect(liveSet.beats).toEqual(['worker-a/10000']);
});

test('before the first coordinator ran it waits, and says so once', async () => {
  const { hb, lines, losses } = heartbeat([{ state: { marker: null, tombstone: null } }, { state: { marker: null, tombstone: null } }, {}]);
  expect(await hb.beat()).toBeDefined();
  expect(await hb.beat()).toBeDefined();
  expect(lines.filter((l) => l.startsWith('application state not created yet'))).toHaveLength(1);
  expect(await hb.beat()).toBeDefined(); // the marker appears: carry on
  expect(losses).toEqual([]);
});

test('a shutdown request is passed on with every beat until the heartbeat stops, which leaves the live set', async () => {
  const { hb, liveSet, shutdowns } = heartbeat([{ shutdownRequested: true }]);
  await hb.beat();
  await hb.beat();
  expect(shutdowns).toHaveLength(2);
  await hb.stop();
  expect(liveSet.left).toEqual(['worker-a']);
  await hb.beat();
  expect(shutdowns).toHaveLength(2);
});

test.each([
  ['the marker vanished', { marker: null, tombstone: null }, /marker key shardflow:orders:state is gone/],
  ['the marker was replaced', { marker: '{"createdAt":"later","by":"coordinator-b"}', tombstone: null }, /was replaced/],
  ['another process recorded the loss', { marker: MARKER, tombstone: '{"at":"x","by":"worker-b","reason":"gone"}' }, /records an earlier loss: noticed by worker-b/],
])('state lost (%s): the tombstone is written, then onStateLost once with exit code 3; no beat after', async (_what, state, reason) => {
  const { hb, liveSet, losses, shutdowns } = heartbeat([{}, { state, shutdownRequested: true }]);
  expect(await hb.beat()).toBeDefined();
  expect(await hb.beat()).toBeUndefined();
  await flush();
  expect(liveSet.tombstones).toEqual([{ member: 'worker-a', reason: expect.stringMatching(reason) }]);
  expect(liveSet.events).toEqual(['tombstone', 'onStateLost']);
  expect(losses).toHaveLength(1);
  expect(losses[0]).toBeInstanceOf(StateLostError);
  expect(losses[0].exitCode).toBe(STATE_LOST_EXIT_CODE);
  expect(losses[0].reason).toMatch(reason);
  expect(shutdowns).toEqual([]);
  expect(await hb.beat()).toBeUndefined();
  await flush();
  expect(liveSet.beats).toHaveLength(2);
  expect(losses).toHaveLength(1);
});

test('the process stops on a lost state even when the tombstone cannot be written', async () => {
  const { hb, liveSet, losses } = heartbeat([{}, { state: { marker: null, tombstone: null } }]);
  liveSet.tombstoneFails = true;
  await hb.beat();
  await hb.beat();
  await flush();
  expect(losses).toHaveLength(1);
});
