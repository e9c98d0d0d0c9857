import pino from 'pino';
import type { RecordPutter, Shard, ShardLister } from '../../shared/aws/kinesis-gateway';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { ShardRanges } from '../../worker/sink/aggregation/shard-ranges';
import { theirDeaggregate } from '../support/kinesis-agg';
import type { OutputRecord } from '../../shared/records';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { isFullBatch, nextBatchLength, nextOrderedBatch, recordSize } from '../../worker/sink/batch-packer';
import { overtakenEntries } from '../../worker/sink/key-order';
import { KinesisSink, sinkSettings, type SinkSettings } from '../../worker/sink/kinesis-sink';
import { track } from '../support/track';
import { FakePutter } from '../support/fake-putter';

const log = pino({ level: 'silent' });
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/out';
const MiB = 1024 * 1024;

// ---- helpers ------------------------------------------------------------------------------------

function rec(label: string, partitionKey = `pk-${label}`): OutputRecord {
  return { partitionKey, data: Buffer.from(label, 'utf8') };
}

function recs(...labels: string[]): OutputRecord[] {
  return labels.map((l) => rec(l));
}

function awsError(name: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $metadata: { httpStatusCode } });
}

/** Tracks whether a promise has settled, without a sleep. */

/**
 * Most sink tests run on jest's fake clock: Date.now() and the timers move together, so the retry
 * pause is exact and a test never depends on how fast the machine is.
 */
let fakeClock = false;

function useFakeClock(): void {
  jest.useFakeTimers();
  fakeClock = true;
}

/** Waits until `cond` holds, failing after a deadline (fake milliseconds on the fake clock). */
async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  if (fakeClock) {
    for (let waited = 0; !cond(); waited += 1) {
      if (waited >= timeoutMs) throw new Error(`timed out after ${timeoutMs} fake ms waiting for ${what}`);
      await jest.advanceTimersByTimeAsync(1);
    }
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Waits for a promise with a deadline (driving the fake clock when it is on). */
async function finish<T>(promise: Promise<T>, what = 'the promise'): Promise<T> {
  const state = track(promise);
  await until(() => state.done, what);
  if (state.error !== undefined) throw state.error;
  return state.value as T;
}

/** Lets queued callbacks run, without letting time pass (not a wait for time to pass). */
async function drain(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (fakeClock) await jest.advanceTimersByTimeAsync(0);
    else await new Promise((r) => setImmediate(r));
  }
}

const sinks: KinesisSink[] = [];

function makeSink(putter: RecordPutter, overrides: Partial<SinkSettings> = {}): KinesisSink {
  const settings: SinkSettings = {
    maxRecords: 500,
    maxBytes: 5 * MiB,
    lingerMs: 60_000,
    // These tests pin when a partial batch goes by the fixed linger; ADAPTIVE has test/unit/sink-linger.test.ts.
    flushMode: 'FIXED',
    maxInFlightRequests: 50,
    maxBufferedRecords: 10_000,
    // The packing tests reuse partition keys; per-key ordering has its own tests below.
    ordering: 'NONE',
    backoff: { baseMs: 1, maxMs: 5 },
    ...overrides,
  };
  const sink = new KinesisSink(putter, ARN, settings, log);
  sinks.push(sink);
  return sink;
}

afterEach(() => {
  for (const sink of sinks.splice(0)) sink.close();
  jest.useRealTimers();
  fakeClock = false;
  jest.restoreAllMocks();
});

// ---- batch-packer --------------------------------------------------------------------------------

describe('batch-packer', () => {
  const sized = (...sizes: number[]) => sizes.map((size) => ({ size }));
  const limits = { maxRecords: 500, maxBytes: 5 * MiB };

  it('recordSize counts data bytes plus UTF-8 partition key bytes', () => {
    expect(recordSize('abc', new Uint8Array(10))).toBe(13);
    expect(recordSize('é', new Uint8Array(0))).toBe(2);
    expect(recordSize('🚀', Buffer.from('x'))).toBe(5);
    expect(recordSize('', new Uint8Array(7))).toBe(7);
  });

  it('returns 0 for nothing pending', () => {
    expect(nextBatchLength([], limits)).toBe(0);
  });

  it('takes at most 500 records', () => {
    expect(nextBatchLength(sized(...new Array(1200).fill(10)), limits)).toBe(500);
    expect(nextBatchLength(sized(...new Array(500).fill(10)), limits)).toBe(500);
    expect(nextBatchLength(sized(...new Array(499).fill(10)), limits)).toBe(499);
  });

  it('honours a smaller record limit', () => {
    expect(nextBatchLength(sized(1, 1, 1, 1), { maxRecords: 3, maxBytes: 100 })).toBe(3);
  });

  it('stops before the entry that would exceed 5 MiB', () => {
    expect(nextBatchLength(sized(2 * MiB, 2 * MiB, 2 * MiB), limits)).toBe(2);
    expect(nextBatchLength(sized(2 * MiB, 3 * MiB, 1), limits)).toBe(2); // exactly 5 MiB fits
    expect(nextBatchLength(sized(2 * MiB, 3 * MiB + 1, 1), limits)).toBe(1);
  });

  it('does not skip a large entry to pack a later small one', () => {
    expect(nextBatchLength(sized(4 * MiB, 2 * MiB, 1, 1), limits)).toBe(1);
  });

  it('lets a single oversized first entry form a batch of one', () => {
    expect(nextBatchLength(sized(6 * MiB), limits)).toBe(1);
    expect(nextBatchLength(sized(6 * MiB, 1, 1), limits)).toBe(1);
    expect(nextBatchLength(sized(1, 6 * MiB), limits)).toBe(1);
  });

  it('counts bytes by the size field (data plus key)', () => {
    const entries = [{ size: recordSize('kk', new Uint8Array(49)) }, { size: recordSize('kk', new Uint8Array(49)) }, { size: 1 }];
    expect(nextBatchLength(entries, { maxRecords: 500, maxBytes: 102 })).toBe(2);
    expect(nextBatchLength(entries, { maxRecords: 500, maxBytes: 101 })).toBe(1);
  });

  describe('nextOrderedBatch (one request per key)', () => {
    const keyed = (...specs: Array<[string, number]>) => specs.map(([key, size]) => ({ key, size }));

    it("takes a key's whole run in order, with other keys in between", () => {
      expect(nextOrderedBatch(keyed(['a', 1], ['a', 1], ['b', 1], ['a', 1]), limits, new Set())).toEqual([0, 1, 2, 3]);
    });

    it('skips every entry of a key in flight', () => {
      expect(nextOrderedBatch(keyed(['a', 1], ['b', 1], ['a', 1], ['c', 1]), limits, new Set(['a']))).toEqual([1, 3]);
    });

    it('stops at the record limit', () => {
      const hot = Array.from({ length: 1200 }, () => ({ key: 'hot', size: 10 }));
      expect(nextOrderedBatch(hot, limits, new Set())).toEqual(Array.from({ length: 500 }, (_, i) => i));
    });

    it("cuts a key's run at the first entry that does not fit, even when a later one of that key would", () => {
      const entries = keyed(['a', 3 * MiB], ['a', 3 * MiB], ['a', 1], ['b', 1 * MiB], ['b', 1]);
      expect(nextOrderedBatch(entries, limits, new Set())).toEqual([0, 3, 4]);
    });

    it('lets a single oversized entry go alone', () => {
      expect(nextOrderedBatch(keyed(['a', 6 * MiB], ['b', 1]), limits, new Set())).toEqual([0]);
    });
  });

  describe('overtakenEntries', () => {
    it('finds a refused entry followed by an accepted entry of its key', () => {
      expect(overtakenEntries(['a', 'a', 'a'], [true, false, true])).toEqual([1]);
      expect(overtakenEntries(['a', 'b', 'a', 'b'], [false, false, true, false])).toEqual([0]);
    });

    it('finds nothing for a refused suffix, all refused, all accepted, or other keys accepted later', () => {
      expect(overtakenEntries(['a', 'a', 'a'], [true, false, false])).toEqual([]);
      expect(overtakenEntries(['a', 'a'], [false, false])).toEqual([]);
      expect(overtakenEntries(['a', 'a'], [true, true])).toEqual([]);
      expect(overtakenEntries(['a', 'b'], [false, true])).toEqual([]);
    });
  });

  it('isFullBatch is true at the record limit or the byte limit', () => {
    expect(isFullBatch(499, 100, limits)).toBe(false);
    expect(isFullBatch(500, 100, limits)).toBe(true);
    expect(isFullBatch(501, 100, limits)).toBe(true);
    expect(isFullBatch(1, 5 * MiB - 1, limits)).toBe(false);
    expect(isFullBatch(1, 5 * MiB, limits)).toBe(true);
    expect(isFullBatch(0, 0, limits)).toBe(false);
  });
});

// ---- sinkSettings ----------------------------------------------------------------------------------

describe('sinkSettings', () => {
  it('maps the output configuration', () => {
    const output = {
      maxBatchRecords: 100,
      maxBatchBytes: 2 * MiB,
      maxRecordBytes: MiB,
      lingerMs: 250,
      flushMode: 'FIXED',
      maxInFlightRequests: 7,
      maxBufferedRecords: 900,
    } as OutputStreamConfig;
    expect(sinkSettings(output)).toEqual({ maxRecords: 100, maxBytes: 2 * MiB, lingerMs: 250, flushMode: 'FIXED', maxInFlightRequests: 7, maxBufferedRecords: 900 });
  });
});

// ---- KinesisSink -------------------------------------------------------------------------------------

describe('KinesisSink: flushing', () => {
  beforeEach(useFakeClock);

  it('sends a full batch at once, without waiting for the linger time', () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 3, lingerMs: 60_000 });
    void sink.write(recs('a', 'b'));
    expect(putter.calls).toHaveLength(0);
    void sink.write(recs('c'));
    expect(putter.calls).toHaveLength(1);
    expect(putter.calls[0].arn).toBe(ARN);
    expect(putter.calls[0].entries.map((e) => e.PartitionKey)).toEqual(['pk-a', 'pk-b', 'pk-c']);
    expect(putter.labels(0)).toEqual(['a', 'b', 'c']);
  });

  it('splits a large write into full batches and keeps the remainder lingering', () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 3 });
    void sink.write(recs('1', '2', '3', '4', '5', '6', '7'));
    expect(putter.allLabels()).toEqual([
      ['1', '2', '3'],
      ['4', '5', '6'],
    ]);
    expect(sink.buffered).toBe(7);
  });

  it('sends at once when the bytes (data plus UTF-8 partition keys) fill a request', () => {
    const putter = new FakePutter();
    // Each record: 6 data bytes + 4 key bytes ("éé") = 10 bytes.
    const sink = makeSink(putter, { maxBytes: 20 });
    void sink.write([{ partitionKey: 'éé', data: Buffer.from('aaaaaa') }]);
    expect(putter.calls).toHaveLength(0);
    void sink.write([{ partitionKey: 'éé', data: Buffer.from('bbbbbb') }]);
    expect(putter.allLabels()).toEqual([['aaaaaa', 'bbbbbb']]);
  });

  it('does not count the partition key as one byte per character', () => {
    const putter = new FakePutter();
    // 6 data bytes + "éé" (2 characters, 4 bytes): two records are 20 bytes, over a 19-byte limit.
    const sink = makeSink(putter, { maxBytes: 19 });
    void sink.write([
      { partitionKey: 'éé', data: Buffer.from('aaaaaa') },
      { partitionKey: 'éé', data: Buffer.from('bbbbbb') },
    ]);
    expect(putter.allLabels()).toEqual([['aaaaaa']]);
  });

  it('sends a single record larger than the byte limit alone', () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxBytes: 10 });
    void sink.write([rec('x'.repeat(50))]);
    expect(putter.calls).toHaveLength(1);
    expect(putter.calls[0].entries).toHaveLength(1);
  });

  it('sends a partial batch once the linger time has passed (fake timers)', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => call.succeed();
    const sink = makeSink(putter, { maxRecords: 10, lingerMs: 1000 });
    const written = track(sink.write(recs('a', 'b')));
    await jest.advanceTimersByTimeAsync(600);
    void sink.write(recs('c')); // does not restart the linger period
    await jest.advanceTimersByTimeAsync(399);
    expect(putter.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(putter.allLabels()).toEqual([['a', 'b', 'c']]);
    await jest.advanceTimersByTimeAsync(0);
    expect(written.done).toBe(true);
    expect(sink.buffered).toBe(0);
  });

  it('starts a new linger period for the next record after a send (fake timers)', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => call.succeed();
    const sink = makeSink(putter, { maxRecords: 10, lingerMs: 1000 });
    void sink.write(recs('a'));
    await jest.advanceTimersByTimeAsync(1000);
    expect(putter.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(5000);
    void sink.write(recs('b'));
    await jest.advanceTimersByTimeAsync(999);
    expect(putter.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(putter.allLabels()).toEqual([['a'], ['b']]);
  });

  it('flush() sends everything buffered and resolves only when all is acknowledged', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 2, lingerMs: 60_000 });
    const write1 = track(sink.write(recs('a', 'b', 'c')));
    expect(putter.calls).toHaveLength(1); // a, b (full); c lingers
    const flushed = track(sink.flush());
    expect(putter.allLabels()).toEqual([['a', 'b'], ['c']]);
    putter.calls[1].succeed();
    await drain();
    expect(flushed.done).toBe(false);
    expect(write1.done).toBe(false);
    putter.calls[0].succeed();
    await until(() => flushed.done, 'flush');
    expect(write1.done).toBe(true);
    expect(sink.buffered).toBe(0);
    expect(sink.stats).toMatchObject({ recordsWritten: 3, requests: 2, retriedRecords: 0, throttledRecords: 0, failedRequests: 0, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 });
  });

  it('flush() with nothing buffered resolves at once', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter);
    await finish(sink.flush());
    expect(putter.calls).toHaveLength(0);
  });

  it('several flush() callers are all resolved', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => setImmediate(() => call.succeed());
    const sink = makeSink(putter);
    void sink.write(recs('a'));
    await finish(Promise.all([sink.flush(), sink.flush(), sink.flush()]));
    expect(putter.allLabels()).toEqual([['a']]);
  });

  it('write() of no records resolves at once and sends nothing', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { lingerMs: 0 });
    await finish(sink.write([]));
    await finish(sink.flush());
    expect(putter.calls).toHaveLength(0);
    expect(sink.buffered).toBe(0);
  });

  it('write() after close() throws', () => {
    const sink = makeSink(new FakePutter());
    sink.close();
    expect(() => sink.write(recs('a'))).toThrow('sink is closed');
  });

  it('resolves each write() when its own records are acknowledged', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 2 });
    const w1 = track(sink.write(recs('a')));
    const w2 = track(sink.write(recs('b', 'c', 'd')));
    expect(putter.allLabels()).toEqual([['a', 'b'], ['c', 'd']]);
    putter.calls[0].succeed();
    await until(() => w1.done, 'the first write');
    expect(w2.done).toBe(false);
    putter.calls[1].succeed();
    await until(() => w2.done, 'the second write');
  });
});

describe('KinesisSink: retries', () => {
  beforeEach(useFakeClock);

  it('re-sends only the failed entries of a partial failure, and write() waits for them', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 4 });
    const written = track(sink.write(recs('a', 'b', 'c', 'd')));
    expect(putter.calls).toHaveLength(1);
    putter.calls[0].reply([undefined, 'InternalFailure', undefined, 'InternalFailure']);
    await until(() => putter.calls.length === 2, 'the retry request');
    expect(putter.labels(1)).toEqual(['b', 'd']);
    expect(putter.calls[1].entries.map((e) => e.PartitionKey)).toEqual(['pk-b', 'pk-d']);
    expect(written.done).toBe(false);
    expect(sink.buffered).toBe(2);
    expect(sink.stats).toMatchObject({ recordsWritten: 2, retriedRecords: 2, throttledRecords: 0, requests: 2, failedRequests: 0 });

    putter.calls[1].succeed();
    await until(() => written.done, 'the write');
    expect(written.error).toBeUndefined();
    expect(putter.calls).toHaveLength(2);
    expect(sink.buffered).toBe(0);
    expect(sink.stats).toMatchObject({ recordsWritten: 4, retriedRecords: 2, throttledRecords: 0, requests: 2, failedRequests: 0 });
  });

  it('counts throttled entries of a partial failure', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => (i === 0 ? call.reply(['ProvisionedThroughputExceededException', undefined, 'ProvisionedThroughputExceededException']) : call.succeed());
    const sink = makeSink(putter, { maxRecords: 3 });
    await finish(sink.write(recs('a', 'b', 'c')));
    expect(putter.allLabels()).toEqual([['a', 'b', 'c'], ['a', 'c']]);
    expect(sink.stats).toMatchObject({ recordsWritten: 3, retriedRecords: 2, throttledRecords: 2, requests: 2, failedRequests: 0 });
  });

  it('keeps re-sending until every entry succeeds', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => {
      if (i === 0) call.reply(['InternalFailure', 'InternalFailure', undefined]);
      else if (i === 1) call.reply([undefined, 'InternalFailure']);
      else call.succeed();
    };
    const sink = makeSink(putter, { maxRecords: 3 });
    await finish(sink.write(recs('a', 'b', 'c')));
    expect(putter.allLabels()).toEqual([['a', 'b', 'c'], ['a', 'b'], ['b']]);
    expect(sink.stats).toMatchObject({ recordsWritten: 3, retriedRecords: 3, requests: 3 });
  });

  it('retries an entry whose result is missing from the response', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => {
      if (i === 0) call.resolveWith({ failedCount: 0, entries: [{ SequenceNumber: '1' }] });
      else call.succeed();
    };
    const sink = makeSink(putter, { maxRecords: 2 });
    await finish(sink.write(recs('a', 'b')));
    expect(putter.allLabels()).toEqual([['a', 'b'], ['b']]);
    expect(sink.stats.recordsWritten).toBe(2);
  });

  it('retries the whole batch when PutRecords throws a throttling error', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => (i === 0 ? call.fail(awsError('ProvisionedThroughputExceededException', 400)) : call.succeed());
    const sink = makeSink(putter, { maxRecords: 3 });
    await finish(sink.write(recs('a', 'b', 'c')));
    expect(putter.allLabels()).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
    expect(sink.stats).toMatchObject({ recordsWritten: 3, requests: 2, failedRequests: 1, retriedRecords: 3, throttledRecords: 3 });
  });

  it('retries the whole batch on a transient error without counting it as throttling', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => (i < 2 ? call.fail(awsError('InternalFailure', 500)) : call.succeed());
    const sink = makeSink(putter, { maxRecords: 2 });
    await finish(sink.write(recs('a', 'b')));
    expect(putter.allLabels()).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b']]);
    expect(sink.stats).toMatchObject({ recordsWritten: 2, requests: 3, failedRequests: 2, retriedRecords: 4, throttledRecords: 0 });
  });

  it('re-sends failed entries before newer ones', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 2, maxInFlightRequests: 1 });
    const all = sink.write(recs('a', 'b'));
    const later = sink.write(recs('c', 'd', 'e'));
    expect(putter.allLabels()).toEqual([['a', 'b']]); // one request in flight at most
    putter.calls[0].reply([undefined, 'InternalFailure']);
    await until(() => putter.calls.length === 2, 'the second request');
    expect(putter.labels(1)).toEqual(['b', 'c']);
    putter.calls[1].succeed();
    await until(() => putter.calls.length === 3, 'the third request');
    expect(putter.labels(2)).toEqual(['d', 'e']);
    putter.calls[2].succeed();
    await finish(Promise.all([all, later]));
    const sent = putter.allLabels().flat();
    expect(sent).toEqual(['a', 'b', 'b', 'c', 'd', 'e']);
  });

  it('keeps the original order of several failed entries when re-sending them', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 5, maxInFlightRequests: 1 });
    void sink.write(recs('a', 'b', 'c', 'd', 'e'));
    void sink.write(recs('f'));
    putter.calls[0].reply(['InternalFailure', undefined, 'InternalFailure', undefined, 'InternalFailure']);
    await until(() => putter.calls.length === 2, 'the retry request');
    expect(putter.labels(1)).toEqual(['a', 'c', 'e', 'f']);
  });

  it('waits for the retried entries when flush() is called during a retry', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => (i === 0 ? call.reply(['InternalFailure', undefined]) : setImmediate(() => call.succeed()));
    const sink = makeSink(putter, { maxRecords: 2 });
    const written = track(sink.write(recs('a', 'b')));
    await finish(sink.flush());
    expect(written.done).toBe(true);
    expect(sink.buffered).toBe(0);
    expect(putter.allLabels()).toEqual([['a', 'b'], ['a']]);
    expect(sink.stats.recordsWritten).toBe(2);
  });
});

describe('KinesisSink: concurrency and backpressure', () => {
  beforeEach(useFakeClock);

  it('never has more than maxInFlightRequests requests outstanding', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 1, maxInFlightRequests: 2 });
    const written = track(sink.write(recs('1', '2', '3', '4', '5')));
    expect(putter.calls).toHaveLength(2);
    expect(putter.active).toBe(2);

    putter.calls[0].succeed();
    await until(() => putter.calls.length === 3, 'the third request');
    expect(putter.active).toBe(2);

    putter.calls[1].succeed();
    putter.calls[2].succeed();
    await until(() => putter.calls.length === 5, 'the fifth request');
    expect(putter.active).toBe(2);

    for (const call of putter.open()) call.succeed();
    await until(() => written.done, 'the write');
    expect(putter.maxActive).toBe(2);
    expect(putter.allLabels()).toEqual([['1'], ['2'], ['3'], ['4'], ['5']]);
  });

  it('respects maxInFlightRequests = 1 under a steady load', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => setImmediate(() => call.succeed());
    const sink = makeSink(putter, { maxRecords: 3, maxInFlightRequests: 1, lingerMs: 0 });
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(sink.write(recs(`r${i}`)));
    await finish(Promise.all(writes));
    await finish(sink.flush());
    expect(putter.maxActive).toBe(1);
    expect(putter.allLabels().flat()).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
  });

  it('halves the requests in flight when throttled and grows them back by one per accepted request (AIMD)', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 1, maxInFlightRequests: 8, lingerMs: 0 });
    const labels = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const written = track(sink.write(recs(...labels)));
    expect(putter.active).toBe(8);
    // One burst of eight throttled answers: the limit halves once per answer, down to 1, and the
    // burst counts as one backoff step.
    expect(sink.congested).toBe(false);
    for (const call of putter.open()) call.reply(['ProvisionedThroughputExceededException']);
    await drain();
    expect(sink.requestLimit).toBe(1);
    expect(sink.congested).toBe(true);
    await until(() => putter.active === 1, 'one request after the pause');
    await drain();
    expect(putter.active).toBe(1);
    // Accepted answers add one each: 1 -> 2 -> 3.
    putter.open()[0].succeed();
    await until(() => putter.active === 2, 'two requests in flight');
    for (const call of putter.open()) call.succeed();
    await until(() => sink.requestLimit === 4, 'the limit grown to 4');
    putter.auto = (call) => setImmediate(() => call.succeed());
    for (const call of putter.open()) call.succeed();
    await until(() => written.done, 'the write');
    expect(sink.requestLimit).toBe(8);
    expect(sink.congested).toBe(false);
    expect(putter.allLabels().flat().filter((l, i, all) => all.indexOf(l) === i).sort()).toEqual([...labels].sort());
  });

  it('room is what the buffer takes before reserve() waits', () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxBufferedRecords: 4 });
    expect(sink.room).toBe(4);
    void sink.write(recs('a', 'b', 'c'));
    expect(sink.room).toBe(1);
    void sink.write(recs('d', 'e'));
    expect(sink.room).toBe(0);
  });

  it('reserve() resolves at once while there is room', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxBufferedRecords: 4 });
    await finish(sink.reserve(4));
    void sink.write(recs('a', 'b'));
    await finish(sink.reserve(2));
    expect(sink.buffered).toBe(2);
  });

  it('reserve() waits while the buffer is full and resolves once acknowledgements free room', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 2, maxBufferedRecords: 4 });
    void sink.write(recs('a', 'b', 'c', 'd'));
    expect(putter.calls).toHaveLength(2);
    expect(sink.buffered).toBe(4);

    const one = track(sink.reserve(1));
    const three = track(sink.reserve(3));
    await drain();
    expect(one.done).toBe(false);
    expect(three.done).toBe(false);

    putter.calls[0].succeed();
    await until(() => one.done, 'reserve(1)');
    expect(sink.buffered).toBe(2);
    await drain();
    expect(three.done).toBe(false); // 2 + 3 > 4

    putter.calls[1].succeed();
    await until(() => three.done, 'reserve(3)');
    expect(sink.buffered).toBe(0);
  });

  it('reserve() stays blocked while failed entries wait to be re-sent', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 2, maxBufferedRecords: 2 });
    void sink.write(recs('a', 'b'));
    const room = track(sink.reserve(1));
    putter.calls[0].reply(['InternalFailure', 'InternalFailure']);
    await until(() => putter.calls.length === 2, 'the retry');
    expect(room.done).toBe(false);
    expect(sink.buffered).toBe(2);
    putter.calls[1].reply([undefined, 'InternalFailure']);
    await until(() => putter.calls.length === 3, 'the second retry');
    await until(() => room.done, 'reserve(1) after one acknowledgement');
    expect(sink.buffered).toBe(1);
  });

  it('reserve() lets a request larger than the whole buffer in once the buffer is empty', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 1, maxBufferedRecords: 2 });
    await finish(sink.reserve(10));
    void sink.write(recs('a'));
    const big = track(sink.reserve(10));
    await drain();
    expect(big.done).toBe(false);
    putter.calls[0].succeed();
    await until(() => big.done, 'reserve(10)');
  });

  it('reserve() returns when its signal aborts', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 1, maxBufferedRecords: 1 });
    void sink.write(recs('a'));
    const controller = new AbortController();
    const room = track(sink.reserve(1, controller.signal));
    await drain();
    expect(room.done).toBe(false);
    controller.abort();
    await until(() => room.done, 'the aborted reserve');
    expect(sink.buffered).toBe(1);
  });

  it('reserve() with an already aborted signal returns at once', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { maxRecords: 1, maxBufferedRecords: 1 });
    void sink.write(recs('a'));
    await finish(sink.reserve(1, AbortSignal.abort()));
    expect(sink.buffered).toBe(1);
  });
});

describe('KinesisSink: stats', () => {
  beforeEach(useFakeClock);

  it('counts requests, records and bytes written', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => call.succeed();
    const sink = makeSink(putter, { maxRecords: 2 });
    const writes = [sink.write([rec('abc', 'k1'), rec('de', 'k22')]), sink.write([rec('f', 'é')])];
    await finish(sink.flush());
    await finish(Promise.all(writes));
    expect(putter.allLabels()).toEqual([['abc', 'de'], ['f']]);
    // (3 + 2) + (2 + 3) + (1 + 2)
    expect(sink.stats).toEqual({ recordsWritten: 3, bytesWritten: 13, requests: 2, retriedRecords: 0, throttledRecords: 0, failedRequests: 0, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 });
  });

  it('counts a retried entry once per retry', async () => {
    const putter = new FakePutter();
    putter.auto = (call, i) => {
      if (i === 0) call.fail(awsError('ThrottlingException', 400));
      else if (i === 1) call.reply(['ProvisionedThroughputExceededException', undefined]);
      else call.succeed();
    };
    const sink = makeSink(putter, { maxRecords: 2 });
    await finish(sink.write(recs('a', 'b')));
    expect(putter.allLabels()).toEqual([['a', 'b'], ['a', 'b'], ['a']]);
    expect(sink.stats).toEqual({ recordsWritten: 2, bytesWritten: 2 + 2 * 'pk-a'.length, requests: 3, retriedRecords: 3, throttledRecords: 3, failedRequests: 1, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 });
  });
});

describe('KinesisSink: lingering on real timers', () => {
  it('sends a partial batch after a short linger time (real timers)', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => call.succeed();
    const sink = makeSink(putter, { maxRecords: 10, lingerMs: 20 });
    const started = Date.now();
    const written = track(sink.write(recs('a', 'b')));
    expect(putter.calls).toHaveLength(0);
    await until(() => written.done, 'the lingered write');
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(putter.allLabels()).toEqual([['a', 'b']]);
  });

  it('with lingerMs 0 sends a partial batch on the next timer turn', async () => {
    const putter = new FakePutter();
    putter.auto = (call) => call.succeed();
    const sink = makeSink(putter, { maxRecords: 10, lingerMs: 0 });
    void sink.write(recs('a'));
    expect(putter.calls).toHaveLength(0);
    await until(() => putter.calls.length === 1, 'the lingered batch');
    expect(putter.allLabels()).toEqual([['a']]);
  });
});

describe('retry pause and the clock', () => {
  test('a retry goes out after its backoff even when the wall clock lags the timer (clock stepped back)', async () => {
    useFakeClock();
    // The longest jittered pause (49 ms), so the retry is surely still pending when the clock steps back;
    // with a 0 ms draw it went out at once, before the test started answering, and the test hung.
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    const putter = new FakePutter();
    const sink = makeSink(putter, { lingerMs: 0, backoff: { baseMs: 50, maxMs: 50 } });
    const acknowledged = track(sink.write(recs('a')));
    await until(() => putter.calls.length === 1, 'the first request');
    putter.calls[0].fail(awsError('InternalFailure', 500));
    await drain();
    // The retry pause is set; now the system clock steps back while it is pending.
    jest.setSystemTime(Date.now() - 5);
    putter.auto = (call) => call.succeed();
    await until(() => acknowledged.done, 'the retried record to be acknowledged', 60_000);
    expect(putter.calls).toHaveLength(2);
    expect(putter.labels(1)).toEqual(['a']);
    expect(sink.buffered).toBe(0);
  });
});

describe('per-key ordering (ordering: KEY, the default)', () => {
  test("a key's pending run goes in one request, in order; a key in flight sends nothing more until it is answered", async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    void sink.write([rec('k1-a', 'k1'), rec('k1-b', 'k1'), rec('k2-a', 'k2'), rec('k1-c', 'k1'), rec('k3-a', 'k3')]);
    await until(() => putter.calls.length === 1, 'the first request');
    expect(putter.labels(0)).toEqual(['k1-a', 'k1-b', 'k2-a', 'k1-c', 'k3-a']);
    void sink.write([rec('k1-d', 'k1'), rec('k4-a', 'k4'), rec('k1-e', 'k1')]);
    await until(() => putter.calls.length === 2, 'the second request');
    // k1 is in flight: only k4 may go now.
    expect(putter.labels(1)).toEqual(['k4-a']);
    putter.calls[0].succeed();
    await until(() => putter.calls.length === 3, 'the third request');
    expect(putter.labels(2)).toEqual(['k1-d', 'k1-e']);
    expect(putter.maxActive).toBe(2);
  });

  test('one hot key moves a full request per round-trip, not one record', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    putter.auto = (call) => call.succeed();
    const labels = Array.from({ length: 1200 }, (_, i) => `hot-${i}`);
    await finish(sink.write(labels.map((l) => rec(l, 'partitionkey'))), 'the hot key');
    expect(putter.allLabels().map((c) => c.length)).toEqual([500, 500, 200]);
    expect(putter.allLabels().flat()).toEqual(labels);
    expect(putter.maxActive).toBe(1);
  });

  test("while a hot key's request is in flight, each write looks only at its own records, not the whole buffer again", async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0, maxBufferedRecords: 25_000 });
    const hot = (n: number, from: number) => Array.from({ length: n }, (_, i) => rec(`hot-${from + i}`, 'partitionkey'));
    void sink.write(hot(500, 0));
    await until(() => putter.calls.length === 1, 'the first request');
    const has = jest.spyOn(Set.prototype, 'has');
    const chunks = 40;
    for (let c = 1; c <= chunks; c++) void sink.write(hot(500, c * 500));
    await drain();
    const lookups = has.mock.calls.length;
    has.mockRestore();
    expect(putter.calls).toHaveLength(1);
    // 20,000 records written behind the key in flight: rescanning the buffer on each write looked up
    // 500 + 1,000 + … + 20,000 = 410,000 keys.
    expect(lookups).toBeLessThan(3 * chunks * 500);
    // The key's answer frees it: its whole run follows in order, a full request at a time.
    putter.auto = (call) => call.succeed();
    putter.calls[0].succeed();
    await until(() => putter.calls.length === 1 + chunks, 'the rest of the run');
    expect(putter.allLabels().flat()).toEqual(Array.from({ length: (chunks + 1) * 500 }, (_, i) => `hot-${i}`));
    expect(putter.maxActive).toBe(1);
  });

  test('a refused suffix of a run is re-sent first and keeps the order; nothing is counted as broken', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    const done = track(sink.write([rec('a1', 'A'), rec('a2', 'A'), rec('b1', 'B'), rec('a3', 'A'), rec('a4', 'A')]));
    await until(() => putter.calls.length === 1, 'the first request');
    void sink.write([rec('a5', 'A')]);
    const T = 'ProvisionedThroughputExceededException';
    putter.calls[0].reply([undefined, undefined, undefined, T, T]);
    putter.auto = (call) => call.succeed();
    await until(() => done.done, 'the write', 60_000);
    expect(putter.allLabels()).toEqual([['a1', 'a2', 'b1', 'a3', 'a4'], ['a3', 'a4', 'a5']]);
    expect(sink.stats.orderViolations).toBe(0);
  });

  test('a refused record followed by an accepted one of its key is delivered, counted and logged as an order violation', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    const warn = jest.spyOn(log, 'warn');
    const done = track(sink.write([rec('a1', 'A'), rec('a2', 'A'), rec('b1', 'B'), rec('a3', 'A'), rec('b2', 'B')]));
    await until(() => putter.calls.length === 1, 'the first request');
    // a2 refused, a3 accepted: a3 is in the stream before a2. b1 refused with no later b accepted: fine.
    putter.calls[0].reply([undefined, 'InternalFailure', 'InternalFailure', undefined, 'InternalFailure']);
    putter.auto = (call) => call.succeed();
    await until(() => done.done, 'the write', 60_000);
    expect(putter.allLabels()).toEqual([['a1', 'a2', 'b1', 'a3', 'b2'], ['a2', 'b1', 'b2']]);
    expect(sink.stats.orderViolations).toBe(1);
    expect(sink.stats.recordsWritten).toBe(5);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ records: 1, keys: ['A'] }), expect.stringContaining('per-key order broken'));
  });

  test('an all-refused request is re-sent whole, in order, before newer records of its keys', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    const done = track(sink.write([rec('a1', 'A'), rec('a2', 'A'), rec('b1', 'B')]));
    await until(() => putter.calls.length === 1, 'the first request');
    void sink.write([rec('a3', 'A'), rec('b2', 'B')]);
    const T = 'ProvisionedThroughputExceededException';
    putter.calls[0].reply([T, T, T]);
    putter.auto = (call) => call.succeed();
    await until(() => done.done, 'the write', 60_000);
    expect(putter.allLabels()).toEqual([['a1', 'a2', 'b1'], ['a1', 'a2', 'b1', 'a3', 'b2']]);
    expect(sink.stats.orderViolations).toBe(0);
  });

  test('NONE ordering never counts order violations', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'NONE', lingerMs: 0 });
    const done = track(sink.write([rec('a1', 'A'), rec('a2', 'A')]));
    await until(() => putter.calls.length === 1, 'the first request');
    putter.calls[0].reply(['InternalFailure', undefined]);
    putter.auto = (call) => call.succeed();
    await until(() => done.done, 'the write', 60_000);
    expect(sink.stats.orderViolations).toBe(0);
  });

  test('a failed record is re-sent before any newer record of its key, and nothing of that key overtakes it', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0, maxInFlightRequests: 10 });
    const done = track(sink.write([rec('k1-a', 'k1'), rec('k2-a', 'k2')]));
    await until(() => putter.calls.length === 1, 'the first request');
    // Newer records arrive while the first request is in flight.
    void sink.write([rec('k1-b', 'k1'), rec('k2-b', 'k2'), rec('k3-a', 'k3')]);
    await drain();
    // k1 and k2 are in flight, so only k3 may go meanwhile.
    expect(putter.calls.slice(1).flatMap((_, i) => putter.labels(i + 1))).toEqual(['k3-a']);
    putter.calls[0].reply(['ProvisionedThroughputExceededException', undefined]);
    putter.auto = (call) => call.succeed();
    await until(() => done.done, 'the first write to be acknowledged', 60_000);
    const order = putter.calls.flatMap((_, i) => putter.labels(i)).filter((label) => label.startsWith('k1'));
    // k1-a (failed), k1-a (retried), then k1-b: the newer record never went before the retry.
    expect(order).toEqual(['k1-a', 'k1-a', 'k1-b']);
  });

  test('records of a lost lease are dropped before they are sent, and free their buffer room', async () => {
    useFakeClock();
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 1000 });
    const owner = { isLost: false };
    const lost = track(sink.write(recs('x1', 'x2'), owner));
    void sink.write(recs('y1'));
    expect(sink.buffered).toBe(3);
    owner.isLost = true;
    putter.auto = (call) => call.succeed();
    await until(() => putter.calls.length === 1, 'the linger flush', 5000);
    expect(putter.allLabels()).toEqual([['y1']]);
    await until(() => sink.buffered === 0, 'the buffer to empty');
    expect(sink.stats.droppedRecords).toBe(2);
    expect(lost.done).toBe(false);
  });

  test('records of a lease lost while they were in flight are dropped when they come back for a retry', async () => {
    const putter = new FakePutter();
    const sink = makeSink(putter, { ordering: 'KEY', lingerMs: 0 });
    const owner = { isLost: false };
    const lost = track(sink.write(recs('x1', 'x2'), owner));
    await until(() => putter.calls.length === 1, 'the first request');
    owner.isLost = true;
    putter.calls[0].reply(['ProvisionedThroughputExceededException', undefined]);
    void sink.write(recs('y1'));
    putter.auto = (call) => call.succeed();
    await until(() => sink.buffered === 0, 'the buffer to empty');
    expect(putter.allLabels().slice(1)).toEqual([['y1']]);
    expect(sink.stats.droppedRecords).toBe(1);
    expect(lost.done).toBe(false);
  });
});

// ---- KPL aggregation ------------------------------------------------------------------------------

/** A putter that also lists shards and lands each entry where Kinesis would, by the shards it lists now. */
class ShardedPutter extends FakePutter implements ShardLister {
  listCalls = 0;
  failLists = 0;
  constructor(public shards: Shard[]) {
    super();
    this.shardOf = (entry) => new ShardRanges(this.shards).shardFor(entry.ExplicitHashKey !== undefined ? BigInt(entry.ExplicitHashKey) : partitionKeyHash(entry.PartitionKey!)).shardId;
  }

  listShards(): Promise<Shard[]> {
    this.listCalls += 1;
    if (this.failLists > 0) {
      this.failLists -= 1;
      return Promise.reject(awsError('LimitExceededException', 400));
    }
    return Promise.resolve(this.shards);
  }

  /** The user records of call `i`, as aws-kinesis-agg reads them (MD5 checked), with the shard each entry landed on. */
  userRecords(i: number): Array<{ key: string; label: string; shardId: string }> {
    return this.calls[i].entries.flatMap((entry) => {
      const shardId = this.shardOf!(entry);
      if (!isAggregated(entry.Data!)) return [{ key: entry.PartitionKey!, label: Buffer.from(entry.Data!).toString(), shardId }];
      return theirDeaggregate(entry.Data!, entry.PartitionKey).map((r) => ({ key: r.partitionKey, label: r.data.toString(), shardId }));
    });
  }
}

const SPACE = 1n << 128n;

function shardsOf(ranges: Array<[string, bigint, bigint, boolean?]>): Shard[] {
  return ranges.map(([id, start, end, closed]) => ({
    ShardId: id,
    HashKeyRange: { StartingHashKey: String(start), EndingHashKey: String(end) },
    SequenceNumberRange: { StartingSequenceNumber: '1', ...(closed ? { EndingSequenceNumber: '2' } : {}) },
  }));
}

const TWO_SHARDS = shardsOf([['shardId-000000000000', 0n, SPACE / 2n - 1n], ['shardId-000000000001', SPACE / 2n, SPACE - 1n]]);

/** Keys that hash into the lower and the upper half of the hash space. */
function keysIn(half: 'low' | 'high', n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if ((partitionKeyHash(`k${i}`) < SPACE / 2n) === (half === 'low')) out.push(`k${i}`);
  return out;
}

describe('KinesisSink with KPL aggregation', () => {
  const kpl = { aggregation: 'KPL' as const, ordering: 'KEY' as const, lingerMs: 0, maxAggregateBytes: 51_200 };

  test('packs records into aggregates by shard, each inside its range; every record arrives once, per-key order holds', async () => {
    useFakeClock();
    const putter = new ShardedPutter(TWO_SHARDS);
    const sink = makeSink(putter, kpl);
    putter.auto = (call) => call.succeed();
    const records = Array.from({ length: 600 }, (_, i) => rec(`r${i}`, `key-${i % 40}`));
    await finish(sink.write(records), 'the write');
    const ranges = new ShardRanges(TWO_SHARDS);
    const arrived = putter.calls.flatMap((_, i) => putter.userRecords(i));
    for (const r of arrived) expect(ranges.shardFor(partitionKeyHash(r.key)).shardId).toBe(r.shardId);
    expect(arrived.map((r) => r.label).sort()).toEqual(records.map((r) => Buffer.from(r.data).toString()).sort());
    for (let k = 0; k < 40; k++) {
      const labels = arrived.filter((r) => r.key === `key-${k}`).map((r) => Number(r.label.slice(1)));
      expect(labels).toEqual([...labels].sort((a, b) => a - b));
    }
    expect(putter.calls[0].entries).toHaveLength(2); // one aggregate per shard
    expect(sink.stats.aggregatesWritten).toBe(2);
    expect(sink.stats.recordsWritten).toBe(600);
    expect(putter.listCalls).toBe(1);
  });

  test("a write resolves only when every aggregate holding its records is acknowledged", async () => {
    useFakeClock();
    const putter = new ShardedPutter(TWO_SHARDS);
    const sink = makeSink(putter, kpl);
    const [low, high] = [keysIn('low', 2), keysIn('high', 2)];
    const first = track(sink.write([rec('a', low[0]), rec('b', high[0])]));
    const second = track(sink.write([rec('c', low[1]), rec('d', high[1])]));
    await until(() => putter.calls.length === 1, 'the first request');
    expect(putter.calls[0].entries).toHaveLength(2);
    const lowFirst = putter.shardOf!(putter.calls[0].entries[0]) === 'shardId-000000000000';
    // The low shard's aggregate accepted, the high one refused: neither write is complete.
    putter.calls[0].reply(lowFirst ? [undefined, 'InternalFailure'] : ['InternalFailure', undefined]);
    await drain();
    expect(first.done || second.done).toBe(false);
    putter.auto = (call) => call.succeed();
    for (const call of putter.open()) call.succeed(); // a retry sent before auto was set
    await until(() => first.done && second.done, 'both writes', 60_000);
    expect(putter.userRecords(1).map((r) => r.label)).toEqual(['b', 'd']);
  });

  test('an aggregate landing on an unexpected shard reloads the map and re-sends the records outside the landed range', async () => {
    useFakeClock();
    const putter = new ShardedPutter(shardsOf([['shardId-000000000000', 0n, SPACE - 1n]]));
    const sink = makeSink(putter, kpl);
    const [low, high] = [keysIn('low', 3), keysIn('high', 3)];
    const done = track(sink.write([...low, ...high].map((k, i) => rec(`x${i}`, k))));
    await until(() => putter.calls.length === 1, 'the request');
    // The stream is split before the request arrives: the single aggregate lands on one child.
    putter.shards = shardsOf([
      ['shardId-000000000000', 0n, SPACE - 1n, true],
      ['shardId-000000000001', 0n, SPACE / 2n - 1n],
      ['shardId-000000000002', SPACE / 2n, SPACE - 1n],
    ]);
    putter.auto = (call) => call.succeed();
    putter.calls[0].succeed();
    await until(() => done.done, 'the write', 60_000);
    expect(putter.listCalls).toBe(2);
    const landed = putter.shardOf!(putter.calls[0].entries[0]);
    const misplaced = landed === 'shardId-000000000001' ? high : low;
    expect(sink.stats.misplacedRecords).toBe(3);
    // The re-sent ones land inside their new shard's range.
    const resent = putter.calls.slice(1).flatMap((_, i) => putter.userRecords(i + 1));
    expect(resent.map((r) => r.key).sort()).toEqual([...misplaced].sort());
    const ranges = new ShardRanges(putter.shards);
    for (const r of resent) expect(ranges.shardFor(partitionKeyHash(r.key)).shardId).toBe(r.shardId);
  });

  test('a failed ListShards is retried after a backoff before anything is sent', async () => {
    useFakeClock();
    const putter = new ShardedPutter(TWO_SHARDS);
    putter.failLists = 2;
    const sink = makeSink(putter, kpl);
    putter.auto = (call) => call.succeed();
    await finish(sink.write(recs('a', 'b')), 'the write');
    expect(putter.listCalls).toBe(3);
  });

  test('records of a lost lease are dropped before they are aggregated', async () => {
    useFakeClock();
    const putter = new ShardedPutter(TWO_SHARDS);
    const sink = makeSink(putter, { ...kpl, lingerMs: 1000 });
    const owner = { isLost: false };
    const lost = track(sink.write(recs('x1', 'x2'), owner));
    void sink.write(recs('y1'));
    owner.isLost = true;
    putter.auto = (call) => call.succeed();
    await until(() => sink.buffered === 0, 'the buffer to empty', 5000);
    expect(putter.calls.flatMap((_, i) => putter.userRecords(i).map((r) => r.label))).toEqual(['y1']);
    expect(sink.stats.droppedRecords).toBe(2);
    expect(lost.done).toBe(false);
  });

  test('one hot key moves a whole aggregate per round-trip', async () => {
    useFakeClock();
    const putter = new ShardedPutter(TWO_SHARDS);
    const sink = makeSink(putter, kpl);
    putter.auto = (call) => call.succeed();
    const labels = Array.from({ length: 3000 }, (_, i) => `${'p'.repeat(60)}-${i}`);
    await finish(sink.write(labels.map((l) => rec(l, 'partitionkey'))), 'the hot key');
    expect(putter.calls.length).toBeLessThan(10);
    expect(putter.calls.every((c) => c.entries.length === 1)).toBe(true);
    expect(putter.calls.flatMap((_, i) => putter.userRecords(i).map((r) => r.label))).toEqual(labels);
    expect(putter.maxActive).toBe(1);
  });

  test('without a shard lister KPL is refused at construction', () => {
    expect(() => makeSink(new FakePutter(), kpl)).toThrow('lists shards');
  });
});
