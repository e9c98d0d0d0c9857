/**
 * KPL de-aggregation of reader batches (aggregates made by the independent `aws-kinesis-agg`), and the
 * reader wrapper that skips the user records of a mid-aggregate checkpoint.
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import { deaggregate, Deaggregator, hashKeyRangeOf } from '../../worker/deaggregation/deaggregate';
import { AGGREGATE_PART_RECORDS, DeaggregatingReader } from '../../worker/deaggregation/deaggregating-reader';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { metrics } from '../../shared/metrics';
import { positionOf } from '../../shared/position';
import type { SourceRecord } from '../../shared/records';
import { resumeFrom, type RecordBatch } from '../../worker/shard-reader';
import { aggregateOf, withBadDigest } from '../support/aggregates';
import { ScriptedReader } from '../support/scripted-reader';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const ARRIVAL = new Date('2024-05-01T12:00:00Z');

function seq(i: number): string {
  return `49590338271490256608559692538361571095921575989136${String(i).padStart(6, '0')}`;
}

function plain(i: number, text = `plain-${i}`): SourceRecord {
  return { shardId: SHARD, sequenceNumber: seq(i), partitionKey: `pk-${i}`, data: Buffer.from(text), approximateArrivalTimestamp: ARRIVAL };
}

/** A Kinesis record at `seq(i)` that aggregates `n` user records `agg-<i>-<k>` with keys `key-<k % 3>`. */
function aggregated(i: number, n: number, ehk?: (k: number) => string | undefined): SourceRecord {
  const users = Array.from({ length: n }, (_, k) => ({ partitionKey: `key-${k % 3}`, explicitHashKey: ehk?.(k), data: `agg-${i}-${k}` }));
  const agg = aggregateOf(users);
  return { shardId: SHARD, sequenceNumber: seq(i), partitionKey: agg.partitionKey, data: agg.data, approximateArrivalTimestamp: ARRIVAL };
}

const texts = (records: readonly SourceRecord[]) => records.map((r) => Buffer.from(r.data).toString());
const positions = (records: readonly SourceRecord[]) => records.map((r) => (r.subSequenceNumber === undefined ? r.sequenceNumber.slice(-2) : `${r.sequenceNumber.slice(-2)}:${r.subSequenceNumber}`));

describe('deaggregate', () => {
  it('passes plain records through as the same objects', () => {
    const records = [plain(1), plain(2, '{"a":1}'), plain(3, '')];
    const out = deaggregate(records);
    expect(out.records).toBe(records); // a batch without aggregates is not even copied
    expect(out.records).toHaveLength(3);
    out.records.forEach((r, i) => expect(r).toBe(records[i]));
    expect(out).toMatchObject({ aggregates: 0, corrupt: 0, outsideShard: 0 });
  });

  it('turns an aggregate into its user records: sequence number, sub-sequence number, own keys, in order', () => {
    const out = deaggregate([plain(1), aggregated(2, 4, (k) => (k === 1 ? '123456789' : undefined)), plain(3)]);
    expect(texts(out.records)).toEqual(['plain-1', 'agg-2-0', 'agg-2-1', 'agg-2-2', 'agg-2-3', 'plain-3']);
    expect(positions(out.records)).toEqual(['01', '02:0', '02:1', '02:2', '02:3', '03']);
    const users = out.records.slice(1, 5);
    expect(users.map((r) => r.partitionKey)).toEqual(['key-0', 'key-1', 'key-2', 'key-0']);
    expect(users.map((r) => r.explicitHashKey)).toEqual([undefined, '123456789', undefined, undefined]);
    expect(users.every((r) => r.aggregateSize === 4 && r.shardId === SHARD && r.approximateArrivalTimestamp === ARRIVAL && r.rejection === undefined)).toBe(true);
    expect(out).toMatchObject({ aggregates: 1, corrupt: 0 });
    // The checkpoint of the last user record is the whole record's.
    expect(users.map(positionOf)).toEqual([`${seq(2)}:0`, `${seq(2)}:1`, `${seq(2)}:2`, seq(2)]);
  });

  it('keeps a corrupt aggregate as one raw record with its reason (bad MD5, bad protobuf), and goes on', () => {
    const good = aggregated(2, 2);
    const badDigest = { ...aggregated(3, 2), data: withBadDigest(aggregated(3, 2).data as Buffer) };
    // Magic, then bytes that are not an AggregatedRecord, then a digest that matches them.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x07]);
    const digest = createHash('md5').update(garbage).digest();
    const badProtobuf: SourceRecord = { ...plain(4), data: Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), garbage, digest]) };
    const out = deaggregate([good, badDigest, badProtobuf, plain(5)]);
    expect(positions(out.records)).toEqual(['02:0', '02:1', '03', '04', '05']);
    expect(out.records[2]).toMatchObject({ sequenceNumber: seq(3), rejection: expect.stringMatching(/^corrupt aggregate: /) });
    expect(out.records[2].data).toBe(badDigest.data);
    expect(out.records[2].subSequenceNumber).toBeUndefined();
    expect(out.records[3]).toMatchObject({ sequenceNumber: seq(4), rejection: expect.stringMatching(/^corrupt aggregate: /) });
    expect(out.records[4].rejection).toBeUndefined();
    expect(out).toMatchObject({ aggregates: 3, corrupt: 2 });
  });

  it('counts user records whose hash key lies outside the shard, and delivers them all the same', () => {
    const inside = partitionKeyHash('key-0');
    const range = { start: inside, end: inside };
    // key-0 hashes inside; key-1 and key-2 outside; an explicit hash key decides over the partition key.
    const out = deaggregate([aggregated(1, 6, (k) => (k === 5 ? inside.toString() : undefined))], range);
    expect(out.records).toHaveLength(6);
    expect(out.outsideShard).toBe(3); // k = 1, 2, 4 (k = 0, 3 are key-0; k = 5 has the explicit hash key)
    expect(deaggregate([aggregated(1, 6)]).outsideShard).toBe(0); // no range known: no check
  });

  it('reads a lease job\'s hash-key range, tolerating jobs without one', () => {
    expect(hashKeyRangeOf({ startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' })).toEqual({ start: 0n, end: (1n << 128n) - 1n });
    expect(hashKeyRangeOf(undefined)).toBeUndefined();
    expect(hashKeyRangeOf({ startingHashKey: '0x1', endingHashKey: '2' })).toBeUndefined();
  });
});


const signal = new AbortController().signal;

describe('DeaggregatingReader', () => {
  it('after a mid-aggregate checkpoint, skips exactly the user records up to its sub-sequence number', async () => {
    const resume = resumeFrom(`${seq(2)}:2`);
    expect(resume.start).toEqual({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(2) });
    // The inner reader starts AT the record: the aggregate comes again, whole.
    const inner = new ScriptedReader([[aggregated(2, 5), plain(3)], [aggregated(4, 3)]], { endsShard: true });
    const reader = new DeaggregatingReader(inner, { streamArn: STREAM, shardId: SHARD, skipThrough: resume.skipThrough, log });
    expect(positions((await reader.next(signal)).records)).toEqual(['02:3', '02:4', '03']);
    // Later aggregates are not touched.
    expect(positions((await reader.next(signal)).records)).toEqual(['04:0', '04:1', '04:2']);
  });

  it('skips nothing when the checkpointed record is gone (trimmed) and the shard starts later', async () => {
    const inner = new ScriptedReader([[aggregated(7, 2)]], { endsShard: true });
    const reader = new DeaggregatingReader(inner, { streamArn: STREAM, shardId: SHARD, skipThrough: resumeFrom(`${seq(2)}:0`).skipThrough, log });
    expect(positions((await reader.next(signal)).records)).toEqual(['07:0', '07:1']);
  });

  it('a whole-record checkpoint written by older versions resumes AFTER it and skips nothing', async () => {
    const resume = resumeFrom(seq(2));
    expect(resume).toEqual({ start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) } });
    const reader = new DeaggregatingReader(new ScriptedReader([[plain(3), aggregated(4, 2)]], { endsShard: true }), { streamArn: STREAM, shardId: SHARD, log });
    expect(positions((await reader.next(signal)).records)).toEqual(['03', '04:0', '04:1']);
  });

  it('counts user records outside the shard in the Prometheus metric', async () => {
    const inside = partitionKeyHash('key-0');
    const shard = `shardId-${Date.now()}`;
    const reader = new DeaggregatingReader(new ScriptedReader([[aggregated(1, 3)]], { endsShard: true }), { streamArn: STREAM, shardId: shard, hashKeyRange: { start: inside, end: inside }, log });
    expect((await reader.next(signal)).records).toHaveLength(3);
    const metric = await metrics().userRecordsOutsideShard.get();
    expect(metric.values.find((v) => v.labels.shard === shard)?.value).toBe(2);
  });

  it('asks the inner reader for a limit in Kinesis records scaled by the recent user records per record', async () => {
    const inner = new ScriptedReader([[aggregated(1, 10)], [aggregated(2, 10)], [plain(3)]], { endsShard: true });
    const reader = new DeaggregatingReader(inner, { streamArn: STREAM, shardId: SHARD, log });
    await reader.next(signal, 100);
    await reader.next(signal, 100);
    await reader.next(signal);
    expect(inner.limits[0]).toBe(100);
    expect(inner.limits[1]).toBeLessThan(20);
    expect(inner.limits[2]).toBeUndefined();
  });

  it('hands a batch holding more user records than asked for out over several calls, reading nothing meanwhile; the shard ends with the last part', async () => {
    const inner = new ScriptedReader([[plain(1), aggregated(2, 1200), plain(3), aggregated(4, 5)]], { endsShard: true });
    const reader = new DeaggregatingReader(inner, { streamArn: STREAM, shardId: SHARD, log });
    const parts: RecordBatch[] = [];
    for (let i = 0; i < 10 && !parts.at(-1)?.shardEnded; i++) parts.push(await reader.next(signal, 500));
    expect(inner.limits).toEqual([500]); // one read
    expect(parts.map((p) => p.records.length)).toEqual([500, 500, 207]);
    expect(parts.map((p) => p.shardEnded)).toEqual([false, false, true]);
    const all = parts.flatMap((p) => p.records);
    expect(positions(all.slice(0, 3))).toEqual(['01', '02:0', '02:1']);
    expect(positions(all.slice(1200, 1203))).toEqual(['02:1199', '03', '04:0']);
    expect(all).toHaveLength(1 + 1200 + 1 + 5);
  });

  it('hands an aggregate\'s user records out at most AGGREGATE_PART_RECORDS at a time, however much room the caller has', async () => {
    const reader = new DeaggregatingReader(new ScriptedReader([[aggregated(1, 5_000)]], { endsShard: true }), { streamArn: STREAM, shardId: SHARD, log });
    const sizes: number[] = [];
    for (let ended = false; !ended; ) {
      const part = await reader.next(signal, 25_000);
      sizes.push(part.records.length);
      ended = part.shardEnded;
    }
    expect(AGGREGATE_PART_RECORDS).toBe(2_000);
    expect(sizes).toEqual([2_000, 2_000, 1_000]);
  });

  it('a mid-aggregate checkpoint in a large aggregate skips by index, then hands the rest out in parts', async () => {
    const reader = new DeaggregatingReader(new ScriptedReader([[aggregated(2, 1000)]], { endsShard: true }), { streamArn: STREAM, shardId: SHARD, skipThrough: resumeFrom(`${seq(2)}:899`).skipThrough, log });
    const first = await reader.next(signal, 60);
    expect(positions(first.records.slice(0, 1))).toEqual(['02:900']);
    expect(first.records).toHaveLength(60);
    expect((await reader.next(signal, 60)).records).toHaveLength(40);
  });

  it('a user record whose explicit hash key is not a decimal is rejected alone; its siblings flow', () => {
    const out = deaggregate([aggregated(1, 3, (k) => (k === 1 ? '0xBAD' : undefined))]);
    expect(out.records.map((r) => r.rejection)).toEqual([undefined, 'invalid explicit hash key: "0xBAD" is not a decimal integer in [0, 2^128)', undefined]);
    expect(out.corrupt).toBe(0);
  });

  it('indexes a 1 MiB aggregate of 170,000 empty user records and makes them only as they are taken', () => {
    const users = Array.from({ length: 170_000 }, () => ({ partitionKey: 'k', data: '' }));
    const agg = aggregateOf(users);
    const record: SourceRecord = { shardId: SHARD, sequenceNumber: seq(9), partitionKey: agg.partitionKey, data: agg.data };
    expect(agg.data.length).toBeLessThanOrEqual(1024 * 1024);
    const deaggregator = new Deaggregator([record]);
    const first = deaggregator.take(500);
    expect(first).toHaveLength(500);
    expect(first[499].subSequenceNumber).toBe(499);
    let taken = first.length;
    while (!deaggregator.done) taken += deaggregator.take(25_000).length;
    expect(taken).toBe(170_000);
    expect(deaggregator.takeCounts()).toMatchObject({ aggregates: 1, userRecords: 170_000, corrupt: 0 });
  });
});
