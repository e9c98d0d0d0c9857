/**
 * The coordinator's discovery of one input stream, and the round's tidy-up of the lease jobs, on the
 * in-memory lease table, scripted shard listings and in-memory checkpoints (no Redis, no Kinesis): one
 * lease job per readable shard, keyed by stream and shard, with its stream, hash-key range and start,
 * parents before children across a split, closed shards skipped at a LATEST start, failed leases put
 * back, trimmed shards' leases removed unless held, the jobs of streams not read and of the
 * single-stream layout removed, and nothing written once the state is lost.
 */
import pino from 'pino';
import type { Shard } from '@aws-sdk/client-kinesis';
import { SHARD_END } from '../../shared/leases/checkpoint-store';
import { initProcessMetrics } from '../../shared/metrics';
import type { InitialPosition } from '../../shared/config/app-config';
import { leaseKey, parseLeaseKey, streamKey } from '../../shared/redis/keys';
import { ShardDiscovery } from '../../coordinator/shard-discovery';
import { tidyLeaseJobs } from '../../coordinator/lease-queue-tidy';
import { InMemoryLeaseTable } from '../support/in-memory-lease-store';

const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const MAX = '340282366920938463463374607431768211455';
const HALF = '170141183460469231731687303715884105727';
const clock = () => 0;

const shard = (id: string, from: string, to: string, opts: { parents?: string[]; closed?: boolean } = {}): Shard => ({
  ShardId: id,
  ParentShardId: opts.parents?.[0],
  AdjacentParentShardId: opts.parents?.[1],
  HashKeyRange: { StartingHashKey: from, EndingHashKey: to },
  SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: opts.closed ? '9' : undefined },
});

beforeAll(() => initProcessMetrics({ role: 'test' }));

function setup(initialPosition: InitialPosition = { type: 'TRIM_HORIZON' }) {
  const table = new InMemoryLeaseTable(clock);
  const listed: { shards: Shard[] } = { shards: [] };
  const checkpoints = new Map<string, string>();
  const initial = new Set<string>();
  const state = { allows: true, recordAllowed: true, checks: 0 };
  const errors: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => (JSON.parse(line).level >= 50 ? errors.push(JSON.parse(line).shardId) : undefined) });
  const discovery = new ShardDiscovery({
    shards: { listShards: async () => listed.shards },
    streamArn: STREAM,
    initialPosition,
    leases: table,
    checkpoints: {
      finishedShards: async () => new Set([...checkpoints].filter(([, v]) => v === SHARD_END).map(([k]) => k)),
      skip: async (shardId) => void (checkpoints.has(shardId) || checkpoints.set(shardId, SHARD_END)),
      get: async (shardId) => checkpoints.get(shardId),
    },
    initialShards: {
      read: async () => [...initial],
      record: async (ids) => state.recordAllowed && (ids.forEach((id) => initial.add(id)), true),
    },
    stateAllows: async () => (state.checks++, state.allows),
    log,
  });
  const job = (id: string) => table.jobs.get(leaseKey(STREAM, id));
  /** The shard ids of the lease jobs, in the order they were created. */
  const jobShards = () => [...table.jobs.keys()].map((key) => parseLeaseKey(key)?.shardId ?? key);
  /** A round as the coordinator runs it: the stream's discovery, then the tidy-up (the streams readable: this one, and `readable`). */
  const round = async (readable: readonly string[] = []) => {
    const listing = await discovery.discover();
    const listings = listing ? [listing] : [];
    return tidyLeaseJobs({ listings, readable: new Set([STREAM, ...readable].map(streamKey)) }, { leases: table, checkpoint: async (_arn, shardId) => checkpoints.get(shardId), log });
  };
  return { table, listed, checkpoints, initial, state, errors, discovery, job, jobShards, round };
}

test('creates one lease job per shard with its hash-key range and start, records the first shards, and is idempotent', async () => {
  const s = setup({ type: 'LATEST' });
  s.listed.shards = [shard('shardId-0', '0', HALF), shard('shardId-1', String(BigInt(HALF) + 1n), MAX)];
  await s.discovery.discover();
  expect([...s.table.jobs.keys()].sort()).toEqual(['in@123456789012.us-east-1|shardId-0', 'in@123456789012.us-east-1|shardId-1']);
  expect(s.job('shardId-0')!.data).toEqual({ streamArn: STREAM, shardId: 'shardId-0', parentShardIds: [], start: { type: 'LATEST' }, hashKeyRange: { startingHashKey: '0', endingHashKey: HALF } });
  expect(s.job('shardId-1')!.data.hashKeyRange!.endingHashKey).toBe(MAX);
  expect([...s.initial].sort()).toEqual(['shardId-0', 'shardId-1']);
  const ensure = jest.spyOn(s.table, 'ensure');
  await s.discovery.discover();
  expect(await ensure.mock.results[0].value).toBe(0);
  expect(s.table.jobs.size).toBe(2);
});

test('parents first: after a split only the parent is leased; its children once it is finished, from TRIM_HORIZON', async () => {
  const s = setup({ type: 'LATEST' });
  s.listed.shards = [shard('shardId-0', '0', MAX)];
  await s.discovery.discover();
  s.listed.shards = [shard('shardId-0', '0', MAX, { closed: true }), shard('shardId-1', '0', HALF, { parents: ['shardId-0'] }), shard('shardId-2', String(BigInt(HALF) + 1n), MAX, { parents: ['shardId-0'] })];
  await s.discovery.discover();
  expect(s.jobShards()).toEqual(['shardId-0']);

  // A worker reads the parent to its end: checkpoint SHARD_END, lease job completed.
  const worker = s.table.worker('w1', 10_000);
  await worker.start((lease) => void worker.complete(lease));
  await worker.setCapacity(1);
  s.checkpoints.set('shardId-0', SHARD_END);
  await s.discovery.discover();
  expect(s.job('shardId-0')!.state).toBe('completed');
  for (const child of ['shardId-1', 'shardId-2']) expect(s.job(child)!.data).toMatchObject({ parentShardIds: ['shardId-0'], start: { type: 'TRIM_HORIZON' } });
});

test('a merge waits for both parents', async () => {
  const s = setup();
  const merged = shard('shardId-2', '0', MAX, { parents: ['shardId-0', 'shardId-1'] });
  s.listed.shards = [shard('shardId-0', '0', HALF, { closed: true }), shard('shardId-1', String(BigInt(HALF) + 1n), MAX, { closed: true }), merged];
  await s.discovery.discover();
  expect(s.jobShards().sort()).toEqual(['shardId-0', 'shardId-1']);
  s.checkpoints.set('shardId-0', SHARD_END);
  await s.discovery.discover();
  expect(s.job('shardId-2')).toBeUndefined();
  s.checkpoints.set('shardId-1', SHARD_END);
  await s.discovery.discover();
  expect(s.job('shardId-2')!.data.parentShardIds).toEqual(['shardId-0', 'shardId-1']);
});

test('at a LATEST first start, closed shards are finished without a lease', async () => {
  const s = setup({ type: 'LATEST' });
  s.listed.shards = [shard('shardId-0', '0', MAX, { closed: true }), shard('shardId-1', '0', MAX, { parents: ['shardId-0'] })];
  await s.discovery.discover();
  expect(s.checkpoints.get('shardId-0')).toBe(SHARD_END);
  expect(s.jobShards()).toEqual(['shardId-1']);
  expect(s.job('shardId-1')!.data.start).toEqual({ type: 'LATEST' });
});

test('the tidy-up puts failed leases of unfinished shards back, and removes the leases of shards no longer listed unless a worker holds them', async () => {
  const s = setup();
  s.listed.shards = ['shardId-0', 'shardId-1', 'shardId-2', 'shardId-3'].map((id) => shard(id, '0', MAX));
  await s.round();
  const worker = s.table.worker('w1', 10_000);
  const taken: Array<Parameters<typeof worker.fail>[0]> = [];
  await worker.start((lease) => taken.push(lease));
  await worker.setCapacity(2);
  await worker.setCapacity(0);
  await worker.fail(taken[0], new Error('boom')); // shardId-0 failed; shardId-1 held
  s.listed.shards = [shard('shardId-0', '0', MAX)];
  // The discovery alone changes none of that: it only adds what is missing.
  await s.discovery.discover();
  expect(s.job('shardId-0')!.state).toBe('failed');
  expect(s.job('shardId-2')!.state).toBe('waiting');
  expect(await s.round()).toEqual({ removed: 2, retried: 1 });
  expect(s.job('shardId-0')!.state).toBe('waiting');
  expect(s.job('shardId-1')!.state).toBe('active');
  expect(s.job('shardId-2')).toBeUndefined();
  expect(s.job('shardId-3')).toBeUndefined();
  expect(s.errors.sort()).toEqual(['shardId-2', 'shardId-3']);
  expect(await s.round()).toEqual({ removed: 0, retried: 0 });
});

test("the tidy-up leaves a failed lease of a finished shard failed, and removes an unlisted finished shard's lease without a report", async () => {
  const s = setup();
  s.listed.shards = ['shardId-0', 'shardId-1'].map((id) => shard(id, '0', MAX));
  await s.round();
  const worker = s.table.worker('w1', 10_000);
  const taken: Array<Parameters<typeof worker.fail>[0]> = [];
  await worker.start((lease) => taken.push(lease));
  await worker.setCapacity(1);
  await worker.setCapacity(0);
  await worker.fail(taken[0], new Error('boom')); // shardId-0
  s.checkpoints.set('shardId-0', SHARD_END);
  s.checkpoints.set('shardId-1', SHARD_END);
  s.listed.shards = [shard('shardId-0', '0', MAX, { closed: true })];
  expect(await s.round()).toEqual({ removed: 1, retried: 0 });
  expect(s.job('shardId-0')!.state).toBe('failed');
  expect(s.job('shardId-1')).toBeUndefined();
  expect(s.errors).toEqual([]);
});

test('the tidy-up removes the unheld lease jobs of streams not read and of the single-stream layout, and keeps those of readable streams not discovered this round', async () => {
  const s = setup();
  const removed = 'arn:aws:kinesis:us-east-1:123456789012:stream/removed';
  const resting = 'arn:aws:kinesis:eu-west-1:123456789012:stream/in'; // the same name in another region: another stream
  const data = (streamArn: string | undefined, shardId: string) => ({ ...(streamArn ? { streamArn } : {}), shardId, parentShardIds: [], start: { type: 'TRIM_HORIZON' as const } });
  await s.table.ensure([data(removed, 'shardId-0'), data(removed, 'shardId-1'), data(resting, 'shardId-0'), data(undefined, 'shardId-0'), data(undefined, 'shardId-1')]);
  expect(s.table.jobs.has('shardId-0')).toBe(true); // a job of the single-stream layout: its id is the bare shard id
  // A worker holds one lease of the removed stream: it stays until the worker ends it.
  const worker = s.table.worker('w1', 10_000);
  await worker.start(() => undefined);
  await worker.setCapacity(1);
  await worker.setCapacity(0);
  const [held] = [...worker.taken];
  expect(held.leaseKey).toBe(leaseKey(removed, 'shardId-0'));
  s.listed.shards = [shard('shardId-0', '0', MAX)];
  expect(await s.round([resting])).toEqual({ removed: 3, retried: 0 });
  expect([...s.table.jobs.keys()].sort()).toEqual([leaseKey(removed, 'shardId-0'), leaseKey(resting, 'shardId-0'), leaseKey(STREAM, 'shardId-0')].sort());
  expect(s.table.jobs.get(leaseKey(removed, 'shardId-0'))!.state).toBe('active');
  // Neither a removed stream's jobs nor the old layout's are reported as trimmed.
  expect(s.errors).toEqual([]);
  // Once its holder lets it go, the next round removes it too.
  await worker.release(held);
  expect(await s.round([resting])).toEqual({ removed: 1, retried: 0 });
  expect(s.table.jobs.has(leaseKey(removed, 'shardId-0'))).toBe(false);
});

test('writes nothing once the application\'s state is lost, after the listing or when recording the first shards', async () => {
  const s = setup();
  s.listed.shards = [shard('shardId-0', '0', MAX)];
  s.state.allows = false;
  await s.discovery.discover();
  expect(s.table.jobs.size).toBe(0);
  expect(s.initial.size).toBe(0);

  s.state.allows = true;
  s.state.recordAllowed = false;
  const checks = s.state.checks;
  await s.discovery.discover();
  expect(s.table.jobs.size).toBe(0);
  expect(s.state.checks - checks).toBe(2); // checked again, which reports the loss
});
