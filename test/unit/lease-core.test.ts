/**
 * The lease core on a fake clock (jest's fake timers drive Date, timers and the injected clock): the
 * lease's send deadline measured from the renewal's start, its queries that never change it, the
 * holder's outcomes (trimmed shards, retries), and fair-share arithmetic. The runner's hand-over is in shard-runner-hand-over.test.ts.
 */
import pino from 'pino';
import type { Shard } from '@aws-sdk/client-kinesis';
import type { InputStreamConfig, OutputStreamConfig } from '../../shared/config/app-config';
import type { CheckpointStore } from '../../shared/leases/checkpoint-store';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { initProcessMetrics } from '../../shared/metrics';
import { fairShareTarget } from '../../worker/leases/fair-share';
import { Lease, safetyMargin } from '../../worker/leases/lease';
import { AppKeys, leaseKey } from '../../shared/redis/keys';
import { LeaseHolder, STREAM_GONE_RETRY_MS, UNKNOWN_STREAM_RETRY_MS } from '../../worker/lease-holder';
import type { StreamContext } from '../../worker/input-streams';
import type { ReaderFactory } from '../../worker/reader-factory';
import type { ShardReader } from '../../worker/shard-reader';
import { passThroughTransform } from '../../worker/transform/pass-through-transform';
import { FakeSink } from '../support/fake-sink';
import { FakeCheckpoints } from '../support/fake-checkpoints';
import { preparerOf } from '../support/preparers';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const TIMEOUT = 10_000;
const OUTPUT = { maxBatchRecords: 500, maxRecordBytes: 1024 * 1024, partitionKey: { type: 'INPUT' }, maxBufferedRecords: 10_000 } as OutputStreamConfig;
const clock = () => Date.now();

const seq = (i: number) => `4959033827149025660855969253836157109592157598913${String(i).padStart(7, '0')}`;





beforeAll(() => initProcessMetrics({ role: 'test' }));
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('Lease on a fake clock', () => {
  it('stops sending a safety margin before Redis can expire the lock, counted from the renewal start', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock });
    const margin = safetyMargin(TIMEOUT);
    expect(margin).toBe(2000);
    jest.advanceTimersByTime(TIMEOUT - margin - 1);
    expect(lease.isLost).toBe(false);
    expect(lease.remainingMs).toBe(1);
    jest.advanceTimersByTime(1);
    expect(lease.isLost).toBe(true);
    expect(lease.lostReason).toMatch(/no lock renewal answered within 8000 ms/);
    lease.close();
  });

  it('a renewal extends from when it started, not from when it answered', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock });
    jest.advanceTimersByTime(3000);
    const startedAt = clock();
    jest.advanceTimersByTime(4000); // a slow answer
    lease.renewed(startedAt);
    expect(lease.sendDeadline).toBe(startedAt + TIMEOUT - 2000);
    jest.advanceTimersByTime(startedAt + 8000 - clock() - 1);
    expect(lease.isLost).toBe(false);
    jest.advanceTimersByTime(1);
    expect(lease.isLost).toBe(true);
    lease.close();
  });

  it('an older renewal answering late never moves the deadline back', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock });
    const first = clock();
    jest.advanceTimersByTime(2000);
    lease.renewed(clock());
    lease.renewed(first);
    expect(lease.sendDeadline).toBe(first + 2000 + 8000);
    lease.close();
  });

  it('aborts its signal at the deadline by itself, so a reader blocked in a long wait stops too', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock });
    jest.advanceTimersByTime(5000);
    lease.renewed(clock()); // deadline now 13 s
    jest.advanceTimersByTime(7999);
    expect(lease.signal.aborted).toBe(false);
    jest.advanceTimersByTime(2);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.isStopping).toBe(false);
  });

  it('a lost lease stays lost; a graceful stop is not a loss', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock });
    lease.stop();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.isLost).toBe(false);
    lease.lose('fenced');
    lease.renewed(clock() + 1000);
    expect(lease.isLost).toBe(true);
    expect(lease.lostReason).toBe('fenced');
  });
});

describe("Lease's queries do not change it", () => {
  // A clock of its own, apart from the timers: the watchdog fires only when the timers are moved.
  let now = 0;
  const manual = () => now;

  it('past the deadline isLost and lostReason say so, but only the watchdog loses the lease and aborts its signal', () => {
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock: manual });
    now = TIMEOUT - safetyMargin(TIMEOUT);
    expect(lease.isLost).toBe(true);
    expect(lease.lostReason).toMatch(/no lock renewal answered within 8000 ms/);
    expect(lease.remainingMs).toBe(0);
    expect(lease.signal.aborted).toBe(false);
    jest.advanceTimersByTime(TIMEOUT - safetyMargin(TIMEOUT) + 1);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.lostReason).toMatch(/no lock renewal answered within 8000 ms/);
  });

  it('a renewal that answers after the send deadline does not bring the lease back', () => {
    now = 0;
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock: manual });
    const started = 7000;
    now = 8500; // its answer came after the deadline, before the watchdog ran
    lease.renewed(started);
    expect(lease.isLost).toBe(true);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.sendDeadline).toBe(8000);
    lease.close();
  });

  it('before the deadline the queries answer from the last renewal start', () => {
    now = 0;
    const lease = new Lease(SHARD, 't', { timeoutMs: TIMEOUT, clock: manual, acquiredAt: -500 });
    now = 1000;
    expect([lease.isLost, lease.lostReason, lease.remainingMs, lease.sendDeadline]).toEqual([false, undefined, 6500, 7500]);
    lease.close();
  });
});

/** Resolves once `ready` holds, checking every turn of the event loop (at most 200 turns). */
async function waitUntil(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setImmediate(r));
  if (!ready()) throw new Error('the condition never held');
}

describe('LeaseHolder outcomes', () => {
  const data: LeaseJobData = { streamArn: STREAM, shardId: SHARD, parentShardIds: [], start: { type: 'TRIM_HORIZON' } };

  function holderSetup(readerError: Error, listed: string[] | Error, reader?: () => ShardReader) {
    const checkpoints = new FakeCheckpoints();
    checkpoints.stored = seq(7);
    const failing: ShardReader = { kind: 'POLLING', next: async () => Promise.reject(readerError), close: async () => undefined };
    // The worker reads one input stream; its context gives the lease its checkpoints, reader, lister and transform.
    const stream: StreamContext = {
      input: { stream: { arn: STREAM, name: 'in', account: '123456789012', region: 'us-east-1' } } as InputStreamConfig,
      keys: new AppKeys('test').stream(STREAM),
      checkpoints: checkpoints as unknown as CheckpointStore,
      readers: { create: reader ?? (() => failing) } as unknown as ReaderFactory,
      shards: { listShards: async () => (listed instanceof Error ? Promise.reject(listed) : listed.map((ShardId) => ({ ShardId }) as Shard)) },
      refetch: async () => undefined,
      preparer: preparerOf(passThroughTransform),
    };
    const uses = { acquired: [] as string[], released: 0 };
    const holder = new LeaseHolder({
      streams: {
        acquire: (arn) => (uses.acquired.push(arn), arn === STREAM ? stream : undefined),
        release: (context) => void (context === stream && (uses.released += 1)),
      },
      runner: { concurrency: 16, sink: new FakeSink(), deadLetters: { add: async () => undefined }, output: OUTPUT, counters: { recordsRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0 }, handOverMs: 1000, clock },
      workerId: 'w1',
      log,
    });
    return { holder, checkpoints, uses, lease: new Lease(leaseKey(STREAM, SHARD), 't', { timeoutMs: TIMEOUT, clock }) };
  }

  const notFound = () => Object.assign(new Error('Shard shardId-000000000001 in stream in under account 123456789012 does not exist'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });

  it('finishes a shard the stream no longer lists (trimmed past retention), with its metric', async () => {
    jest.useRealTimers();
    const { holder, checkpoints, lease } = holderSetup(notFound(), ['shardId-000000000002']);
    const metrics = initProcessMetrics({ role: 'test' });
    const before = (await metrics.shardsTrimmed.get()).values.reduce((a, v) => a + v.value, 0);
    expect(await holder.hold(lease, data)).toEqual({ type: 'finished' });
    expect(checkpoints.finished).toEqual([]);
    expect([...checkpoints.shards]).toEqual([SHARD]);
    const after = (await metrics.shardsTrimmed.get()).values.reduce((a, v) => a + v.value, 0);
    expect(after - before).toBe(1);
    lease.close();
  });

  it('retries later (with the failure count) when the shard is still listed or the listing fails', async () => {
    jest.useRealTimers();
    for (const listed of [[SHARD], new Error('ListShards failed')]) {
      const { holder, checkpoints, lease } = holderSetup(notFound(), listed);
      const outcome = await holder.hold(lease, { ...data, failures: 2 });
      expect(outcome).toMatchObject({ type: 'retry', failures: 3 });
      expect(checkpoints.finished).toBeUndefined();
      lease.close();
    }
  });

  it('completes at once a lease whose shard is finished already', async () => {
    jest.useRealTimers();
    const { holder, checkpoints, lease } = holderSetup(new Error('not read'), []);
    checkpoints.stored = 'SHARD_END';
    expect(await holder.hold(lease, data)).toEqual({ type: 'finished' });
    lease.close();
  });

  it('puts back, without counting a failure, a lease of a stream this worker does not read or of the single-stream layout', async () => {
    jest.useRealTimers();
    const other = 'arn:aws:kinesis:us-east-1:123456789012:stream/other';
    for (const streamArn of [other, undefined]) {
      const { holder, checkpoints, uses, lease } = holderSetup(new Error('not read'), [SHARD]);
      const { streamArn: _, ...legacy } = data;
      const outcome = await holder.hold(lease, streamArn === undefined ? { ...legacy, failures: 2 } : { ...data, streamArn, failures: 2 });
      expect(outcome).toEqual({ type: 'retry', delayMs: UNKNOWN_STREAM_RETRY_MS, failures: 2 });
      expect(uses).toEqual({ acquired: streamArn === undefined ? [] : [other], released: 0 });
      expect(checkpoints.shards.size).toBe(0);
      lease.close();
    }
  });

  it('forgets only its own runner: a hold that ends after the same lease was taken again leaves the new one\'s runner', async () => {
    jest.useRealTimers();
    const fails: Array<(err: Error) => void> = [];
    // Each reader waits until the test fails it: the first hold outlives the second's start.
    const waiting = (): ShardReader => ({ kind: 'POLLING', next: () => new Promise((_, reject) => fails.push(reject)), close: async () => undefined });
    const { holder, lease } = holderSetup(new Error('unused'), [SHARD], waiting);
    const again = new Lease(lease.leaseKey, 't2', { timeoutMs: TIMEOUT, clock });
    const firstHold = holder.hold(lease, data);
    await new Promise((r) => setImmediate(r));
    const secondHold = holder.hold(again, data);
    await waitUntil(() => fails.length === 2);
    const secondRunner = holder.runners.get(lease.leaseKey);
    fails[0](new Error('the first hold ends late'));
    await firstHold;
    expect(holder.runners.get(lease.leaseKey)).toBe(secondRunner);
    fails[1](new Error('the second hold ends'));
    await secondHold;
    expect(holder.runners.size).toBe(0);
    lease.close();
    again.close();
  });

  it('puts back, without counting a failure, a lease whose stream Kinesis no longer finds (deleted), and lets go of the stream', async () => {
    jest.useRealTimers();
    const { holder, checkpoints, uses, lease } = holderSetup(notFound(), notFound());
    expect(await holder.hold(lease, { ...data, failures: 1 })).toEqual({ type: 'retry', delayMs: STREAM_GONE_RETRY_MS, failures: 1 });
    expect(checkpoints.finished).toBeUndefined();
    expect(uses).toEqual({ acquired: [STREAM], released: 1 });
    expect(holder.runners.size).toBe(0);
    lease.close();
  });
});

describe('fair share', () => {
  it('sums to the shard count for every worker count, every worker computing alone from the same live set', () => {
    const wrong: string[] = [];
    for (let workers = 1; workers <= 40; workers++) {
      const live = Array.from({ length: workers }, (_, i) => `worker-${(i * 7919) % 1000}`);
      for (const shards of [0, 1, workers - 1, workers, workers + 1, 97, 2048]) {
        const total = live.reduce((sum, self) => sum + fairShareTarget(shards, live, self, Number.MAX_SAFE_INTEGER), 0);
        if (total !== shards) wrong.push(`${workers} workers, ${shards} shards: ${total}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a worker missing from the live set (its heartbeat not yet seen) counts itself in', () => {
    expect(fairShareTarget(10, ['a', 'b'], 'c', 100)).toBe(3);
  });
});
