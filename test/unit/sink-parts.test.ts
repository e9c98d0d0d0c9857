/**
 * The sink's parts, each alone on a fake clock (jest's fake timers drive the timers and the injected
 * clock): the bounded buffer and its reservations, the request picker (arrival order, key order, KPL
 * aggregates by output shard), the AIMD rate limiting, the flush policy (FIXED and ADAPTIVE), the retry
 * pause, and the reading of a PutRecords answer. The writer that ties them is tested in sink*.test.ts.
 */
import type { PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { ShardRanges } from '../../worker/sink/aggregation/shard-ranges';
import { FlushPolicy } from '../../worker/sink/flush-policy';
import { acceptedFlags, sortAnswer } from '../../worker/sink/put-answer';
import { AimdRateLimiting } from '../../worker/sink/rate-limiting';
import { RequestPicker } from '../../worker/sink/request-picker';
import { RetryPause } from '../../worker/sink/retry-pause';
import { SinkBuffer } from '../../worker/sink/sink-buffer';
import { WriteGroup, type SinkEntry } from '../../worker/sink/sink-entry';
import type { RecordOwner } from '../../worker/sink/sink-port';
import { track } from '../support/track';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const clock = () => performance.now();
const text = (e: SinkEntry) => Buffer.from(e.data).toString();

function entry(label: string, key = `k-${label}`, owner?: RecordOwner): SinkEntry {
  const data = Buffer.from(label);
  return { data, key, hashKey: partitionKeyHash(key), size: data.length + key.length, group: new WriteGroup(1), owner, attempts: 0 };
}

function bufferOf(labels: Array<string | [string, string]>, capacity = 100, owner?: RecordOwner): SinkBuffer {
  const buffer = new SinkBuffer(capacity);
  const entries = labels.map((l) => (Array.isArray(l) ? entry(l[0], l[1], owner) : entry(l, undefined, owner)));
  buffer.pending.push(...entries);
  buffer.added(entries.length, entries.reduce((n, e) => n + e.size, 0), owner);
  return buffer;
}

describe('SinkBuffer', () => {
  test('reserve waits while the buffer is full and goes on as records settle; room counts what is not settled', async () => {
    const buffer = bufferOf(['a', 'b', 'c'], 4);
    expect(buffer.room).toBe(1);
    await buffer.reserve(1);
    const waiting = track(buffer.reserve(2));
    await Promise.resolve();
    expect(waiting.done).toBe(false);
    buffer.settled(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(waiting.done).toBe(true);
  });

  test('a request larger than the whole buffer is let in once it is empty', async () => {
    const buffer = new SinkBuffer(10);
    await buffer.reserve(50);
  });

  test('taken and requeued records keep the byte count; requeued ones go to the front in order', () => {
    const buffer = bufferOf(['a', 'b', 'c']);
    const bytes = buffer.pendingBytes;
    const [a, b] = buffer.pending.splice(0, 2);
    buffer.taken([a, b]);
    expect(buffer.pendingBytes).toBe(bytes - a.size - b.size);
    buffer.requeue([a, b]);
    expect(buffer.pending.map(text)).toEqual(['a', 'b', 'c']);
    expect(buffer.pendingBytes).toBe(bytes);
  });

  test('a lost or abandoned owner\'s pending records are dropped; a new write by it is kept', () => {
    const owner = { isLost: false };
    const buffer = bufferOf(['a', 'b'], 100, owner);
    expect(buffer.dropGone()).toBe(0);
    buffer.abandon(owner);
    expect(buffer.dropGone()).toBe(2);
    expect(buffer.buffered).toBe(0);
    const again = entry('c', 'k', owner);
    buffer.pending.push(again);
    buffer.added(1, again.size, owner);
    expect(buffer.dropGone()).toBe(0);
    owner.isLost = true;
    expect(buffer.dropGone()).toBe(1);
  });

  test('empty() resolves once nothing is left unsettled', async () => {
    const buffer = bufferOf(['a']);
    const emptied = track(buffer.empty());
    expect(buffer.flushing).toBe(true);
    buffer.settled(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(emptied.done).toBe(true);
  });
});

describe('RequestPicker', () => {
  const limits = { maxRecords: 3, maxBytes: 1000 };

  test('NONE: arrival order, as many as a request holds', () => {
    const buffer = bufferOf(['a', 'b', 'c', 'd']);
    const picker = new RequestPicker({ ...limits, ordering: 'NONE' });
    expect(picker.take(buffer)!.members.map(text)).toEqual(['a', 'b', 'c']);
    expect(buffer.pending.map(text)).toEqual(['d']);
  });

  test('KEY: one request per key in flight, carrying its run in order; other keys fill the room; release frees the key', () => {
    const buffer = bufferOf([['a1', 'a'], ['b1', 'b'], ['a2', 'a'], ['c1', 'c']]);
    const picker = new RequestPicker(limits);
    const first = picker.take(buffer)!;
    expect(first.members.map(text)).toEqual(['a1', 'b1', 'a2']);
    buffer.pending.push(entry('a3', 'a'));
    // a and b are in flight: only c may go.
    expect(picker.take(buffer)!.members.map(text)).toEqual(['c1']);
    expect(picker.take(buffer)).toBeUndefined();
    picker.release(first.members);
    expect(picker.take(buffer)!.members.map(text)).toEqual(['a3']);
  });

  test('KPL: records packed into aggregates by output shard, each entry placed inside its shard', () => {
    const half = 1n << 127n;
    const ranges = new ShardRanges([
      { ShardId: 'shardId-0', HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(half - 1n) }, SequenceNumberRange: { StartingSequenceNumber: '0' } },
      { ShardId: 'shardId-1', HashKeyRange: { StartingHashKey: String(half), EndingHashKey: String((1n << 128n) - 1n) }, SequenceNumberRange: { StartingSequenceNumber: '0' } },
    ]);
    const buffer = bufferOf(Array.from({ length: 8 }, (_, i) => [`r${i}`, `key-${i}`] as [string, string]), 100);
    const picker = new RequestPicker({ maxRecords: 500, maxBytes: 5_000_000, maxAggregateBytes: 51_200 });
    const request = picker.take(buffer, ranges)!;
    expect(request.members).toHaveLength(8);
    expect(request.shardIds!.length).toBe(request.entries.length);
    for (let i = 0; i < request.entries.length; i++) {
      const members = request.members.slice(request.starts![i], request.starts![i + 1]);
      const shard = request.shardIds![i];
      expect(members.every((m) => (m.hashKey < half ? 'shardId-0' : 'shardId-1') === shard)).toBe(true);
    }
  });
});

describe('AimdRateLimiting', () => {
  test('halves on throttling (never below one), adds one per accepted request up to the maximum, one while failing', () => {
    const aimd = new AimdRateLimiting(10);
    expect([aimd.limit, aimd.pushedBack]).toEqual([10, false]);
    aimd.throttled();
    aimd.throttled();
    expect([aimd.limit, aimd.pushedBack]).toEqual([2, true]);
    aimd.throttled();
    aimd.throttled();
    expect(aimd.limit).toBe(1);
    for (let i = 0; i < 20; i++) aimd.accepted();
    expect(aimd.limit).toBe(10);
    aimd.failing();
    expect(aimd.limit).toBe(1);
  });
});

describe('FlushPolicy', () => {
  function context(pending: number, inFlight = 0) {
    const pumps: boolean[] = [];
    const ctx = { pendingCount: pending, inFlight, limiter: new AimdRateLimiting(4), pump: (eager: boolean) => void pumps.push(eager) };
    return { ctx, pumps };
  }

  test('FIXED: a partial request waits for the linger, then may go', async () => {
    const { ctx, pumps } = context(3);
    const policy = new FlushPolicy('FIXED', 100, ctx);
    policy.recordsWaiting();
    policy.written(3);
    expect(policy.partialMayGo(false, false)).toBe(false);
    await jest.advanceTimersByTimeAsync(99);
    expect(pumps).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(pumps).toEqual([false]);
    expect(policy.partialMayGo(false, false)).toBe(true);
    policy.emptied();
    expect(policy.partialMayGo(false, false)).toBe(false);
    policy.close();
  });

  test('ADAPTIVE: at the end of the turn a partial request goes on an idle sink, not while another partial one is out', async () => {
    const idle = context(2);
    const adaptive = new FlushPolicy('ADAPTIVE', 1000, idle.ctx);
    adaptive.written(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(idle.pumps).toEqual([true]);
    adaptive.close();

    const busy = context(2, 1);
    const nagle = new FlushPolicy('ADAPTIVE', 1000, busy.ctx);
    nagle.sent(true); // a partial request is out
    nagle.written(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(busy.pumps).toEqual([]);
    nagle.answered(true);
    nagle.acceptedWhole(); // its answer: what gathered goes
    await jest.advanceTimersByTimeAsync(0);
    expect(busy.pumps).toEqual([true]);
    nagle.close();
  });

  test('a flush or an ended retry pause lets every partial request go', () => {
    const { ctx } = context(1);
    const policy = new FlushPolicy('FIXED', 10_000, ctx);
    expect(policy.partialMayGo(false, true)).toBe(true);
    policy.expire();
    expect(policy.partialMayGo(false, false)).toBe(true);
    policy.close();
  });
});

describe('RetryPause', () => {
  test('one step per burst, growing; the end is told; a whole request starts the backoff over', async () => {
    const ended: number[] = [];
    const pause = new RetryPause(clock, () => void ended.push(clock()));
    const policy = { baseMs: 100, maxMs: 10_000 };
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    pause.stepOncePerBurst(policy);
    const first = clock();
    pause.stepOncePerBurst(policy); // same burst: no second step
    expect(pause.active).toBe(true);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(pause.active).toBe(false);
    expect(ended).toHaveLength(1);
    const firstMs = ended[0] - first;
    pause.stepOncePerBurst(policy);
    const second = clock();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(ended[1] - second).toBeGreaterThan(firstMs);
    pause.reset();
    pause.step(policy);
    const third = clock();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(ended[2] - third).toBe(firstMs);
    pause.close();
    jest.restoreAllMocks();
  });
});

describe('sortAnswer', () => {
  test('acknowledges accepted entries by range, re-sends refused ones in order, marks throttling', () => {
    const members = ['a', 'b', 'c'].map((l) => entry(l));
    const request = { entries: members.map((m) => ({ Data: m.data, PartitionKey: m.key })), members };
    const results: PutRecordsResultEntry[] = [{ SequenceNumber: '1', ShardId: 's' }, { ErrorCode: 'ProvisionedThroughputExceededException' }, { SequenceNumber: '2', ShardId: 's' }];
    const acked: Array<[number, number]> = [];
    const answer = sortAnswer(request, { failedCount: 1, entries: results }, (start, end) => void acked.push([start, end]));
    expect(acked).toEqual([[0, 1], [2, 3]]);
    expect(answer.retry.map(text)).toEqual(['b']);
    expect(answer.throttled).toBe(true);
    expect(acceptedFlags({ failedCount: 1, entries: results }, 3)).toEqual([true, false, true]);
  });

  test('with KPL, an aggregate accepted on another shard than predicted is set apart', () => {
    const members = ['a', 'b'].map((l) => entry(l));
    const request = { entries: [{ Data: Buffer.from('agg'), PartitionKey: 'a' }], members, starts: [0, 2], shardIds: ['shardId-0'] };
    const answer = sortAnswer(request, { failedCount: 0, entries: [{ SequenceNumber: '1', ShardId: 'shardId-7' }] }, () => {
      throw new Error('not acknowledged where it landed');
    });
    expect(answer.elsewhere).toEqual([{ members, shardId: 'shardId-7' }]);
  });
});
