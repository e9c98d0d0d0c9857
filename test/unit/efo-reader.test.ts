import pino from 'pino';
import type { _Record, ChildShard, SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import type { StartingPosition, SubscribeToShardEventStream } from '@aws-sdk/client-kinesis';
import type { RecordPage, ShardSubscriber } from '../../shared/aws/kinesis-gateway';
import { shardEventPages, startingPosition } from '../../shared/aws/record-mapping';
import type { StartPosition } from '../../shared/position';
import { EfoReader, type ConsumerArnSource, type EfoSettings } from '../../worker/efo/efo-reader';
import { ShardEndProbe } from '../../worker/efo/shard-end-probe';
import type { RecordBatch } from '../../worker/shard-reader';
import { track, type Tracked } from '../support/track';
import { DeaggregatingReader } from '../../worker/deaggregation/deaggregating-reader';
import { resumeFrom } from '../../worker/shard-reader';
import { aggregateOf } from '../support/aggregates';
import { FakeFetcher } from '../support/fake-fetcher';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const ARRIVAL = new Date('2024-05-01T12:00:00.000Z').getTime();
const EMPTY: RecordBatch = { records: [], shardEnded: false, childShardIds: [] };

// ---- fakes ---------------------------------------------------------------------------------------

/** What the SDK throws when a request's abort signal fires. */
function abortError(): Error {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

function awsError(name: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $metadata: { httpStatusCode } });
}

/** 56-digit sequence numbers, increasing, as Kinesis gives them; the last six digits are `i`. */
function seq(i: number): string {
  return `49590338271490256608559692538361571095921575989136${String(i).padStart(6, '0')}`;
}
const indexOf = (sequenceNumber: string) => Number(sequenceNumber.slice(-6));

function record(i: number): _Record {
  return { SequenceNumber: seq(i), PartitionKey: `pk-${i}`, Data: Buffer.from(`record-${i}`), ApproximateArrivalTimestamp: new Date(ARRIVAL + i) };
}

/** A SubscribeToShardEvent with records `indexes`; `continuation` null or undefined ends the shard. */
function ev(indexes: number[], continuation: string | null | undefined, more: Partial<SubscribeToShardEvent> = {}): SubscribeToShardEventStream {
  return {
    SubscribeToShardEvent: {
      Records: indexes.map(record),
      ContinuationSequenceNumber: continuation as string | undefined,
      MillisBehindLatest: 0,
      ...more,
    },
  };
}

/** An error delivered as an event-stream member instead of being thrown. */
function errorEvent(name: string, message = `${name} in the stream`): SubscribeToShardEventStream {
  return { [name]: { message } } as unknown as SubscribeToShardEventStream;
}

type Item = { event: SubscribeToShardEventStream } | { error: unknown } | { end: true };

/**
 * One subscription's event stream, fed by the test. Like the SDK's: one `next()` at a time; once the
 * request's signal aborts, a pending or later `next()` rejects with an AbortError (buffered events are
 * lost); `end()` makes it done (after the buffered events); `fail()` makes `next()` reject.
 */
class FakeStream implements AsyncIterable<SubscribeToShardEventStream> {
  private readonly items: Item[] = [];
  private waiter: { resolve: (r: IteratorResult<SubscribeToShardEventStream>) => void; reject: (err: unknown) => void } | undefined;
  nextCalls = 0;
  returned = false;

  constructor(readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wake(), { once: true });
  }

  get waiting(): boolean {
    return this.waiter !== undefined;
  }

  push(...events: SubscribeToShardEventStream[]): void {
    for (const event of events) this.items.push({ event });
    this.wake();
  }

  end(): void {
    this.items.push({ end: true });
    this.wake();
  }

  fail(error: unknown): void {
    this.items.push({ error });
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscribeToShardEventStream> {
    return {
      next: () => {
        this.nextCalls += 1;
        if (this.waiter) return Promise.reject(new Error('next() called while another next() is pending'));
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
          this.wake();
        });
      },
      return: async () => {
        this.returned = true;
        this.wake();
        return { done: true, value: undefined };
      },
    };
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.signal.aborted) {
      this.waiter = undefined;
      waiter.reject(abortError());
      return;
    }
    if (this.returned) {
      this.waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
      return;
    }
    const item = this.items[0];
    if (!item) return;
    this.waiter = undefined;
    if ('end' in item) {
      waiter.resolve({ done: true, value: undefined });
      return;
    }
    this.items.shift();
    if ('error' in item) waiter.reject(item.error);
    else waiter.resolve({ done: false, value: item.event });
  }
}

interface SubscribeCall {
  consumerArn: string;
  shardId: string;
  start: StartingPosition;
  signal: AbortSignal;
  /** ms since the test's start. */
  at: number;
  stream?: FakeStream;
  /** The next record (index) this subscription serves, from its starting position (see `serve`). */
  cursor: number;
}

/** How a subscribe call answers: with a stream (default), never (until its signal aborts), or an error. */
type Answer = 'stream' | 'hang' | { error: unknown };

class FakeSubscriber implements ShardSubscriber {
  readonly calls: SubscribeCall[] = [];
  readonly answers: Answer[] = [];

  constructor(private readonly origin: number) {}

  /** Serves SDK events, mapped as the gateway maps them. */
  subscribe(consumerArn: string, shardId: string, position: StartPosition, signal: AbortSignal): Promise<AsyncIterable<RecordPage>> {
    const start = startingPosition(position);
    const cursor = start.Type === 'AFTER_SEQUENCE_NUMBER' ? indexOf(start.SequenceNumber!) + 1 : 0;
    const call: SubscribeCall = { consumerArn, shardId, start: { ...start }, signal, at: Date.now() - this.origin, cursor };
    this.calls.push(call);
    const answer = this.answers.shift() ?? 'stream';
    if (answer === 'hang') {
      return new Promise((_resolve, reject) => {
        if (signal.aborted) reject(abortError());
        signal.addEventListener('abort', () => reject(abortError()), { once: true });
      });
    }
    if (typeof answer === 'object') return Promise.reject(answer.error);
    call.stream = new FakeStream(signal);
    return Promise.resolve(shardEventPages(shardId, call.stream));
  }

  stream(i = this.calls.length - 1): FakeStream {
    const stream = this.calls[i]?.stream;
    if (!stream) throw new Error(`subscribe call ${i} has no stream (${this.calls.length} calls)`);
    return stream;
  }

  /** Pushes the next `count` records of the simulated shard to subscription `i`, as the service would. */
  serve(count: number, i = this.calls.length - 1): void {
    const call = this.calls[i];
    const indexes = Array.from({ length: count }, (_, k) => call.cursor + k);
    call.cursor += count;
    this.stream(i).push(ev(indexes, seq(call.cursor - 1)));
  }

  get times(): number[] {
    return this.calls.map((c) => c.at);
  }
}

class FakeConsumer implements ConsumerArnSource {
  readonly events: string[] = [];
  private invalidations = 0;

  constructor(private readonly arns: string[] = ['arn:consumer/1']) {}

  /** When set, `get` does not answer until its signal aborts, then rejects with this error. */
  failOnAbort: unknown;

  async get(signal: AbortSignal): Promise<string> {
    const arn = this.arns[Math.min(this.invalidations, this.arns.length - 1)];
    this.events.push(`get ${arn}`);
    const error = this.failOnAbort;
    if (error !== undefined) return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(error), { once: true }));
    return arn;
  }

  invalidate(): void {
    this.invalidations += 1;
    this.events.push('invalidate');
  }
}



// ---- helpers -------------------------------------------------------------------------------------

const SETTINGS: EfoSettings = { subscriptionTimeoutMs: 3000, maxSubscriptionMs: 60_000, minSubscribeGapMs: 1000 };

function setup(opts: { start?: StartPosition; settings?: Partial<EfoSettings>; probe?: ShardEndProbe; arns?: string[] } = {}) {
  const subscriber = new FakeSubscriber(Date.now());
  const consumer = new FakeConsumer(opts.arns);
  const reader = new EfoReader(subscriber, consumer, 'arn:aws:kinesis:us-east-1:000000000000:stream/in', SHARD, opts.start ?? { type: 'TRIM_HORIZON' }, { ...SETTINGS, ...opts.settings }, log, () => Date.now(), opts.probe);
  return { subscriber, consumer, reader };
}


/** Runs due timers and lets the promise chains settle, without moving the clock. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await jest.advanceTimersByTimeAsync(0);
}

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  await flush();
}

/** The settled value of a tracked next(); fails the test if it has not settled. */
function batchOf(t: Tracked<RecordBatch>): RecordBatch {
  if (!t.done) throw new Error('next() has not returned');
  if (t.error) throw t.error;
  return t.value!;
}

const seqsOf = (t: Tracked<RecordBatch>) => batchOf(t).records.map((r) => indexOf(r.sequenceNumber));
const lease = () => new AbortController();

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2025-01-01T00:00:00.000Z') });
  // Backoff jitter: floor(0.5 * ceiling).
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

// ---- tests ---------------------------------------------------------------------------------------

describe('EfoReader: the first subscription', () => {
  const timestamp = new Date('2024-05-01T12:00:00.123Z');

  it.each([
    ['TRIM_HORIZON', { type: 'TRIM_HORIZON' }, { Type: 'TRIM_HORIZON' }],
    ['LATEST', { type: 'LATEST' }, { Type: 'LATEST' }],
    ['AT_TIMESTAMP', { type: 'AT_TIMESTAMP', timestamp }, { Type: 'AT_TIMESTAMP', Timestamp: timestamp }],
    ['AFTER_SEQUENCE_NUMBER of a checkpoint', { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(41) }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(41) }],
    ['AT_SEQUENCE_NUMBER of a checkpoint in the middle of an aggregate', { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(41) }, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq(41) }],
  ] as Array<[string, StartPosition, StartingPosition]>)('starts at %s', async (_name, start, expected) => {
    const { subscriber, reader } = setup({ start });
    expect(reader.kind).toBe('EFO');
    const next = track(reader.next(lease().signal));
    await flush();
    expect(subscriber.calls.map((c) => ({ arn: c.consumerArn, shardId: c.shardId, start: c.start }))).toEqual([{ arn: 'arn:consumer/1', shardId: SHARD, start: expected }]);
    expect(next.done).toBe(false); // waiting for the first event
    subscriber.stream().push(ev([42], seq(42)));
    await flush();
    expect(seqsOf(next)).toEqual([42]);
    expect(reader.subscriptions).toBe(1);
  });

  it('keeps the Date of AT_TIMESTAMP', async () => {
    const { subscriber, reader } = setup({ start: { type: 'AT_TIMESTAMP', timestamp } });
    void reader.next(lease().signal);
    await flush();
    expect(subscriber.calls[0].start.Timestamp).toBeInstanceOf(Date);
    expect(subscriber.calls[0].start.Timestamp!.getTime()).toBe(timestamp.getTime());
  });
});

describe('EfoReader: events', () => {
  it('returns one event per next(), mapped to SourceRecords with millisBehindLatest, without reading ahead', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    const first = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([0, 1], seq(1), { MillisBehindLatest: 1500 }), ev([2], seq(2), { MillisBehindLatest: 0 }));
    await flush();
    expect(batchOf(first)).toEqual({
      records: [
        { shardId: SHARD, sequenceNumber: seq(0), partitionKey: 'pk-0', data: Buffer.from('record-0'), approximateArrivalTimestamp: new Date(ARRIVAL) },
        { shardId: SHARD, sequenceNumber: seq(1), partitionKey: 'pk-1', data: Buffer.from('record-1'), approximateArrivalTimestamp: new Date(ARRIVAL + 1) },
      ],
      millisBehindLatest: 1500,
      shardEnded: false,
      childShardIds: [],
    });
    // Flow control: nothing more is pulled from the stream until the next call.
    expect(subscriber.stream().nextCalls).toBe(1);
    const second = track(reader.next(signal));
    await flush();
    expect(seqsOf(second)).toEqual([2]);
    expect(batchOf(second).millisBehindLatest).toBe(0);
    expect(subscriber.stream().nextCalls).toBe(2);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('returns an empty, not-ended batch for an event without records', async () => {
    const { subscriber, reader } = setup();
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().push(ev([], seq(5), { MillisBehindLatest: 250 }));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 250, shardEnded: false, childShardIds: [] });
  });

  it('gives a record without Data an empty payload', async () => {
    const { subscriber, reader } = setup();
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().push({ SubscribeToShardEvent: { Records: [{ SequenceNumber: '7', PartitionKey: 'k', Data: undefined }], ContinuationSequenceNumber: '7', MillisBehindLatest: 0 } });
    await flush();
    expect(batchOf(next).records).toEqual([{ shardId: SHARD, sequenceNumber: '7', partitionKey: 'k', data: new Uint8Array(), approximateArrivalTimestamp: undefined }]);
    expect(batchOf(next).records[0].data.byteLength).toBe(0);
  });
});

describe('EfoReader: at most maxRecords per call (the sink share bounds what an event puts in memory)', () => {
  it('returns an event larger than maxRecords in parts, pulling nothing more from the stream until its last part is returned', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    let next = track(reader.next(signal, 4));
    await flush();
    subscriber.serve(10);
    // The service has the next event ready: the reader must still not pull it while part of the last one is held.
    subscriber.serve(3);
    await flush();
    expect(seqsOf(next)).toEqual([0, 1, 2, 3]);
    expect(subscriber.stream().nextCalls).toBe(1);
    next = track(reader.next(signal, 4));
    await flush();
    expect(seqsOf(next)).toEqual([4, 5, 6, 7]);
    expect(subscriber.stream().nextCalls).toBe(1);
    // A smaller share (more shards now) is honoured from the held part on.
    next = track(reader.next(signal, 1));
    await flush();
    expect(seqsOf(next)).toEqual([8]);
    next = track(reader.next(signal, 4));
    await flush();
    expect(seqsOf(next)).toEqual([9]);
    expect(subscriber.stream().nextCalls).toBe(1);
    next = track(reader.next(signal, 4));
    await flush();
    expect(seqsOf(next)).toEqual([10, 11, 12]);
    expect(subscriber.stream().nextCalls).toBe(2);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('a subscription that expires while part of an event is held: the held records come first, then it resumes after the whole event', async () => {
    const { subscriber, reader } = setup({ settings: { maxSubscriptionMs: 5000 } });
    const signal = lease().signal;
    let next = track(reader.next(signal, 3));
    await flush();
    subscriber.serve(7);
    await flush();
    expect(seqsOf(next)).toEqual([0, 1, 2]);
    await advance(5000);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    // The held records are returned although their subscription is gone; nothing is re-read.
    next = track(reader.next(signal, 3));
    await flush();
    expect(seqsOf(next)).toEqual([3, 4, 5]);
    next = track(reader.next(signal, 3));
    await flush();
    expect(seqsOf(next)).toEqual([6]);
    expect(subscriber.calls).toHaveLength(1);
    next = track(reader.next(signal, 3));
    await flush();
    expect(subscriber.calls).toHaveLength(2);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(6) });
    subscriber.serve(2);
    await flush();
    expect(seqsOf(next)).toEqual([7, 8]);
  });

  it('ends the shard only with the last part of the closing event', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    let next = track(reader.next(signal, 2));
    await flush();
    subscriber.stream().push(ev([0, 1, 2], null, { ChildShards: [{ ShardId: 'shardId-000000000002', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }] }));
    await flush();
    expect(batchOf(next)).toEqual({ records: [expect.objectContaining({ sequenceNumber: seq(0) }), expect.objectContaining({ sequenceNumber: seq(1) })], millisBehindLatest: 0, shardEnded: false, childShardIds: [] });
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    next = track(reader.next(signal, 2));
    await flush();
    expect(batchOf(next)).toEqual({ records: [expect.objectContaining({ sequenceNumber: seq(2) })], millisBehindLatest: 0, shardEnded: true, childShardIds: ['shardId-000000000002'] });
    expect(subscriber.calls[0].signal.aborted).toBe(true);
  });

  it('drops the held part when the lease ends: the next owner reads it from the checkpoint', async () => {
    const { subscriber, reader } = setup();
    const owner = lease();
    const next = track(reader.next(owner.signal, 2));
    await flush();
    subscriber.serve(5);
    await flush();
    expect(seqsOf(next)).toEqual([0, 1]);
    owner.abort();
    const after = track(reader.next(owner.signal, 2));
    await flush();
    expect(batchOf(after)).toEqual(EMPTY);
    await reader.close();
    const again = track(reader.next(lease().signal, 2));
    await advance(1000); // the gap between two subscribe calls
    // After close() nothing of the old event is handed out: a new subscription from the start position.
    expect(again.done).toBe(false);
    expect(subscriber.calls).toHaveLength(2);
    expect(subscriber.calls[1].start).toEqual({ Type: 'TRIM_HORIZON' });
  });
});

describe('EfoReader: re-subscribing', () => {
  it('re-subscribes after the last continuation when the service ends the stream; nothing skipped or repeated', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    const read: number[] = [];
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(3);
    await flush();
    read.push(...seqsOf(next));
    next = track(reader.next(signal));
    await flush();
    subscriber.serve(2);
    await flush();
    read.push(...seqsOf(next));
    subscriber.stream().end();
    next = track(reader.next(signal));
    await flush();
    // The old subscription is let go; the new one waits for minSubscribeGapMs.
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(subscriber.stream(0).returned).toBe(true);
    expect(subscriber.calls).toHaveLength(1);
    await advance(1000);
    expect(subscriber.calls).toHaveLength(2);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(4) });
    subscriber.serve(3);
    await flush();
    read.push(...seqsOf(next));
    expect(read).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(reader.subscriptions).toBe(2);
  });

  it('continues from the ContinuationSequenceNumber of the last event returned, not of one still buffered', async () => {
    const { subscriber, reader } = setup({ start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(10) }, settings: { maxSubscriptionMs: 5000 } });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([11, 12], 'continuation-A'), ev([], 'continuation-B', { MillisBehindLatest: 7 }));
    await flush();
    expect(seqsOf(next)).toEqual([11, 12]);
    next = track(reader.next(signal));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 7, shardEnded: false, childShardIds: [] });
    // Arrives while nobody asks, then the subscription expires: the event is never returned.
    subscriber.stream().push(ev([13], 'continuation-C'));
    await advance(5000);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(subscriber.calls).toHaveLength(1);
    next = track(reader.next(signal));
    await flush();
    expect(subscriber.calls).toHaveLength(2);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: 'continuation-B' });
    subscriber.stream().push(ev([13], 'continuation-C'));
    await flush();
    expect(seqsOf(next)).toEqual([13]);
  });

  it('continues from the ContinuationSequenceNumber, not from the last record returned', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([0, 1], 'continuation-after-1'));
    await flush();
    expect(seqsOf(next)).toEqual([0, 1]);
    subscriber.stream().end();
    next = track(reader.next(signal));
    await advance(1000);
    expect(subscriber.calls.map((c) => c.start)).toEqual([{ Type: 'TRIM_HORIZON' }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: 'continuation-after-1' }]);
    subscriber.stream().push(ev([2], 'continuation-after-2'));
    await flush();
    expect(seqsOf(next)).toEqual([2]);
  });

  it('aborts the subscription after maxSubscriptionMs and re-subscribes from the continuation at once', async () => {
    const { subscriber, reader } = setup({ settings: { maxSubscriptionMs: 5000 } });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
    next = track(reader.next(signal));
    await advance(4999);
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    expect(subscriber.calls).toHaveLength(1);
    await advance(1);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    // No error backoff for an expiry (the gap of 1000 ms has long passed).
    expect(subscriber.times).toEqual([0, 5000]);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(0) });
    expect(next.done).toBe(false);
    subscriber.serve(2);
    await flush();
    expect(seqsOf(next)).toEqual([1, 2]);
    // The new subscription has a timer of its own.
    next = track(reader.next(signal));
    await advance(5000);
    expect(subscriber.times).toEqual([0, 5000, 10000]);
    expect(subscriber.calls[2].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(2) });
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([3]);
  });

  it('keeps an established subscription open past subscriptionTimeoutMs', async () => {
    const { subscriber, reader } = setup({ settings: { subscriptionTimeoutMs: 3000, maxSubscriptionMs: 60_000 } });
    const next = track(reader.next(lease().signal));
    await advance(10_000);
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    expect(subscriber.calls).toHaveLength(1);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
  });

  it('keeps minSubscribeGapMs between two subscribe calls', async () => {
    const { subscriber, reader } = setup({ settings: { minSubscribeGapMs: 1000 } });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await advance(300);
    subscriber.stream().end();
    await flush();
    await advance(699);
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 1000]);
    subscriber.stream().end();
    await advance(999);
    expect(subscriber.times).toEqual([0, 1000]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 1000, 2000]);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
    // A subscription that lasted longer than the gap is followed at once.
    next = track(reader.next(signal));
    await advance(5000);
    subscriber.stream().end();
    await flush();
    expect(subscriber.times).toEqual([0, 1000, 2000, 7000]);
    // Every subscription started from the initial position: none returned a continuation before the third.
    expect(subscriber.calls.slice(0, 3).map((c) => c.start)).toEqual([{ Type: 'TRIM_HORIZON' }, { Type: 'TRIM_HORIZON' }, { Type: 'TRIM_HORIZON' }]);
    expect(subscriber.calls[3].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(0) });
    expect(next.done).toBe(false);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([1]);
  });

  it('close() ends the subscription; the next call re-subscribes from the continuation', async () => {
    const { subscriber, reader } = setup({ settings: { minSubscribeGapMs: 0 } });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(2);
    await flush();
    expect(seqsOf(next)).toEqual([0, 1]);
    await reader.close();
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(subscriber.stream(0).returned).toBe(true);
    next = track(reader.next(signal));
    await flush();
    expect(subscriber.calls.map((c) => c.start)).toEqual([{ Type: 'TRIM_HORIZON' }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) }]);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([2]);
  });
});

describe('EfoReader: shard end', () => {
  const children: ChildShard[] = [
    { ShardId: 'shardId-000000000002', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } },
    { ShardId: 'shardId-000000000003', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '2', EndingHashKey: '3' } },
  ];

  it('ends the shard on a null ContinuationSequenceNumber, names the children and does not subscribe again', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(2);
    await flush();
    expect(batchOf(next).shardEnded).toBe(false);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([2, 3], null, { ChildShards: children, MillisBehindLatest: 0 }));
    await flush();
    expect(batchOf(next)).toEqual({
      records: [expect.objectContaining({ sequenceNumber: seq(2) }), expect.objectContaining({ sequenceNumber: seq(3) })],
      millisBehindLatest: 0,
      shardEnded: true,
      childShardIds: ['shardId-000000000002', 'shardId-000000000003'],
    });
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(subscriber.stream(0).returned).toBe(true);
    await advance(120_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('ends the shard on an undefined ContinuationSequenceNumber, with no children when ChildShards is absent', async () => {
    const { subscriber, reader } = setup();
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().push(ev([], undefined));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: true, childShardIds: [] });
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    await advance(10_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('leaves out child shards without an id', async () => {
    const { subscriber, reader } = setup();
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().push(ev([], null, { ChildShards: [{ ShardId: 'c1' }, { ShardId: undefined }, { ShardId: 'c2' }] as ChildShard[] }));
    await flush();
    expect(batchOf(next).childShardIds).toStrictEqual(['c1', 'c2']);
  });
});

describe('EfoReader: errors thrown by SubscribeToShard', () => {
  it('retries ResourceInUseException after 1000 ms plus a growing jitter, from the same start; a good event resets the backoff', async () => {
    const { subscriber, reader } = setup({ start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(9) } });
    subscriber.answers.push({ error: awsError('ResourceInUseException', 400) }, { error: awsError('ResourceInUseException', 400) });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    expect(subscriber.times).toEqual([0]);
    await advance(1249); // 1000 + floor(0.5 * 500)
    expect(subscriber.times).toEqual([0]);
    expect(next.done).toBe(false);
    await advance(1);
    expect(subscriber.times).toEqual([0, 1250]);
    await advance(1499); // 1000 + floor(0.5 * 1000)
    expect(subscriber.times).toEqual([0, 1250]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 1250, 2750]);
    expect(subscriber.calls.map((c) => c.start)).toEqual(Array(3).fill({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(9) }));
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([10]);
    // The backoff starts again from the first step.
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().fail(awsError('ResourceInUseException', 400));
    await advance(1249);
    expect(subscriber.times).toEqual([0, 1250, 2750]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 1250, 2750, 4000]);
    expect(subscriber.calls[3].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(10) });
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([11]);
  });

  it('retries LimitExceededException with backoff instead of throwing', async () => {
    const { subscriber, reader } = setup({ settings: { minSubscribeGapMs: 0 } });
    subscriber.answers.push({ error: awsError('LimitExceededException', 400) }, { error: awsError('LimitExceededException', 400) });
    const next = track(reader.next(lease().signal));
    await advance(99); // floor(0.5 * 200)
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 100]);
    await advance(199); // floor(0.5 * 400)
    expect(subscriber.times).toEqual([0, 100]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 100, 300]);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
  });

  it('on ResourceNotFoundException invalidates the consumer ARN and retries with a fresh one', async () => {
    const { subscriber, consumer, reader } = setup({ arns: ['arn:consumer/old', 'arn:consumer/new'] });
    subscriber.answers.push({ error: awsError('ResourceNotFoundException', 400) });
    const next = track(reader.next(lease().signal));
    await flush();
    expect(consumer.events).toEqual(['get arn:consumer/old', 'invalidate']);
    await advance(1499); // 1000 + floor(0.5 * 1000)
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(consumer.events).toEqual(['get arn:consumer/old', 'invalidate', 'get arn:consumer/new']);
    expect(subscriber.calls.map((c) => c.consumerArn)).toEqual(['arn:consumer/old', 'arn:consumer/new']);
    expect(subscriber.times).toEqual([0, 1500]);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
  });

  it('throws a fatal error (AccessDeniedException, HTTP 400) from next() without retrying', async () => {
    const { subscriber, reader } = setup();
    const denied = awsError('AccessDeniedException', 400);
    subscriber.answers.push({ error: denied });
    const next = track(reader.next(lease().signal));
    await flush();
    expect(next.done).toBe(true);
    expect(next.error).toBe(denied);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('abandons a subscribe call that does not answer within subscriptionTimeoutMs and retries', async () => {
    const { subscriber, reader } = setup({ start: { type: 'LATEST' }, settings: { subscriptionTimeoutMs: 3000, minSubscribeGapMs: 1000 } });
    subscriber.answers.push('hang');
    const next = track(reader.next(lease().signal));
    await advance(2999);
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    await advance(1);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(next.done).toBe(false);
    await advance(99); // a transient error: floor(0.5 * 200)
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 3100]);
    expect(subscriber.calls[1].start).toEqual({ Type: 'LATEST' });
    expect(subscriber.calls[1].signal.aborted).toBe(false);
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
  });
});

describe('EfoReader: errors in the event stream', () => {
  it.each([
    // name, delay after the error, consumer ARN invalidated
    ['ResourceInUseException', 1250, false],
    ['ResourceNotFoundException', 1500, true],
    ['InternalFailureException', 100, false],
  ])('handles %s delivered as an event like the thrown one', async (name, delay, invalidated) => {
    const { subscriber, consumer, reader } = setup({ settings: { minSubscribeGapMs: 0 } });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
    await advance(50);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(errorEvent(name));
    await flush();
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(consumer.events.includes('invalidate')).toBe(invalidated);
    await advance(delay - 1);
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 50 + delay]);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(0) });
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([1]);
  });

  it('throws a fatal error delivered as an event, with its name and message', async () => {
    const { subscriber, reader } = setup();
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().push(errorEvent('KMSAccessDeniedException', 'no access to the key'));
    await flush();
    expect(next.done).toBe(true);
    expect(next.error).toBeInstanceOf(Error);
    expect(next.error).toMatchObject({ name: 'KMSAccessDeniedException', message: 'no access to the key' });
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('throws a fatal error raised by the stream', async () => {
    const { subscriber, reader } = setup();
    const denied = awsError('AccessDeniedException', 400);
    const next = track(reader.next(lease().signal));
    await flush();
    subscriber.stream().fail(denied);
    await flush();
    expect(next.error).toBe(denied);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
  });

  it('re-subscribes from the continuation after a network error in the stream', async () => {
    const { subscriber, reader } = setup();
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(2);
    await flush();
    expect(seqsOf(next)).toEqual([0, 1]);
    next = track(reader.next(signal));
    await advance(2000);
    subscriber.stream().fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await advance(99); // floor(0.5 * 200)
    expect(subscriber.times).toEqual([0]);
    await advance(1);
    expect(subscriber.times).toEqual([0, 2100]);
    expect(subscriber.calls[1].start).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) });
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([2]);
  });
});

describe('EfoReader: lease lost', () => {
  it('returns an empty, not-ended batch promptly and aborts the subscription when the lease signal aborts', async () => {
    const { subscriber, reader } = setup();
    const controller = lease();
    const next = track(reader.next(controller.signal));
    await flush();
    expect(subscriber.stream().waiting).toBe(true);
    controller.abort();
    await flush();
    expect(next.done).toBe(true);
    expect(next.value).toEqual(EMPTY);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    expect(subscriber.stream(0).returned).toBe(true);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('aborts a subscribe call that has not answered yet and does not retry', async () => {
    const { subscriber, reader } = setup();
    subscriber.answers.push('hang');
    const controller = lease();
    const next = track(reader.next(controller.signal));
    await advance(500);
    controller.abort();
    await flush();
    expect(next.value).toEqual(EMPTY);
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('stops waiting for minSubscribeGapMs when the lease is lost, without opening a subscription', async () => {
    const { subscriber, reader } = setup({ settings: { minSubscribeGapMs: 1000 } });
    const controller = lease();
    const next = track(reader.next(controller.signal));
    await advance(10);
    subscriber.stream().end();
    await advance(100);
    expect(subscriber.calls).toHaveLength(1);
    controller.abort();
    await flush();
    expect(next.value).toEqual(EMPTY);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('stops waiting in an error backoff', async () => {
    const { subscriber, reader } = setup();
    subscriber.answers.push({ error: awsError('ResourceInUseException', 400) });
    const controller = lease();
    const next = track(reader.next(controller.signal));
    await advance(100);
    expect(next.done).toBe(false);
    controller.abort();
    await flush();
    expect(next.value).toEqual(EMPTY);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('does not throw an error that comes with the end of the lease', async () => {
    const { subscriber, consumer, reader } = setup();
    consumer.failOnAbort = awsError('AccessDeniedException', 400);
    const controller = lease();
    const next = track(reader.next(controller.signal));
    await advance(100);
    expect(consumer.events).toEqual(['get arn:consumer/1']);
    controller.abort();
    await flush();
    expect(next.done).toBe(true);
    expect(next.error).toBeUndefined();
    expect(next.value).toEqual(EMPTY);
    expect(subscriber.calls).toHaveLength(0);
  });

  it('returns an empty batch without subscribing when the signal has already aborted', async () => {
    const { subscriber, consumer, reader } = setup();
    const controller = lease();
    controller.abort();
    const next = track(reader.next(controller.signal));
    await flush();
    expect(next.value).toEqual(EMPTY);
    expect(subscriber.calls).toHaveLength(0);
    expect(consumer.events).toEqual([]);
  });

  it('after the lease signal aborted between calls, returns an empty batch and ends the subscription', async () => {
    const { subscriber, reader } = setup();
    const controller = lease();
    const first = track(reader.next(controller.signal));
    await flush();
    subscriber.serve(1);
    await flush();
    expect(seqsOf(first)).toEqual([0]);
    controller.abort();
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    const next = track(reader.next(controller.signal));
    await flush();
    expect(next.value).toEqual(EMPTY);
    expect(subscriber.calls).toHaveLength(1);
  });
});

describe('EfoReader: shard end probe', () => {
  it('ends the shard when an idle subscription is confirmed finished by GetRecords', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [], nextIterator: undefined, childShards: [{ ShardId: 'shardId-000000000004' }, { ShardId: 'shardId-000000000005' }] as ChildShard[] };
    const probe = new ShardEndProbe(fetcher, STREAM_ARN, SHARD, () => Date.now(), 500, 4000);
    const { subscriber, reader } = setup({ probe });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.serve(1);
    await flush();
    expect(seqsOf(next)).toEqual([0]);
    // Idle, but not for long enough: no probe.
    await advance(499);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(0)));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: false, childShardIds: [] });
    expect(fetcher.iteratorCalls).toEqual([]);
    await advance(1);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(0), { MillisBehindLatest: 0 }));
    await flush();
    expect(fetcher.iteratorCalls).toEqual([{ arn: STREAM_ARN, shardId: SHARD, start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(0) } }]);
    expect(fetcher.getRecordsCalls).toEqual([{ arn: STREAM_ARN, iterator: 'iterator-1', limit: 1 }]);
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: true, childShardIds: ['shardId-000000000004', 'shardId-000000000005'] });
    expect(subscriber.calls[0].signal.aborted).toBe(true);
    await advance(60_000);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('goes on reading when the probe finds more to read', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [], nextIterator: 'more' };
    const probe = new ShardEndProbe(fetcher, STREAM_ARN, SHARD, () => Date.now(), 500, 4000);
    const { subscriber, reader } = setup({ probe });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(3)));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: false, childShardIds: [] });
    await advance(500);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(3)));
    await flush();
    expect(fetcher.getRecordsCalls).toHaveLength(1);
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: false, childShardIds: [] });
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([4], seq(4)));
    await flush();
    expect(seqsOf(next)).toEqual([4]);
    expect(subscriber.calls).toHaveLength(1);
  });

  it('calls busy() for records, asks the probe only on empty events, after the last continuation', async () => {
    const probe = new ShardEndProbe(new FakeFetcher(), STREAM_ARN, SHARD, () => Date.now());
    const busy = jest.spyOn(probe, 'busy');
    const maybeProbe = jest.spyOn(probe, 'maybeProbe').mockResolvedValue(undefined);
    const { subscriber, reader } = setup({ probe });
    const signal = lease().signal;
    const batches: Array<Tracked<RecordBatch>> = [];
    for (const event of [ev([0, 1], 'continuation-1'), ev([], 'continuation-2'), ev([2], 'continuation-3'), ev([3], null)]) {
      const next = track(reader.next(signal));
      await flush();
      subscriber.stream().push(event);
      await flush();
      batches.push(next);
    }
    expect(batches.map((b) => seqsOf(b))).toEqual([[0, 1], [], [2], [3]]);
    expect(busy).toHaveBeenCalledTimes(3);
    expect(maybeProbe.mock.calls).toEqual([['continuation-2']]);
  });

  it('a probe that fails does not break the subscription', async () => {
    const fetcher = new FakeFetcher();
    fetcher.error = awsError('ProvisionedThroughputExceededException', 400);
    const probe = new ShardEndProbe(fetcher, STREAM_ARN, SHARD, () => Date.now(), 500, 4000);
    const { subscriber, reader } = setup({ probe });
    const signal = lease().signal;
    let next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(3)));
    await flush();
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 0, shardEnded: false, childShardIds: [] });
    await advance(500);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([], seq(3), { MillisBehindLatest: 12 }));
    await flush();
    expect(fetcher.iteratorCalls).toHaveLength(1);
    expect(batchOf(next)).toEqual({ records: [], millisBehindLatest: 12, shardEnded: false, childShardIds: [] });
    expect(subscriber.calls[0].signal.aborted).toBe(false);
    next = track(reader.next(signal));
    await flush();
    subscriber.stream().push(ev([4], seq(4)));
    await flush();
    expect(seqsOf(next)).toEqual([4]);
    expect(subscriber.calls).toHaveLength(1);
  });
});

describe('EfoReader behind the de-aggregating reader', () => {
  /** Record `i` as a KPL aggregate of `n` user records `agg-<i>-<k>`. */
  function aggregatedRecord(i: number, n: number): _Record {
    const agg = aggregateOf(Array.from({ length: n }, (_, k) => ({ partitionKey: `key-${k}`, data: `agg-${i}-${k}` })));
    return { ...record(i), PartitionKey: agg.partitionKey, Data: agg.data };
  }

  it('resumes AT the record of a mid-aggregate checkpoint and hands out only the user records after it', async () => {
    const resume = resumeFrom(`${seq(41)}:1`);
    const { subscriber, reader: efo } = setup({ start: resume.start });
    const reader = new DeaggregatingReader(efo, { streamArn: STREAM_ARN, shardId: SHARD, skipThrough: resume.skipThrough, log });
    expect(reader.kind).toBe('EFO');
    const first = track(reader.next(lease().signal));
    await flush();
    expect(subscriber.calls.map((c) => c.start)).toEqual([{ Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq(41) }]);
    subscriber.stream().push({ SubscribeToShardEvent: { Records: [aggregatedRecord(41, 4), record(42), aggregatedRecord(43, 2)], ContinuationSequenceNumber: seq(43), MillisBehindLatest: 0 } });
    await flush();
    const batch = batchOf(first);
    expect(batch.records.map((r) => [indexOf(r.sequenceNumber), r.subSequenceNumber, Buffer.from(r.data).toString(), r.partitionKey])).toEqual([
      [41, 2, 'agg-41-2', 'key-2'],
      [41, 3, 'agg-41-3', 'key-3'],
      [42, undefined, 'record-42', 'pk-42'],
      [43, 0, 'agg-43-0', 'key-0'],
      [43, 1, 'agg-43-1', 'key-1'],
    ]);
    // A re-subscription goes on AFTER the continuation: the Kinesis record, not the user record, is the unit there.
    subscriber.stream().end();
    const second = track(reader.next(lease().signal));
    await advance(1000);
    expect(subscriber.calls.map((c) => c.start)[1]).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(43) });
    subscriber.stream().push({ SubscribeToShardEvent: { Records: [aggregatedRecord(44, 2)], ContinuationSequenceNumber: seq(44), MillisBehindLatest: 0 } });
    await flush();
    expect(batchOf(second).records.map((r) => `${indexOf(r.sequenceNumber)}:${r.subSequenceNumber}`)).toEqual(['44:0', '44:1']);
    await reader.close();
  });
});
