import pino from 'pino';
import type { _Record, ChildShard } from '@aws-sdk/client-kinesis';
import type { RecordPage, ShardFetcher } from '../../shared/aws/kinesis-gateway';
import { childShardIds, sourceRecords } from '../../shared/aws/record-mapping';
import type { StartPosition } from '../../shared/position';
import { classifyKinesisError, describeError } from '../../shared/aws/kinesis-errors';
import { PollingReader, pollGap, type PollingSettings } from '../../worker/polling/polling-reader';
import type { RecordBatch } from '../../worker/shard-reader';
import { track } from '../support/track';
import { DeaggregatingReader } from '../../worker/deaggregation/deaggregating-reader';
import { resumeFrom } from '../../worker/shard-reader';
import { aggregateOf } from '../support/aggregates';

const log = pino({ level: 'silent' });
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const SHARD = 'shardId-000000000001';
const FAST: PollingSettings = { maxRecords: 3, intervalMs: 0, emptyIntervalMs: 0 };

function awsError(name: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $metadata: { httpStatusCode } });
}

/** 56-digit sequence numbers, increasing, as Kinesis gives them. */
function seq(i: number): string {
  return `49590338271490256608559692538361571095921575989136${String(i).padStart(6, '0')}`;
}

/**
 * A simulated shard: records with positions; an iterator names a position. Errors can be scripted
 * for particular GetRecords / GetShardIterator calls (0-based call numbers).
 */
class FakeShard implements ShardFetcher {
  readonly records: _Record[] = [];
  closed = false;
  childShards: ChildShard[] | undefined;
  readonly iteratorStarts: StartPosition[] = [];
  readonly getRecordsCalls: Array<{ arn: string; iterator: string; limit: number }> = [];
  readonly iteratorCalls: Array<{ arn: string; shardId: string }> = [];
  readonly getRecordsErrors = new Map<number, Error>();
  readonly iteratorErrors = new Map<number, Error>();
  /** Overrides the iterator returned by GetShardIterator. */
  iteratorOverride?: () => string | undefined;
  private issued = 0;

  constructor(count = 0) {
    this.put(count);
  }

  put(count: number, arrival = new Date('2024-05-01T12:00:00Z')): void {
    for (let i = 0; i < count; i++) {
      const n = this.records.length;
      this.records.push({ SequenceNumber: seq(n), PartitionKey: `pk-${n}`, Data: Buffer.from(`record-${n}`), ApproximateArrivalTimestamp: new Date(arrival.getTime() + n) });
    }
  }

  async getShardIterator(arn: string, shardId: string, start: StartPosition): Promise<string | undefined> {
    const call = this.iteratorCalls.length;
    this.iteratorCalls.push({ arn, shardId });
    this.iteratorStarts.push({ ...start });
    const err = this.iteratorErrors.get(call);
    if (err) throw err;
    if (this.iteratorOverride) return this.iteratorOverride();
    let position: number;
    switch (start.type) {
      case 'TRIM_HORIZON':
        position = 0;
        break;
      case 'LATEST':
        position = this.records.length;
        break;
      case 'AT_TIMESTAMP':
        position = this.records.findIndex((r) => r.ApproximateArrivalTimestamp!.getTime() >= start.timestamp!.getTime());
        if (position < 0) position = this.records.length;
        break;
      case 'AFTER_SEQUENCE_NUMBER':
        position = this.records.findIndex((r) => r.SequenceNumber === start.sequenceNumber) + 1;
        if (position === 0) throw new Error(`no record ${start.sequenceNumber}`);
        break;
      case 'AT_SEQUENCE_NUMBER':
        position = this.records.findIndex((r) => r.SequenceNumber === start.sequenceNumber);
        break;
      default:
        throw new Error(`unexpected iterator type ${String((start as { type: string }).type)}`);
    }
    return `iterator/${position}/${++this.issued}`;
  }

  /** Answers as the gateway does: the SDK's records mapped at the boundary. */
  async getRecords(arn: string, shardId: string, iterator: string, limit: number): Promise<RecordPage> {
    const call = this.getRecordsCalls.length;
    this.getRecordsCalls.push({ arn, iterator, limit });
    const err = this.getRecordsErrors.get(call);
    if (err) throw err;
    const position = Number(iterator.split('/')[1]);
    const records = this.records.slice(position, position + limit);
    const next = position + records.length;
    const ended = this.closed && next >= this.records.length;
    return {
      records: sourceRecords(shardId, records),
      nextIterator: ended ? undefined : `iterator/${next}/${++this.issued}`,
      millisBehindLatest: (this.records.length - next) * 1000,
      childShardIds: ended ? childShardIds(this.childShards) : [],
    };
  }
}

function reader(shard: ShardFetcher, start: StartPosition, settings: PollingSettings = FAST): PollingReader {
  return new PollingReader(shard, ARN, SHARD, start, settings, log, () => Date.now());
}

const signal = () => new AbortController().signal;
const seqsOf = (batch: RecordBatch) => batch.records.map((r) => r.sequenceNumber);

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('PollingReader: starting position', () => {
  it('starts AFTER_SEQUENCE_NUMBER of a checkpoint', async () => {
    const shard = new FakeShard(6);
    const r = reader(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) });
    const batch = await r.next(signal());
    expect(shard.iteratorStarts).toEqual([{ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) }]);
    expect(shard.iteratorCalls).toEqual([{ arn: ARN, shardId: SHARD }]);
    expect(seqsOf(batch)).toEqual([seq(3), seq(4), seq(5)]);
  });

  it('starts at TRIM_HORIZON', async () => {
    const shard = new FakeShard(2);
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }).next(signal());
    expect(shard.iteratorStarts).toEqual([{ type: 'TRIM_HORIZON' }]);
    expect(seqsOf(batch)).toEqual([seq(0), seq(1)]);
  });

  it('starts at LATEST', async () => {
    const shard = new FakeShard(2);
    const r = reader(shard, { type: 'LATEST' });
    const first = await r.next(signal());
    expect(shard.iteratorStarts).toEqual([{ type: 'LATEST' }]);
    expect(first.records).toEqual([]);
    shard.put(1);
    expect(seqsOf(await r.next(signal()))).toEqual([seq(2)]);
  });

  it('starts AT_TIMESTAMP', async () => {
    const shard = new FakeShard(5);
    const timestamp = new Date(new Date('2024-05-01T12:00:00Z').getTime() + 3);
    const batch = await reader(shard, { type: 'AT_TIMESTAMP', timestamp }).next(signal());
    expect(shard.iteratorStarts).toEqual([{ type: 'AT_TIMESTAMP', timestamp }]);
    expect(seqsOf(batch)).toEqual([seq(3), seq(4)]);
  });

  it('gets an iterator once and then follows NextShardIterator', async () => {
    const shard = new FakeShard(7);
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    await r.next(signal());
    await r.next(signal());
    await r.next(signal());
    expect(shard.iteratorStarts).toHaveLength(1);
    expect(shard.getRecordsCalls.map((c) => c.iterator.split('/')[1])).toEqual(['0', '3', '6']);
    expect(shard.getRecordsCalls.every((c) => c.arn === ARN && c.limit === 3)).toBe(true);
  });

  it('asks for no more records than the caller has room for, and never more than max-record-count', async () => {
    const shard = new FakeShard(10);
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    expect(seqsOf(await r.next(signal(), 2))).toHaveLength(2);
    expect(seqsOf(await r.next(signal(), 50))).toHaveLength(3);
    expect(seqsOf(await r.next(signal(), 0))).toHaveLength(1);
    expect(shard.getRecordsCalls.map((c) => c.limit)).toEqual([2, 3, 1]);
  });

  it('maps each record and passes millisBehindLatest through', async () => {
    const shard = new FakeShard(4);
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }, { maxRecords: 2, intervalMs: 0, emptyIntervalMs: 0 }).next(signal());
    expect(batch.records).toEqual([
      { shardId: SHARD, sequenceNumber: seq(0), partitionKey: 'pk-0', data: Buffer.from('record-0'), approximateArrivalTimestamp: new Date('2024-05-01T12:00:00.000Z') },
      { shardId: SHARD, sequenceNumber: seq(1), partitionKey: 'pk-1', data: Buffer.from('record-1'), approximateArrivalTimestamp: new Date('2024-05-01T12:00:00.001Z') },
    ]);
    expect(batch.millisBehindLatest).toBe(2000);
    expect(batch.shardEnded).toBe(false);
    expect(batch.childShardIds).toEqual([]);
  });

  it('gives a record without Data an empty payload', async () => {
    const fetcher: ShardFetcher = {
      getShardIterator: async () => 'it',
      getRecords: async (_arn, shardId) => ({ records: sourceRecords(shardId, [{ SequenceNumber: '1', PartitionKey: 'k', Data: undefined }]), nextIterator: 'it2', childShardIds: [] }),
    };
    const batch = await reader(fetcher, { type: 'TRIM_HORIZON' }).next(signal());
    expect(batch.records[0].data).toEqual(new Uint8Array());
    expect(batch.records[0].data.byteLength).toBe(0);
  });
});

describe('PollingReader: expired iterator', () => {
  it('gets a new iterator AFTER_SEQUENCE_NUMBER of the last record returned; nothing skipped or repeated', async () => {
    const shard = new FakeShard(10);
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    const read: string[] = [];
    read.push(...seqsOf(await r.next(signal()))); // 0, 1, 2
    shard.getRecordsErrors.set(1, awsError('ExpiredIteratorException', 400));
    read.push(...seqsOf(await r.next(signal()))); // expired, then 3, 4, 5
    expect(shard.iteratorStarts).toEqual([{ type: 'TRIM_HORIZON' }, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) }]);
    shard.getRecordsErrors.set(4, awsError('ExpiredIteratorException', 400));
    read.push(...seqsOf(await r.next(signal()))); // 6, 7, 8
    read.push(...seqsOf(await r.next(signal()))); // expired, then 9
    read.push(...seqsOf(await r.next(signal()))); // nothing new
    expect(shard.iteratorStarts).toEqual([
      { type: 'TRIM_HORIZON' },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(8) },
    ]);
    expect(read).toEqual(Array.from({ length: 10 }, (_, i) => seq(i)));
  });

  it('after an expiry before any record, uses the checkpoint again', async () => {
    const shard = new FakeShard(5);
    shard.getRecordsErrors.set(0, awsError('ExpiredIteratorException', 400));
    const r = reader(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) });
    expect(seqsOf(await r.next(signal()))).toEqual([seq(2), seq(3), seq(4)]);
    expect(shard.iteratorStarts).toEqual([
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) },
    ]);
  });

  it('after an expiry before any record, uses the initial position again', async () => {
    const shard = new FakeShard(2);
    shard.getRecordsErrors.set(0, awsError('ExpiredIteratorException', 400));
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    expect(seqsOf(await r.next(signal()))).toEqual([seq(0), seq(1)]);
    expect(shard.iteratorStarts).toEqual([{ type: 'TRIM_HORIZON' }, { type: 'TRIM_HORIZON' }]);
  });

  it('after empty batches, still uses the last record returned', async () => {
    const shard = new FakeShard(2);
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    expect(seqsOf(await r.next(signal()))).toEqual([seq(0), seq(1)]);
    expect((await r.next(signal())).records).toEqual([]);
    shard.put(1);
    shard.getRecordsErrors.set(2, awsError('ExpiredIteratorException', 400));
    expect(seqsOf(await r.next(signal()))).toEqual([seq(2)]);
    expect(shard.iteratorStarts[1]).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) });
  });
});

describe('PollingReader: errors', () => {
  it('retries GetRecords after ProvisionedThroughputExceededException instead of throwing', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const shard = new FakeShard(3);
    shard.getRecordsErrors.set(0, awsError('ProvisionedThroughputExceededException', 400));
    shard.getRecordsErrors.set(1, awsError('ProvisionedThroughputExceededException', 400));
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }).next(signal());
    expect(seqsOf(batch)).toEqual([seq(0), seq(1), seq(2)]);
    expect(shard.getRecordsCalls).toHaveLength(3);
    // The same iterator is used again: throttling does not lose the position.
    expect(new Set(shard.getRecordsCalls.map((c) => c.iterator)).size).toBe(1);
    expect(shard.iteratorStarts).toHaveLength(1);
  });

  it('waits a backoff before retrying a throttled call (fake timers)', async () => {
    jest.useFakeTimers();
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const shard = new FakeShard(1);
    shard.getRecordsErrors.set(0, awsError('ProvisionedThroughputExceededException', 400));
    shard.getRecordsErrors.set(1, awsError('ProvisionedThroughputExceededException', 400));
    let batch: RecordBatch | undefined;
    void reader(shard, { type: 'TRIM_HORIZON' }).next(signal()).then((b) => (batch = b));
    await jest.advanceTimersByTimeAsync(0);
    expect(shard.getRecordsCalls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(99); // first retry after floor(0.5 * 200) = 100 ms
    expect(shard.getRecordsCalls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(shard.getRecordsCalls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(199); // second retry after floor(0.5 * 400) = 200 ms
    expect(shard.getRecordsCalls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(shard.getRecordsCalls).toHaveLength(3);
    expect(batch && seqsOf(batch)).toEqual([seq(0)]);
  });

  it('retries transient errors (5xx, network) instead of throwing', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const shard = new FakeShard(1);
    shard.getRecordsErrors.set(0, awsError('InternalFailure', 500));
    shard.getRecordsErrors.set(1, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }).next(signal());
    expect(seqsOf(batch)).toEqual([seq(0)]);
    expect(shard.getRecordsCalls).toHaveLength(3);
  });

  it('retries a throttled GetShardIterator', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const shard = new FakeShard(1);
    shard.iteratorErrors.set(0, awsError('LimitExceededException', 400));
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }).next(signal());
    expect(seqsOf(batch)).toEqual([seq(0)]);
    expect(shard.iteratorStarts).toEqual([{ type: 'TRIM_HORIZON' }, { type: 'TRIM_HORIZON' }]);
  });

  it('throws a fatal error (AccessDeniedException, HTTP 400)', async () => {
    const shard = new FakeShard(1);
    const denied = awsError('AccessDeniedException', 400);
    shard.getRecordsErrors.set(0, denied);
    await expect(reader(shard, { type: 'TRIM_HORIZON' }).next(signal())).rejects.toBe(denied);
    expect(shard.getRecordsCalls).toHaveLength(1);
  });

  it('throws a fatal error from GetShardIterator', async () => {
    const shard = new FakeShard(1);
    const invalid = awsError('InvalidArgumentException', 400);
    shard.iteratorErrors.set(0, invalid);
    await expect(reader(shard, { type: 'TRIM_HORIZON' }).next(signal())).rejects.toBe(invalid);
    expect(shard.getRecordsCalls).toHaveLength(0);
  });

  it('throws ResourceNotFoundException', async () => {
    const shard = new FakeShard(1);
    const missing = awsError('ResourceNotFoundException', 400);
    shard.getRecordsErrors.set(0, missing);
    await expect(reader(shard, { type: 'TRIM_HORIZON' }).next(signal())).rejects.toBe(missing);
  });

  it('stops retrying and returns an empty batch when aborted during the backoff', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.99);
    const shard = new FakeShard(1);
    for (let i = 0; i < 100; i++) shard.getRecordsErrors.set(i, awsError('ProvisionedThroughputExceededException', 400));
    const controller = new AbortController();
    const pending = reader(shard, { type: 'TRIM_HORIZON' }).next(controller.signal);
    // The first call has failed and the reader is in its backoff once the call is recorded.
    for (let i = 0; i < 50 && shard.getRecordsCalls.length === 0; i++) await Promise.resolve();
    expect(shard.getRecordsCalls).toHaveLength(1);
    controller.abort();
    await expect(pending).resolves.toEqual({ records: [], shardEnded: false, childShardIds: [] });
    expect(shard.getRecordsCalls).toHaveLength(1);
  });

  it('returns an empty batch without calling Kinesis when already aborted', async () => {
    const shard = new FakeShard(1);
    const controller = new AbortController();
    controller.abort();
    await expect(reader(shard, { type: 'TRIM_HORIZON' }).next(controller.signal)).resolves.toEqual({ records: [], shardEnded: false, childShardIds: [] });
    expect(shard.iteratorCalls).toHaveLength(0);
    expect(shard.getRecordsCalls).toHaveLength(0);
  });
});

describe('PollingReader: shard end', () => {
  it('reports shardEnded with the child shard ids when NextShardIterator is absent', async () => {
    const shard = new FakeShard(4);
    shard.closed = true;
    shard.childShards = [
      { ShardId: 'shardId-000000000002', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } },
      { ShardId: 'shardId-000000000003', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '2', EndingHashKey: '3' } },
    ];
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    const first = await r.next(signal());
    expect(seqsOf(first)).toEqual([seq(0), seq(1), seq(2)]);
    expect(first.shardEnded).toBe(false);
    expect(first.childShardIds).toEqual([]);
    const last = await r.next(signal());
    expect(seqsOf(last)).toEqual([seq(3)]);
    expect(last.shardEnded).toBe(true);
    expect(last.childShardIds).toEqual(['shardId-000000000002', 'shardId-000000000003']);
  });

  it('reports shardEnded with no children when ChildShards is absent', async () => {
    const shard = new FakeShard(0);
    shard.closed = true;
    const batch = await reader(shard, { type: 'TRIM_HORIZON' }).next(signal());
    expect(batch).toEqual({ records: [], millisBehindLatest: 0, shardEnded: true, childShardIds: [] });
  });

  it('leaves out child shards without an id (mapped at the AWS boundary)', () => {
    expect(childShardIds([{ ShardId: 'c1' }, { ShardId: undefined }, { ShardId: 'c2' }] as ChildShard[])).toEqual(['c1', 'c2']);
  });

  it('reports shardEnded when GetShardIterator returns no iterator', async () => {
    const shard = new FakeShard(3);
    shard.iteratorOverride = () => undefined;
    const batch = await reader(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) }).next(signal());
    expect(batch).toEqual({ records: [], shardEnded: true, childShardIds: [] });
    expect(shard.getRecordsCalls).toHaveLength(0);
  });
});

describe('PollingReader: pacing (fake timers)', () => {
  it('keeps intervalMs between two GetRecords calls', async () => {
    jest.useFakeTimers();
    const shard = new FakeShard(10);
    const r = reader(shard, { type: 'TRIM_HORIZON' }, { maxRecords: 1, intervalMs: 200, emptyIntervalMs: 0 });
    await r.next(signal());
    expect(shard.getRecordsCalls).toHaveLength(1);
    const second = r.next(signal());
    await jest.advanceTimersByTimeAsync(199);
    expect(shard.getRecordsCalls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(seqsOf(await second)).toEqual([seq(1)]);
    expect(shard.getRecordsCalls).toHaveLength(2);
  });

  it('waits emptyIntervalMs after an empty batch', async () => {
    jest.useFakeTimers();
    const shard = new FakeShard(0);
    const r = reader(shard, { type: 'TRIM_HORIZON' }, { maxRecords: 10, intervalMs: 100, emptyIntervalMs: 500 });
    expect((await r.next(signal())).records).toEqual([]);
    shard.put(1);
    const second = r.next(signal());
    await jest.advanceTimersByTimeAsync(499);
    expect(shard.getRecordsCalls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(seqsOf(await second)).toEqual([seq(0)]);
    // Not empty: the next gap is intervalMs again.
    const third = r.next(signal());
    await jest.advanceTimersByTimeAsync(99);
    expect(shard.getRecordsCalls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    await third;
    expect(shard.getRecordsCalls).toHaveLength(3);
  });

  it('does not wait when the gap has already passed', async () => {
    jest.useFakeTimers();
    const shard = new FakeShard(2);
    const r = reader(shard, { type: 'TRIM_HORIZON' }, { maxRecords: 1, intervalMs: 200, emptyIntervalMs: 0 });
    await r.next(signal());
    await jest.advanceTimersByTimeAsync(300);
    const second = track(r.next(signal()));
    await jest.advanceTimersByTimeAsync(0);
    expect(second.done).toBe(true);
    expect(second.error).toBeUndefined();
    expect(shard.getRecordsCalls).toHaveLength(2);
  });
});


describe('PollingReader: an idle shard backs off (fake timers)', () => {
  const IDLE: PollingSettings = { maxRecords: 10, intervalMs: 200, emptyIntervalMs: 250, idleIntervalMs: 2000 };

  it('doubles the pause after each empty page up to the idle interval, and a record resets it', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => pollGap(IDLE, n))).toEqual([200, 250, 500, 1000, 2000, 2000, 2000]);
    // Without an idle interval above the empty one, nothing grows (the behaviour before).
    expect([1, 2, 9].map((n) => pollGap({ ...IDLE, idleIntervalMs: undefined }, n))).toEqual([250, 250, 250]);
    expect([1, 2, 9].map((n) => pollGap({ ...IDLE, idleIntervalMs: 100 }, n))).toEqual([250, 250, 250]);
  });

  it('polls a quiet shard about once per idle interval once backed off', async () => {
    jest.useFakeTimers();
    const shard = new FakeShard(0);
    const r = reader(shard, { type: 'TRIM_HORIZON' }, IDLE);
    const ac = new AbortController();
    const loop = (async () => {
      while (!ac.signal.aborted) await r.next(ac.signal);
    })();
    await jest.advanceTimersByTimeAsync(60_000);
    // Calls at 0, 250, 750, 1,750, then every 2 s from 3,750: 33 in a minute, not 240 as every 250 ms.
    expect(shard.getRecordsCalls.length).toBe(33);
    ac.abort();
    await loop;
  });

  it('reads the first record after a quiet spell within one idle interval of its arrival, whenever it arrives, then paces as a busy shard', async () => {
    jest.useFakeTimers();
    // Arrivals at every phase of the backed-off cycle, after quiet spells long and short.
    for (const quietMs of [0, 100, 700, 1750, 1999, 2000, 2001, 10_000, 61_234]) {
      const shard = new FakeShard(0);
      const r = reader(shard, { type: 'TRIM_HORIZON' }, { ...IDLE, maxRecords: 1 });
      const ac = new AbortController();
      const readAt: number[] = [];
      const loop = (async () => {
        while (!ac.signal.aborted) {
          const batch = await r.next(ac.signal);
          if (batch.records.length > 0) readAt.push(Date.now());
        }
      })();
      await jest.advanceTimersByTimeAsync(quietMs);
      const arrivedAt = Date.now();
      shard.put(2);
      await jest.advanceTimersByTimeAsync(IDLE.idleIntervalMs! + IDLE.intervalMs + 1);
      expect(readAt).toHaveLength(2);
      expect(readAt[0] - arrivedAt).toBeLessThanOrEqual(IDLE.idleIntervalMs!);
      // A page with records resets the backoff: the second record comes intervalMs later.
      expect(readAt[1] - readAt[0]).toBe(IDLE.intervalMs);
      ac.abort();
      await loop;
    }
  });

  it('a stop (the lease signal) ends a backed-off wait at once', async () => {
    jest.useFakeTimers();
    const shard = new FakeShard(0);
    const r = reader(shard, { type: 'TRIM_HORIZON' }, IDLE);
    const ac = new AbortController();
    for (let i = 0; i < 6; i++) {
      const next = track(r.next(ac.signal));
      while (!next.done) await jest.advanceTimersByTimeAsync(1);
    }
    const waiting = track(r.next(ac.signal));
    await jest.advanceTimersByTimeAsync(10);
    expect(waiting.done).toBe(false);
    ac.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(waiting.done).toBe(true);
  });
});

describe('PollingReader: close', () => {
  it('gets a new iterator after close, from the last record returned', async () => {
    const shard = new FakeShard(5);
    const r = reader(shard, { type: 'TRIM_HORIZON' });
    expect(r.kind).toBe('POLLING');
    await r.next(signal());
    await r.close();
    expect(seqsOf(await r.next(signal()))).toEqual([seq(3), seq(4)]);
    expect(shard.iteratorStarts).toEqual([{ type: 'TRIM_HORIZON' }, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) }]);
  });
});

describe('classifyKinesisError', () => {
  const withName = (name: string, status?: number) => awsError(name, status);

  it.each([
    'ProvisionedThroughputExceededException',
    'LimitExceededException',
    'ThrottlingException',
    'KMSThrottlingException',
    'RequestLimitExceeded',
    'SlowDown',
  ])('classifies %s as throttled', (name) => {
    expect(classifyKinesisError(withName(name, 400))).toBe('throttled');
    expect(classifyKinesisError(withName(name))).toBe('throttled');
  });

  it('classifies HTTP 429 as throttled', () => {
    expect(classifyKinesisError(withName('SomeNewException', 429))).toBe('throttled');
  });

  it('classifies ExpiredIteratorException as expired-iterator', () => {
    expect(classifyKinesisError(withName('ExpiredIteratorException', 400))).toBe('expired-iterator');
  });

  it('classifies ResourceNotFoundException as not-found', () => {
    expect(classifyKinesisError(withName('ResourceNotFoundException', 400))).toBe('not-found');
  });

  it.each([
    ['HTTP 500', withName('InternalFailure', 500)],
    ['HTTP 503', withName('SomethingException', 503)],
    ['$retryable', Object.assign(withName('SomethingException', 400), { $retryable: { throttling: false } })],
    ['InternalFailure without status', withName('InternalFailure')],
    ['ServiceUnavailable', withName('ServiceUnavailable')],
    ['TimeoutError', withName('TimeoutError')],
    ['AbortError', withName('AbortError')],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT with an Exception name', Object.assign(withName('NetworkingException'), { code: 'ETIMEDOUT' })],
    ['EAI_AGAIN', Object.assign(new Error('getaddrinfo'), { code: 'EAI_AGAIN' })],
    ['a plain Error', new Error('boom')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
    ['null', null],
  ])('classifies %s as transient', (_what, err) => {
    expect(classifyKinesisError(err)).toBe('transient');
  });

  it.each([
    ['AccessDeniedException 400', withName('AccessDeniedException', 400)],
    ['AccessDeniedException without status', withName('AccessDeniedException')],
    ['ValidationException 400', withName('ValidationException', 400)],
    ['InvalidArgumentException 400', withName('InvalidArgumentException', 400)],
    ['KMSAccessDeniedException 400', withName('KMSAccessDeniedException', 400)],
    ['an unknown error with HTTP 403', withName('Forbidden', 403)],
  ])('classifies %s as fatal', (_what, err) => {
    expect(classifyKinesisError(err)).toBe('fatal');
  });

  it('describeError shows the name and message, or the value', () => {
    expect(describeError(withName('AccessDeniedException', 400))).toBe('AccessDeniedException: AccessDeniedException: simulated');
    expect(describeError(new TypeError('bad'))).toBe('TypeError: bad');
    expect(describeError('text')).toBe('text');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError({ name: 'X' })).toBe('[object Object]');
  });
});

describe('PollingReader behind the de-aggregating reader', () => {
  /** Puts record n as a KPL aggregate of `count` user records `agg-<n>-<k>`. */
  function putAggregate(shard: FakeShard, count: number): void {
    const n = shard.records.length;
    const agg = aggregateOf(Array.from({ length: count }, (_, k) => ({ partitionKey: `key-${k}`, data: `agg-${n}-${k}` })));
    shard.records.push({ SequenceNumber: seq(n), PartitionKey: agg.partitionKey, Data: agg.data, ApproximateArrivalTimestamp: new Date() });
  }

  it('resumes AT_SEQUENCE_NUMBER of a mid-aggregate checkpoint and skips exactly the acknowledged user records', async () => {
    const shard = new FakeShard(1);
    putAggregate(shard, 5); // seq(1)
    shard.put(1); // seq(2), plain
    const resume = resumeFrom(`${seq(1)}:2`);
    const r = new DeaggregatingReader(reader(shard, resume.start, { ...FAST, maxRecords: 10 }), { streamArn: ARN, shardId: SHARD, skipThrough: resume.skipThrough, log });
    const batch = await r.next(signal());
    expect(shard.iteratorStarts).toEqual([{ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(1) }]);
    expect(batch.records.map((x) => [x.sequenceNumber, x.subSequenceNumber, Buffer.from(x.data).toString()])).toEqual([
      [seq(1), 3, 'agg-1-3'],
      [seq(1), 4, 'agg-1-4'],
      [seq(2), undefined, 'record-2'],
    ]);
  });

  it('passes plain records through, and an expired iterator is renewed AFTER the last Kinesis record read', async () => {
    const shard = new FakeShard(0);
    putAggregate(shard, 2);
    shard.put(2);
    const r = new DeaggregatingReader(reader(shard, { type: 'TRIM_HORIZON' }, { ...FAST, maxRecords: 2 }), { streamArn: ARN, shardId: SHARD, log });
    expect((await r.next(signal())).records.map((x) => Buffer.from(x.data).toString())).toEqual(['agg-0-0', 'agg-0-1', 'record-1']);
    shard.getRecordsErrors.set(1, awsError('ExpiredIteratorException', 400));
    expect((await r.next(signal())).records.map((x) => Buffer.from(x.data).toString())).toEqual(['record-2']);
    expect(shard.iteratorStarts[1]).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) });
  });
});
