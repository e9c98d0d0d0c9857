/**
 * The shard runner with a transform that answers by promise (a module's): chunks reach the sink in input
 * order whatever order the answers settle in, the checkpoint passes a record only once it and everything
 * before it is answered and acknowledged, and a lease that stops while answers are out abandons them
 * (nothing past the last acknowledged chunk is checkpointed).
 */
import pino from 'pino';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import type { SourceRecord } from '../../shared/records';
import { leaseKey } from '../../shared/redis/keys';
import { Lease } from '../../worker/leases/lease';
import { ShardRunner, type RunOutcome, type WorkerCounters } from '../../worker/shard-runner';
import type { OutputPreparer, Prepared } from '../../worker/transform/transform';
import { FakeSink } from '../support/fake-sink';
import { FakeCheckpoints } from '../support/fake-checkpoints';
import { ScriptedReader } from '../support/scripted-reader';
import { waitFor } from '../support/wait';

const log = pino({ level: 'silent' });
const SHARD = 'shardId-000000000001';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
/** Two records per chunk, so a page of six is three chunks. */
const OUTPUT = { maxBatchRecords: 2, maxBufferedRecords: 10_000 } as OutputStreamConfig;

const seq = (i: number) => `4959033827149025660855969253836157109592157598913${String(i).padStart(7, '0')}`;
const record = (i: number, key = `pk-${i}`): SourceRecord => ({ shardId: SHARD, sequenceNumber: seq(i), partitionKey: key, data: Buffer.from(`r-${i}`) });

/** Answers each record by a promise the test settles, by the record's text. */
class HeldPreparer implements OutputPreparer {
  readonly name = 'held';
  readonly held = new Map<string, (prepared: Prepared) => void>();

  prepare(r: SourceRecord): Promise<Prepared> {
    return new Promise((resolve) => this.held.set(Buffer.from(r.data).toString(), resolve));
  }

  answer(text: string): void {
    const resolve = this.held.get(text);
    if (!resolve) throw new Error(`${text} is not held`);
    this.held.delete(text);
    resolve({ ok: true, records: [{ partitionKey: 'k', data: Buffer.from(`out-${text}`) }] });
  }
}

function setup(page: SourceRecord[]) {
  const sink = new FakeSink();
  const checkpoints = new FakeCheckpoints();
  const preparer = new HeldPreparer();
  const counters: WorkerCounters = { recordsRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0 };
  const lease = new Lease(leaseKey(STREAM, SHARD), 'token-1', { timeoutMs: 60_000, clock: () => performance.now() });
  const runner = new ShardRunner(lease, { shardId: SHARD, reader: new ScriptedReader([page]), preparer, concurrency: 16, sink, deadLetters: { add: async () => undefined }, checkpoints, output: OUTPUT, inputStreamArn: STREAM, counters, log, handOverMs: 2000, clock: () => performance.now() }, undefined);
  let outcome: RunOutcome | undefined;
  const run = runner.run().then((o) => (outcome = o));
  return { sink, checkpoints, preparer, lease, run, outcome: () => outcome };
}

describe('ShardRunner with answers by promise', () => {
  test('answers settling backwards reach the sink in input order, and the checkpoint follows the order', async () => {
    const t = setup([1, 2, 3, 4, 5, 6].map((i) => record(i)));
    await waitFor(() => t.preparer.held.size === 6, 2000, 'six records in flight (spread keys, concurrency 16)');
    for (const text of ['r-6', 'r-5', 'r-4', 'r-3']) t.preparer.answer(text);
    // Chunks 2 and 3 are answered, chunk 1 is not: nothing may go yet.
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.sink.writes).toHaveLength(0);
    t.preparer.answer('r-2');
    t.preparer.answer('r-1');
    await waitFor(() => t.sink.writes.length === 3, 2000, 'three chunks written');
    expect(t.sink.texts).toEqual(['out-r-1', 'out-r-2', 'out-r-3', 'out-r-4', 'out-r-5', 'out-r-6']);
    // The last chunk acknowledged first: the checkpoint waits for the earlier ones.
    t.sink.writes[2].ack();
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.checkpoints.saved).toEqual([]);
    t.sink.writes[0].ack();
    await waitFor(() => t.checkpoints.saved.length > 0, 2000, 'a checkpoint');
    expect(t.checkpoints.saved.at(-1)).toBe(seq(2));
    t.sink.writes[1].ack();
    await waitFor(() => t.checkpoints.saved.at(-1) === seq(6), 2000, 'the checkpoint at the last record');
    t.lease.stop();
    await t.run;
  });

  test('records of one partition key are transformed one at a time, in order', async () => {
    const t = setup([1, 2, 3].map((i) => record(i, 'partitionkey')));
    await waitFor(() => t.preparer.held.size === 1, 2000, 'the first record in flight');
    expect([...t.preparer.held.keys()]).toEqual(['r-1']);
    t.preparer.answer('r-1');
    await waitFor(() => t.preparer.held.has('r-2'), 2000, 'the second record in flight');
    expect(t.preparer.held.size).toBe(1);
    t.preparer.answer('r-2');
    await waitFor(() => t.preparer.held.has('r-3'), 2000, 'the third record in flight');
    t.preparer.answer('r-3');
    await waitFor(() => t.sink.writes.length === 2, 2000, 'both chunks written');
    for (const w of t.sink.writes) w.ack();
    t.lease.stop();
    await t.run;
  });

  test('a lease stopped while answers are out abandons them: nothing past the acknowledged chunks is checkpointed', async () => {
    const t = setup([1, 2, 3, 4].map((i) => record(i)));
    await waitFor(() => t.preparer.held.size === 4, 2000, 'four records in flight');
    t.preparer.answer('r-1');
    t.preparer.answer('r-2');
    await waitFor(() => t.sink.writes.length === 1, 2000, 'the first chunk written');
    t.sink.writes[0].ack();
    await waitFor(() => t.checkpoints.saved.at(-1) === seq(2), 2000, 'the first chunk checkpointed');
    t.lease.stop();
    expect(await t.run).toEqual({ type: 'released' });
    // Late answers of the abandoned page change nothing.
    t.preparer.answer('r-3');
    t.preparer.answer('r-4');
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.sink.writes).toHaveLength(1);
    expect(t.checkpoints.saved.at(-1)).toBe(seq(2));
  });
});
