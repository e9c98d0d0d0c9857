/**
 * The shard runner's hand-over on a fake clock (jest's fake timers drive Date, timers and the injected
 * clock): pages bounded by the sink, the graceful hand-over (drain bounded whatever the output does,
 * hurried by a second SIGTERM, final checkpoint retried while the lease is held), fencing, out-of-order
 * acknowledgements, and what a transform or reader error leaves behind.
 */
import pino from 'pino';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { initProcessMetrics } from '../../shared/metrics';
import type { SourceRecord } from '../../shared/records';
import { leaseKey } from '../../shared/redis/keys';
import { Lease, safetyMargin } from '../../worker/leases/lease';
import { ShardRunner, type RunOutcome, type ShardRunnerDeps, type WorkerCounters } from '../../worker/shard-runner';
import type { RecordTransform } from '../../worker/transform/transform';
import { passThroughTransform } from '../../worker/transform/pass-through-transform';
import { FakeSink } from '../support/fake-sink';
import { FakeCheckpoints } from '../support/fake-checkpoints';
import { ScriptedReader } from '../support/scripted-reader';
import { preparerOf } from '../support/preparers';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const TIMEOUT = 10_000;
const OUTPUT = { maxBatchRecords: 500, maxRecordBytes: 1024 * 1024, partitionKey: { type: 'INPUT' }, maxBufferedRecords: 10_000 } as OutputStreamConfig;
const clock = () => Date.now();

const seq = (i: number) => `4959033827149025660855969253836157109592157598913${String(i).padStart(7, '0')}`;
const record = (i: number): SourceRecord => ({ shardId: SHARD, sequenceNumber: seq(i), partitionKey: `pk-${i}`, data: Buffer.from(`r-${i}`) });



function runnerSetup(batches: SourceRecord[][], handOverMs = 4000, extra: { readers?: () => number; transform?: RecordTransform; sink?: FakeSink; deadLetters?: ShardRunnerDeps['deadLetters'] } = {}) {
  const sink = extra.sink ?? new FakeSink();
  const checkpoints = new FakeCheckpoints();
  const reader = new ScriptedReader(batches);
  const counters: WorkerCounters = { recordsRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0 };
  const lease = new Lease(leaseKey(STREAM, SHARD), 'token-1', { timeoutMs: TIMEOUT, clock });
  const runner = new ShardRunner(lease, {
    shardId: SHARD,
    reader,
    preparer: preparerOf(extra.transform ?? passThroughTransform),
    concurrency: 16,
    sink,
    readers: extra.readers,
    deadLetters: extra.deadLetters ?? { add: async () => undefined },
    checkpoints,
    output: OUTPUT,
    inputStreamArn: STREAM,
    counters,
    log,
    handOverMs,
    clock,
  }, undefined);
  let outcome: RunOutcome | undefined;
  const run = runner.run().then((o) => (outcome = o));
  return { sink, checkpoints, reader, lease, runner, run, outcome: () => outcome };
}

/** Lets promise chains settle under fake timers (microtasks only; no time passes). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

beforeAll(() => initProcessMetrics({ role: 'test' }));
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('ShardRunner: pages bounded by the sink', () => {
  test('a page is at most the runner\'s share of the sink\'s buffer, and at least one request\'s worth', async () => {
    for (const [readers, limit] of [[1, 10_000], [4, 2_500], [7, 1_428], [100, 500]] as const) {
      const s = runnerSetup([], 4000, { readers: () => readers });
      await settle();
      expect(s.reader.limits[0]).toBe(limit);
      s.lease.stop();
      await s.run;
    }
  });

  test('the next page is read only once the sink has room for it (for at most half the buffer)', async () => {
    // A sink whose room the test opens; reserve(count) waits while the room is smaller.
    class GatedSink extends FakeSink {
      free = 0;
      readonly asked: number[] = [];
      private wake: (() => void) | undefined;
      override async reserve(count: number, signal?: AbortSignal): Promise<void> {
        this.asked.push(count);
        while (this.free < count && !signal?.aborted) await new Promise<void>((resolve) => (this.wake = resolve));
      }
      open(free: number): void {
        this.free = free;
        this.wake?.();
      }
    }
    for (const [readers, asked] of [[4, 2_500], [1, 5_000]] as const) {
      const sink = new GatedSink();
      const s = runnerSetup([[record(1)]], 4000, { readers: () => readers, sink });
      await settle();
      expect(sink.asked).toEqual([asked]);
      expect(s.reader.limits).toEqual([]); // nothing read while the sink has no room for the page
      sink.open(asked - 1);
      await settle();
      expect(s.reader.limits).toEqual([]);
      sink.open(asked);
      await settle();
      expect(s.reader.limits[0]).toBe(readers === 4 ? 2_500 : 10_000);
      s.lease.stop();
      sink.open(Infinity);
      for (const w of sink.writes) w.ack();
      await s.run;
    }
  });

  test('a page is transformed whole when it is read: only transformed chunks wait for room in the sink', async () => {
    let transformed = 0;
    const counting = { ...passThroughTransform, transform: (r: SourceRecord) => ((transformed += 1), passThroughTransform.transform(r)) };
    // A sink that has room for the page to be read and its first chunk, and then no more.
    class FullSink extends FakeSink {
      readonly reserves: number[] = [];
      override async reserve(count: number): Promise<void> {
        this.reserves.push(count);
        if (this.reserves.length > 2) await new Promise(() => undefined);
      }
    }
    const sink = new FullSink();
    const page = Array.from({ length: 1_200 }, (_, i) => record(i));
    const s = runnerSetup([page], 4000, { transform: counting, sink });
    await settle();
    expect(sink.writes).toHaveLength(1); // the first 500; the second chunk waits for room
    expect(sink.reserves).toEqual([5_000, 500, 500]);
    expect(transformed).toBe(1_200); // ... but all three chunks were transformed already
    s.lease.stop();
  });
});

describe('ShardRunner: acknowledgements, stop and fencing', () => {
  it('moves the checkpoint only past acknowledged records, with acknowledgements out of order', async () => {
    const t = runnerSetup([[record(1), record(2)], [record(3)], [record(4)]]);
    await settle();
    expect(t.sink.writes).toHaveLength(3);
    t.sink.writes[2].ack();
    t.sink.writes[1].ack();
    await settle();
    expect(t.checkpoints.saved).toEqual([]);
    t.sink.writes[0].ack();
    await settle();
    expect(t.checkpoints.saved).toEqual([seq(4)]);
    t.lease.stop();
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
  });

  it('a graceful stop drains: waits for the records in flight, then writes the final checkpoint', async () => {
    const t = runnerSetup([[record(1), record(2)]]);
    await settle();
    t.lease.stop();
    await settle();
    expect(t.outcome()).toBeUndefined(); // still waiting for the sink
    jest.advanceTimersByTime(1000);
    t.sink.writes[0].ack();
    await settle();
    await jest.advanceTimersByTimeAsync(0);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.checkpoints.saved).toEqual([seq(2)]);
    expect(t.reader.closed).toBe(true);
  });

  it('waits for a slow but healthy output at most half the hand-over time, then hands over with the checkpoint behind what is unacknowledged', async () => {
    const t = runnerSetup([[record(1)], [record(2)]], 4000);
    await settle();
    t.sink.writes[0].ack();
    await settle();
    expect(t.checkpoints.saved).toEqual([seq(1)]);
    t.lease.stop();
    // The output takes writes (accepting) but does not answer record 2 in time.
    await jest.advanceTimersByTimeAsync(1999);
    expect(t.outcome()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.sink.abandoned).toBe(1); // its unsent records leave the buffer
    expect(t.checkpoints.saved).toEqual([seq(1)]); // record 2 is the next owner's
  });

  it('a hurried hand-over (a second SIGTERM) does not wait for the output, and still writes the final checkpoint', async () => {
    const t = runnerSetup([[record(1)], [record(2)]], 4000);
    await settle();
    t.lease.stop();
    await jest.advanceTimersByTimeAsync(100);
    t.sink.writes[0].ack(); // record 1 acknowledged while stopping; record 2 never is
    await settle();
    expect(t.outcome()).toBeUndefined();
    t.lease.hurry();
    await jest.advanceTimersByTimeAsync(0);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.checkpoints.saved).toEqual([seq(1)]);
    expect(t.sink.abandoned).toBe(1);
  });

  it('a transform that throws or a reader error leaves nothing of the lease sendable', async () => {
    const throwing = { ...passThroughTransform, transform: () => { throw new RangeError('Maximum call stack size exceeded'); } };
    const letters: unknown[] = [];
    const t = runnerSetup([[record(1), record(2)]], 4000, { transform: throwing, deadLetters: { add: async (l: readonly unknown[]) => void letters.push(...l) } });
    await settle();
    // The throw is the record's: both dead-lettered with the message, and the shard goes on.
    expect(letters.map((l) => (l as { reason: string }).reason)).toEqual(['transform failed: RangeError: Maximum call stack size exceeded', 'transform failed: RangeError: Maximum call stack size exceeded']);
    expect(t.sink.abandoned).toBe(0);
    const failed = expect(t.run).rejects.toThrow('GetRecords went wrong');
    t.reader.fail(new Error('GetRecords went wrong'));
    await jest.advanceTimersByTimeAsync(0);
    await failed;
    expect(t.sink.abandoned).toBe(1);
  });

  it('hands over within its time when the output refuses writes for good, leaving the checkpoint behind the unsent records', async () => {
    const t = runnerSetup([[record(1)], [record(2)]], 4000);
    await settle();
    t.sink.writes[0].ack();
    await settle();
    expect(t.checkpoints.saved).toEqual([seq(1)]);
    t.sink.setAccepting(false);
    t.lease.stop();
    await jest.advanceTimersByTimeAsync(1999);
    expect(t.outcome()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.checkpoints.saved).toEqual([seq(1)]); // record 2 is the next owner's
  });

  it('reads nothing new while the output refuses writes for good, and reads again once it is back', async () => {
    const t = runnerSetup([[record(1)], [record(2)]]);
    t.sink.setAccepting(false);
    await settle();
    // The first batch was asked for before the sink said no; nothing after it.
    expect(t.sink.writes).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(5000); // within the lease's send deadline (8 s: no renewals here)
    expect(t.sink.writes).toHaveLength(1);
    t.sink.setAccepting(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(t.sink.writes).toHaveLength(2);
    t.lease.stop();
    for (const w of t.sink.writes) w.ack();
    await jest.advanceTimersByTimeAsync(0);
    await t.run;
  });

  /**
   * A Redis blip while the lease is held: the checkpoint write after the ack and the first two final
   * tries fail, the third final try is written and the lease is released.
   */
  async function finalCheckpointAfterBlip(): Promise<void> {
    const t = runnerSetup([[record(1)]]);
    await settle();
    t.checkpoints.answers.push('throw', 'throw', 'throw');
    t.sink.writes[0].ack();
    await settle();
    expect(t.checkpoints.saved).toEqual([]);
    t.lease.stop();
    await jest.advanceTimersByTimeAsync(3000);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.checkpoints.saveCalls).toBe(4);
    expect(t.checkpoints.saved).toEqual([seq(1)]);
  }

  it('retries the final checkpoint even when the backoff jitter draws no pause at all', async () => {
    // Full jitter draws a pause of 0 about once in a hundred retries; that was taken for "no time left".
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      await finalCheckpointAfterBlip();
    } finally {
      random.mockRestore();
    }
  });

  it('abandons its unsent records in the sink when the hand-over time runs out', async () => {
    const t = runnerSetup([[record(1)]], 2000);
    await settle();
    t.sink.setAccepting(false);
    t.lease.stop();
    await jest.advanceTimersByTimeAsync(1000);
    await t.run;
    expect(t.sink.abandoned).toBe(1);
  });

  it('retries the final checkpoint after a Redis blip while the lease is held', finalCheckpointAfterBlip);

  it('gives the final checkpoint up when the hand-over time runs out', async () => {
    const t = runnerSetup([[record(1)]], 2000);
    await settle();
    t.checkpoints.answers.push(...Array<'throw'>(100).fill('throw'));
    t.sink.writes[0].ack();
    await settle();
    t.lease.stop();
    await jest.advanceTimersByTimeAsync(2500);
    await t.run;
    expect(t.outcome()).toEqual({ type: 'released' });
    expect(t.checkpoints.saved).toEqual([]);
    expect(t.checkpoints.saveCalls).toBeGreaterThan(2);
  });

  it('a fenced checkpoint write marks the lease lost and stops the shard', async () => {
    const t = runnerSetup([[record(1)]]);
    await settle();
    t.checkpoints.answers.push('lease-lost');
    t.sink.writes[0].ack();
    await settle();
    await jest.advanceTimersByTimeAsync(0);
    await t.run;
    expect(t.lease.isLost).toBe(true);
    expect(t.lease.lostReason).toMatch(/fenced/);
    expect(t.outcome()).toEqual({ type: 'lost' });
  });

  it('stops reading at the send deadline when renewals stop, and writes no checkpoint after it', async () => {
    const t = runnerSetup([[record(1)]]);
    await settle();
    await jest.advanceTimersByTimeAsync(TIMEOUT - safetyMargin(TIMEOUT));
    t.sink.writes[0].ack();
    await settle();
    await t.run;
    expect(t.outcome()).toEqual({ type: 'lost' });
    expect(t.checkpoints.saveCalls).toBe(0);
  });
});

