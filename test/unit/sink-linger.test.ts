/**
 * When a partial PutRecords request goes (`sink.flush-buffer.mode`, issue #13): ADAPTIVE sends it at
 * the end of the turn when the sink is idle and otherwise waits for the next answer (Nagle); FIXED
 * always waits the linger time. Everything runs on jest's fake clock, which also fakes setImmediate.
 */
import pino from 'pino';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult, RecordPutter, Shard, ShardLister } from '../../shared/aws/kinesis-gateway';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { theirDeaggregate } from '../support/kinesis-agg';
import type { OutputRecord } from '../../shared/records';
import { KinesisSink, type SinkSettings } from '../../worker/sink/kinesis-sink';
import { track } from '../support/track';

const log = pino({ level: 'silent' });
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/out';

/** One PutRecords call, answered by the test (or at once by `auto`). */
interface Call {
  readonly labels: string[];
  readonly at: number;
  settled: boolean;
  reply(codes?: ReadonlyArray<string | undefined>): void;
}

class ManualPutter implements RecordPutter, ShardLister {
  readonly calls: Call[] = [];
  /** When set, called with each new call (answer it here to answer at once, or later on a timer). */
  auto?: (call: Call) => void;
  private sequence = 0;

  putRecords(_arn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    return new Promise((resolve) => {
      const call: Call = {
        // An aggregate's user records, as aws-kinesis-agg reads them.
        labels: records.flatMap((r) => (isAggregated(r.Data!) ? theirDeaggregate(r.Data!, r.PartitionKey).map((u) => u.data.toString()) : [Buffer.from(r.Data!).toString('utf8')])),
        at: Date.now(),
        settled: false,
        reply: (codes = records.map(() => undefined)) => {
          call.settled = true;
          resolve({
            failedCount: codes.filter((c) => c !== undefined).length,
            entries: codes.map((code) => (code === undefined ? { SequenceNumber: String(++this.sequence), ShardId: 'shardId-000000000000' } : { ErrorCode: code, ErrorMessage: code })),
          });
        },
      };
      this.calls.push(call);
      this.auto?.(call);
    });
  }

  open(): Call[] {
    return this.calls.filter((c) => !c.settled);
  }

  /** One open shard over the whole hash space (for KPL aggregation), listed after `listDelayMs`. */
  listDelayMs = 0;

  async listShards(): Promise<Shard[]> {
    await new Promise((resolve) => setTimeout(resolve, this.listDelayMs));
    return Promise.resolve([{ ShardId: 'shardId-000000000000', HashKeyRange: { StartingHashKey: '0', EndingHashKey: String((1n << 128n) - 1n) }, SequenceNumberRange: { StartingSequenceNumber: '1' } }]);
  }

  labels(): string[][] {
    return this.calls.map((c) => c.labels);
  }
}

function rec(label: string, partitionKey = `pk-${label}`): OutputRecord {
  return { partitionKey, data: Buffer.from(label, 'utf8') };
}

const sinks: KinesisSink[] = [];

function makeSink(putter: RecordPutter, overrides: Partial<SinkSettings> = {}): KinesisSink {
  const sink = new KinesisSink(
    putter,
    ARN,
    { maxRecords: 500, maxBytes: 5 * 1024 ** 2, lingerMs: 200, flushMode: 'ADAPTIVE', maxInFlightRequests: 50, maxBufferedRecords: 10_000, ordering: 'KEY', backoff: { baseMs: 1, maxMs: 5 }, ...overrides },
    log,
  );
  sinks.push(sink);
  return sink;
}

/** Runs what is due now (the end of the turn included) without moving the clock. */
async function endOfTurn(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  for (const sink of sinks.splice(0)) sink.close();
  jest.useRealTimers();
});

describe('ADAPTIVE flush mode', () => {
  test('a lone record on an idle sink is sent at the end of the turn, without lingering', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { lingerMs: 60_000 });
    const start = Date.now();
    const written = track(sink.write([rec('a')]));
    expect(putter.calls).toHaveLength(0); // not inside write(): the rest of the turn may add records
    await endOfTurn();
    expect(putter.labels()).toEqual([['a']]);
    expect(putter.calls[0].at).toBe(start);
    putter.calls[0].reply();
    await endOfTurn();
    expect(written.done).toBe(true);
  });

  test('records written in the same turn go in one request', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter);
    for (const label of ['a', 'b', 'c']) void sink.write([rec(label)]);
    await endOfTurn();
    expect(putter.labels()).toEqual([['a', 'b', 'c']]);
  });

  test('records written while a request is in flight wait for its answer and then go together', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter);
    void sink.write([rec('a')]);
    await endOfTurn();
    expect(putter.calls).toHaveLength(1);
    // Ten turns of writes, 1 ms apart, while `a` is in flight: nothing more is sent.
    for (let i = 0; i < 10; i++) {
      void sink.write([rec(`b${i}`)]);
      await jest.advanceTimersByTimeAsync(1);
    }
    expect(putter.calls).toHaveLength(1);
    putter.calls[0].reply();
    await endOfTurn();
    expect(putter.labels()).toEqual([['a'], Array.from({ length: 10 }, (_, i) => `b${i}`)]);
  });

  test('a steady stream of small writes costs about one request per round-trip, not one per record', async () => {
    const putter = new ManualPutter();
    // Every answer comes 5 ms after its request; one record is written every millisecond for 1 s.
    putter.auto = (call) => setTimeout(() => call.reply(), 5);
    const sink = makeSink(putter);
    const start = Date.now();
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 1000; i++) {
      writes.push(sink.write([rec(`r${i}`)]));
      await jest.advanceTimersByTimeAsync(1);
    }
    await jest.advanceTimersByTimeAsync(50);
    const all = track(Promise.all(writes));
    await endOfTurn();
    expect(all.done).toBe(true);
    expect(putter.labels().flat()).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
    // One request per 5 ms round-trip, give or take: about 200, far from 1000.
    expect(putter.calls.length).toBeLessThanOrEqual(250);
    // And no record waited longer than one round-trip and the millisecond it was written in (`ri` at start + i).
    const waits = putter.calls.map((c) => c.at - start - Number(c.labels[0].slice(1)));
    expect(Math.max(...waits)).toBeLessThanOrEqual(6);
  });

  test('Nagle: full requests in flight do not hold a partial one back, but a second partial waits for the first one\'s answer', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { maxRecords: 2, ordering: 'NONE' });
    void sink.write([rec('a'), rec('b'), rec('c'), rec('d')]); // two full requests
    void sink.write([rec('e')]);
    await endOfTurn();
    expect(putter.labels()).toEqual([['a', 'b'], ['c', 'd'], ['e']]); // `e` is the one partial request
    void sink.write([rec('f')]);
    await endOfTurn();
    expect(putter.calls).toHaveLength(3); // `f` waits: the partial [e] is unanswered
    putter.calls[0].reply(); // a full request's answer does not release it
    await endOfTurn();
    expect(putter.calls).toHaveLength(3);
    void sink.write([rec('g')]);
    putter.calls[2].reply(); // the partial's answer does, with what gathered meanwhile
    await endOfTurn();
    expect(putter.labels()).toEqual([['a', 'b'], ['c', 'd'], ['e'], ['f', 'g']]);
  });

  test('the linger time still bounds the wait while a request stays in flight', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { lingerMs: 200, maxInFlightRequests: 10 });
    void sink.write([rec('a')]);
    await endOfTurn();
    expect(putter.calls).toHaveLength(1); // `a` is never answered
    await jest.advanceTimersByTimeAsync(50);
    void sink.write([rec('b')]);
    await jest.advanceTimersByTimeAsync(199);
    expect(putter.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(putter.labels()).toEqual([['a'], ['b']]);
    expect(putter.calls[1].at - putter.calls[0].at).toBe(250);
  });

  test('a full request still goes at once, inside write()', () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { maxRecords: 3 });
    void sink.write([rec('a'), rec('b'), rec('c'), rec('d')]);
    expect(putter.labels()).toEqual([['a', 'b', 'c']]);
  });

  test('per-key order: a key in flight sends nothing more until its answer, then its run goes in order', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter);
    void sink.write([rec('k1-a', 'k1')]);
    await endOfTurn();
    void sink.write([rec('k1-b', 'k1'), rec('k1-c', 'k1')]);
    await jest.advanceTimersByTimeAsync(1000); // past the linger time: still one request per key in flight
    expect(putter.labels()).toEqual([['k1-a']]);
    putter.calls[0].reply();
    await endOfTurn();
    expect(putter.labels()).toEqual([['k1-a'], ['k1-b', 'k1-c']]);
  });

  test('while throttled (fewer requests allowed), an answer does not release a partial request; an idle sink does', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { maxInFlightRequests: 4, maxRecords: 2, lingerMs: 60_000 });
    void sink.write([rec('a'), rec('b'), rec('c'), rec('d')]);
    expect(putter.calls).toHaveLength(2);
    putter.calls[0].reply(['ProvisionedThroughputExceededException', 'ProvisionedThroughputExceededException']);
    await endOfTurn();
    expect(sink.requestLimit).toBe(2);
    // The retry pause (at most 5 ms) ends and the refused pair goes again: two requests in flight.
    await jest.advanceTimersByTimeAsync(60);
    expect(putter.open()).toHaveLength(2);
    void sink.write([rec('e')]);
    putter.open()[0].reply(); // accepted: the limit grows to 3, still below 4
    await endOfTurn();
    expect(sink.requestLimit).toBe(3);
    expect(putter.calls).toHaveLength(3); // `e` waits
    putter.open()[0].reply(); // nothing in flight now: `e` goes
    await endOfTurn();
    expect(putter.labels().at(-1)).toEqual(['e']);
  });

  test('with KPL aggregation: a lone record goes without lingering, later ones gather behind it and go in order', async () => {
    const putter = new ManualPutter();
    putter.listDelayMs = 10;
    const sink = makeSink(putter, { aggregation: 'KPL', maxAggregateBytes: 51_200, lingerMs: 60_000 });
    void sink.write([rec('k1-a', 'k1')]);
    await endOfTurn();
    expect(putter.calls).toHaveLength(0); // the shard map is still loading
    // The fake clock puts an immediate set inside a timer 1 ms later: the turn after the load is at +11 ms.
    await jest.advanceTimersByTimeAsync(11);
    expect(putter.labels()).toEqual([['k1-a']]); // sent once the map is in, not after the linger time
    void sink.write([rec('k1-b', 'k1'), rec('k2-a', 'k2')]);
    await endOfTurn();
    void sink.write([rec('k1-c', 'k1')]);
    await endOfTurn();
    expect(putter.calls).toHaveLength(1);
    putter.calls[0].reply();
    await endOfTurn();
    expect(putter.labels()).toEqual([['k1-a'], ['k1-b', 'k2-a', 'k1-c']]);
  });

  test('abandon() drops an owner\'s records still waiting behind a request in flight', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter);
    const owner = { isLost: false };
    void sink.write([rec('a')]);
    await endOfTurn();
    const dropped = track(sink.write([rec('x1'), rec('x2')], owner));
    void sink.write([rec('y1')]);
    await endOfTurn();
    expect(sink.abandon(owner)).toBe(2);
    putter.calls[0].reply();
    await endOfTurn();
    expect(putter.labels()).toEqual([['a'], ['y1']]);
    expect(dropped.done).toBe(false);
  });
});

describe('FIXED flush mode', () => {
  test('a lone record on an idle sink waits the whole linger time', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { flushMode: 'FIXED', lingerMs: 200 });
    void sink.write([rec('a')]);
    await jest.advanceTimersByTimeAsync(199);
    expect(putter.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(putter.labels()).toEqual([['a']]);
  });

  test('an answer does not release waiting records before the linger time', async () => {
    const putter = new ManualPutter();
    const sink = makeSink(putter, { flushMode: 'FIXED', lingerMs: 200, maxRecords: 2 });
    void sink.write([rec('a'), rec('b'), rec('c')]);
    expect(putter.calls).toHaveLength(1);
    putter.calls[0].reply();
    await jest.advanceTimersByTimeAsync(199);
    expect(putter.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(putter.labels()).toEqual([['a', 'b'], ['c']]);
  });
});
