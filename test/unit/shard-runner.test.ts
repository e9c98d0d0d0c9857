/**
 * The shard runner with KPL aggregates (made by the independent `aws-kinesis-agg`) coming through the
 * de-aggregating reader: checkpoints inside aggregates under out-of-order acknowledgements, corrupt
 * aggregates dead-lettered whole, user records dead-lettered one by one, and possible duplicates
 * counted in (sequence, sub-sequence) positions. Fakes for the sink, dead letters and checkpoints.
 */
import pino from 'pino';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import type { DeadLetter, SourceRecord } from '../../shared/records';
import { deadLetterId } from '../../shared/records';
import { DeaggregatingReader } from '../../worker/deaggregation/deaggregating-reader';
import { leaseKey } from '../../shared/redis/keys';
import { Lease } from '../../worker/leases/lease';
import { ShardRunner, type RunOutcome, type WorkerCounters } from '../../worker/shard-runner';

import { passThroughTransform } from '../../worker/transform/pass-through-transform';
import { stockTransform } from '../../worker/transform/stock-transform';
import type { RecordTransform } from '../../worker/transform/transform';
import { aggregateOf, withBadDigest } from '../support/aggregates';
import { waitFor } from '../support/wait';
import { FakeSink } from '../support/fake-sink';
import { FakeCheckpoints } from '../support/fake-checkpoints';
import { ScriptedReader } from '../support/scripted-reader';
import { monotonicClock } from '../../shared/clock';
import { preparerOf } from '../support/preparers';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';

function seq(i: number): string {
  return `49590338271490256608559692538361571095921575989136${String(i).padStart(6, '0')}`;
}

function plain(i: number, text = `plain-${i}`): SourceRecord {
  return { shardId: SHARD, sequenceNumber: seq(i), partitionKey: `pk-${i}`, data: Buffer.from(text) };
}

function aggregated(i: number, texts: string[]): SourceRecord {
  const agg = aggregateOf(texts.map((data, k) => ({ partitionKey: `key-${k % 4}`, data })));
  return { shardId: SHARD, sequenceNumber: seq(i), partitionKey: agg.partitionKey, data: agg.data };
}

const userTexts = (i: number, n: number) => Array.from({ length: n }, (_, k) => `agg-${i}-${k}`);


class FakeDeadLetters {
  readonly letters: DeadLetter[] = [];
  async add(letters: readonly DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
  }
}

const OUTPUT = { maxBatchRecords: 500, maxRecordBytes: 1024 * 1024, maxBufferedRecords: 25_000, partitionKey: { type: 'INPUT' } } as OutputStreamConfig;

function setup(batches: SourceRecord[][], opts: { transform?: RecordTransform; replayUntil?: string; checkpoint?: string } = {}) {
  const sink = new FakeSink();
  const checkpoints = new FakeCheckpoints();
  const deadLetters = new FakeDeadLetters();
  const counters: WorkerCounters = { recordsRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0 };
  const lease = new Lease(leaseKey(STREAM, SHARD), 'token-1', { timeoutMs: 60_000, clock: monotonicClock });
  const runner = new ShardRunner(
    lease,
    {
      shardId: SHARD,
      reader: new DeaggregatingReader(new ScriptedReader(batches, { endsShard: true, childShardIds: ['shardId-000000000002'] }), { streamArn: STREAM, shardId: SHARD, log }),
      preparer: preparerOf(opts.transform ?? passThroughTransform),
      concurrency: 16,
      sink,
      deadLetters,
      checkpoints,
      output: OUTPUT,
      inputStreamArn: STREAM,
      counters,
      log,
      handOverMs: 30_000,
      clock: monotonicClock,
    },
    opts.checkpoint,
    opts.replayUntil,
  );
  let outcome: RunOutcome | undefined;
  const run = runner.run().then((o) => (outcome = o));
  return { sink, checkpoints, deadLetters, counters, runner, lease, run, outcome: () => outcome };
}

/** Lets every pending promise chain settle (no clock involved). */
const settle = () => new Promise((r) => setImmediate(r));

describe('ShardRunner with KPL aggregates', () => {
  it('checkpoints inside an aggregate only up to the acknowledged prefix, with acks out of order', async () => {
    const t = setup([[aggregated(1, userTexts(1, 1200)), plain(2)], [aggregated(3, userTexts(3, 3))]]);
    try {
      // 1,200 user records + 1 plain record go out in chunks of at most 500; then the second batch.
      await waitFor(() => t.sink.writes.length === 4, 5000, 'four writes');
      expect(t.sink.writes.map((w) => w.records.length)).toEqual([500, 500, 201, 3]);
      expect(t.checkpoints.marked).toEqual([`${seq(1)}:499`, `${seq(1)}:999`, seq(2), seq(3)]);
      // Order within the aggregate is kept.
      expect(t.sink.texts.slice(0, 1200)).toEqual(userTexts(1, 1200));

      t.sink.writes[1].ack();
      await settle();
      expect(t.checkpoints.saved).toEqual([]); // the first chunk is still out
      t.sink.writes[0].ack();
      await waitFor(() => t.checkpoints.saved.length === 1, 5000, 'a checkpoint');
      expect(t.checkpoints.saved).toEqual([`${seq(1)}:999`]);
      t.sink.writes[3].ack();
      await settle();
      expect(t.checkpoints.saved).toEqual([`${seq(1)}:999`]);
      t.sink.writes[2].ack();
      await t.run;
      expect(t.outcome()).toEqual({ type: 'finished', childShardIds: ['shardId-000000000002'] });
      // The last user record of an aggregate closes the whole Kinesis record: a plain sequence number.
      expect(t.checkpoints.saved).toEqual([`${seq(1)}:999`, seq(3)]);
      expect(t.runner.progress.checkpoint).toBe(seq(3));
      expect(t.counters.recordsRead).toBe(1204);
      // Marks, checkpoints and the shard's end name the shard (its lease's key also names the stream).
      expect([...t.checkpoints.shards]).toEqual([SHARD]);
      expect(t.runner.progress).toMatchObject({ stream: STREAM, shardId: SHARD });
    } finally {
      t.lease.stop();
      for (const w of t.sink.writes) w.ack();
    }
  });

  it('dead-letters a corrupt aggregate whole (raw, with its reason) and goes on with the shard', async () => {
    const good = aggregated(3, userTexts(3, 2));
    const corrupt = { ...aggregated(2, userTexts(2, 3)) };
    corrupt.data = withBadDigest(corrupt.data as Buffer);
    const t = setup([[plain(1), corrupt, good]]);
    try {
      await waitFor(() => t.sink.writes.length === 1, 5000, 'a write');
      expect(t.sink.texts).toEqual(['plain-1', 'agg-3-0', 'agg-3-1']);
      expect(t.deadLetters.letters).toHaveLength(1);
      const letter = t.deadLetters.letters[0];
      expect(letter).toMatchObject({ stream: STREAM, shardId: SHARD, sequenceNumber: seq(2), partitionKey: corrupt.partitionKey, reason: expect.stringMatching(/^corrupt aggregate: /) });
      expect(letter.subSequenceNumber).toBeUndefined();
      expect(Buffer.from(letter.payload, 'base64').equals(corrupt.data as Buffer)).toBe(true);
      expect(deadLetterId(letter)).toBe(`${leaseKey(STREAM, SHARD)}-${seq(2)}`);
      t.sink.writes[0].ack();
      await t.run;
      expect(t.checkpoints.saved).toEqual([seq(3)]);
      expect(t.counters.recordsDeadLettered).toBe(1);
      // Counted by reason too (the dashboard's lease title and the status line show them).
      expect(t.counters.deadLetteredByReason).toEqual({ 'corrupt aggregate': 1 });
      expect(t.runner.progress.deadLetteredByReason).toEqual({ 'corrupt aggregate': 1 });
    } finally {
      for (const w of t.sink.writes) w.ack();
    }
  });

  it('dead-letters one bad user record by its (sequence, sub-sequence) and delivers the others of its aggregate', async () => {
    const stock = (id: number) => JSON.stringify({ event_time: '2024-05-01T12:00:00Z', ticker: 'MSFT', price: 1, id });
    const t = setup([[aggregated(1, [stock(0), 'not json', stock(2)])]], { transform: stockTransform });
    try {
      await waitFor(() => t.sink.writes.length === 1, 5000, 'a write');
      expect(t.sink.writes[0].records.map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { id: number }).id)).toEqual([0, 2]);
      expect(t.sink.writes[0].records.map((r) => r.partitionKey)).toEqual(['key-0', 'key-2']);
      const [letter] = t.deadLetters.letters;
      expect(letter).toMatchObject({ sequenceNumber: seq(1), subSequenceNumber: 1, partitionKey: 'key-1', payload: Buffer.from('not json').toString('base64') });
      expect(deadLetterId(letter)).toBe(`${leaseKey(STREAM, SHARD)}-${seq(1)}-1`);
      t.sink.writes[0].ack();
      await t.run;
      expect(t.checkpoints.saved).toEqual([seq(1)]);
    } finally {
      for (const w of t.sink.writes) w.ack();
    }
  });

  it('counts as possible duplicates exactly the user records up to the previous owner\'s last sent position', async () => {
    const t = setup([[aggregated(1, userTexts(1, 5)), plain(2)]], { replayUntil: `${seq(1)}:2`, checkpoint: `${seq(1)}:0` });
    try {
      await waitFor(() => t.sink.writes.length === 1, 5000, 'a write');
      // (In production the reader skips 1:0, acknowledged before; here the scripted reader sends it, and it counts too.)
      expect(t.counters.recordsDuplicated).toBe(3); // 1:0, 1:1, 1:2
      expect(t.runner.progress.recordsDuplicated).toBe(3);
      t.sink.writes[0].ack();
      await t.run;
    } finally {
      for (const w of t.sink.writes) w.ack();
    }
  });

  it('plain records pass through unchanged, checkpointed by their sequence numbers as before', async () => {
    const t = setup([[plain(1), plain(2)], [plain(3)]]);
    try {
      await waitFor(() => t.sink.writes.length === 2, 5000, 'two writes');
      expect(t.sink.texts).toEqual(['plain-1', 'plain-2', 'plain-3']);
      expect(t.sink.writes[0].records.map((r) => r.partitionKey)).toEqual(['pk-1', 'pk-2']);
      t.sink.writes[0].ack();
      t.sink.writes[1].ack();
      await t.run;
      expect(t.checkpoints.saved[t.checkpoints.saved.length - 1]).toBe(seq(3));
      expect(t.checkpoints.saved.every((p) => !p.includes(':'))).toBe(true);
    } finally {
      for (const w of t.sink.writes) w.ack();
    }
  });
});
