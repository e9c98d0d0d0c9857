/**
 * One page of a shard's records through a preparer (`ordered-transforms.ts`): chunks handed on in input
 * order whatever order the answers come in (checkpoints follow the chunks), at most `concurrency`
 * answers in flight and one per partition key (a key's records are transformed in order), a synchronous
 * preparer's page done before its first chunk goes on, and an aborted page left alone. The preparers are
 * fakes whose answers the test releases, so every interleaving here is chosen, not timed.
 */
import { positionOf } from '../../shared/position';
import type { OutputRecord, SourceRecord } from '../../shared/records';
import { CONSTANT_PARTITION_KEY } from '../../generator/stock-records';
import { OrderedTransforms, type PreparedChunk } from '../../worker/transform/ordered-transforms';
import type { OutputPreparer, Prepared } from '../../worker/transform/transform';
import { ModulePreparer } from '../../worker/transform/module-preparer';
import { OutputRoutes } from '../../worker/transform/output-routes';
import { waitFor } from '../support/wait';

const SHARD = 'shardId-000000000001';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';

function seq(i: number): string {
  return `49590338271490256608559692538361571095921575989136${String(i).padStart(6, '0')}`;
}

function rec(i: number, partitionKey = `pk-${i}`): SourceRecord {
  return { shardId: SHARD, sequenceNumber: seq(i), partitionKey, data: Buffer.from(`r${i}`) };
}

function page(n: number, key?: (i: number) => string): SourceRecord[] {
  return Array.from({ length: n }, (_, i) => rec(i, key?.(i)));
}

/** The record as it is, one output: what most tests answer. */
function passed(record: SourceRecord): Prepared {
  return { ok: true, records: [{ partitionKey: record.partitionKey, data: record.data, inputSequenceNumber: record.sequenceNumber }] };
}

const text = (out: OutputRecord) => Buffer.from(out.data).toString('utf8');

/** A small seeded PRNG (mulberry32): the "random" orders are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets every queued promise reaction run: an answer's whole chain settles before the next is released. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Call {
  readonly index: number;
  readonly record: SourceRecord;
  /** Releases this record's answer (by default, `passed`). */
  answer(prepared?: Prepared): void;
  answered: boolean;
}

/**
 * A preparer whose every answer is a promise the test releases. It keeps what the ordering promises
 * are about: how many were in flight at most, the order records started in, and any record started
 * while an earlier one of its key was still unanswered.
 */
class HeldPreparer implements OutputPreparer {
  readonly name = 'held';
  readonly calls: Call[] = [];
  maxInFlight = 0;
  readonly overlaps: string[] = [];
  private inFlight = 0;
  private readonly busy = new Set<string>();

  prepare(record: SourceRecord): Promise<Prepared> {
    const key = record.partitionKey;
    if (this.busy.has(key)) this.overlaps.push(`${record.sequenceNumber} started while key ${key} was in flight`);
    this.busy.add(key);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    return new Promise<Prepared>((resolve) => {
      const call: Call = {
        index: this.calls.length,
        record,
        answered: false,
        answer: (prepared = passed(record)) => {
          if (call.answered) throw new Error(`record ${call.index} answered twice`);
          call.answered = true;
          this.inFlight -= 1;
          this.busy.delete(key);
          resolve(prepared);
        },
      };
      this.calls.push(call);
    });
  }

  pending(): Call[] {
    return this.calls.filter((c) => !c.answered);
  }
}

/** A preparer that answers at once, logging each call in `log`. */
function syncPreparer(answer: (record: SourceRecord) => Prepared, log: string[] = []): OutputPreparer {
  return {
    name: 'sync',
    prepare(record) {
      log.push(`prepare ${record.sequenceNumber.slice(-2)}`);
      return answer(record);
    },
  };
}

function transforms(preparer: OutputPreparer, concurrency: number, chunkSize: number): OrderedTransforms {
  return new OrderedTransforms({ preparer, concurrency, chunkSize, inputStreamArn: STREAM_ARN });
}

/**
 * Runs the page, releasing one pending answer at a time (the one `pick` chooses) and letting it settle,
 * until run() returns. Returns the chunks in the order they were submitted.
 */
async function runReleasing(t: OrderedTransforms, records: SourceRecord[], preparer: HeldPreparer, pick: (pending: Call[]) => Call): Promise<PreparedChunk[]> {
  const chunks: PreparedChunk[] = [];
  let done = false;
  const running = t.run({ records: records }, new AbortController().signal, async (chunk) => void chunks.push(chunk)).then(() => (done = true));
  await drain();
  while (!done) {
    const pending = preparer.pending();
    // run() waiting with nothing in flight would wait forever: fail now instead of at jest's timeout.
    if (pending.length === 0) throw new Error(`run() has not returned and no answer is pending (${chunks.length} chunks submitted)`);
    pick(pending).answer();
    await drain();
  }
  await running;
  return chunks;
}

const first = (pending: Call[]) => pending[0];
const last = (pending: Call[]) => pending[pending.length - 1];
const shuffled = (seed: number) => {
  const next = random(seed);
  return (pending: Call[]) => pending[Math.floor(next() * pending.length)];
};

describe('OrderedTransforms: order', () => {
  test('chunks go on in input order, each with its last record\'s position', async () => {
    // An aggregate's user records in the middle: a chunk that ends inside it ends at "<seq>:<sub>".
    const aggregate = (sub: number): SourceRecord => ({ ...rec(1, `agg-${sub}`), subSequenceNumber: sub, aggregateSize: 3 });
    const records = [rec(0), aggregate(0), aggregate(1), aggregate(2), rec(2), rec(3), rec(4)];
    const preparer = new HeldPreparer();
    // The last pending answer first: later chunks are complete long before the first.
    const chunks = await runReleasing(transforms(preparer, 8, 2), records, preparer, last);
    expect(chunks.map((c) => c.last)).toEqual([positionOf(records[1]), positionOf(records[3]), positionOf(records[5]), positionOf(records[6])]);
    expect(chunks.map((c) => c.last)).toEqual([`${seq(1)}:0`, seq(1), seq(3), seq(4)]);
  });

  test('outputs inside and across chunks are in input order, whatever order the answers settle in', async () => {
    for (const seed of [1, 2, 3]) {
      const records = page(23);
      const preparer = new HeldPreparer();
      const chunks = await runReleasing(transforms(preparer, 6, 5), records, preparer, shuffled(seed));
      expect(chunks.map((c) => c.good.length)).toEqual([5, 5, 5, 5, 3]);
      expect(chunks.flatMap((c) => c.good.map(text))).toEqual(records.map((r) => `r${Number(r.sequenceNumber.slice(-6))}`));
    }
  });
});

describe('OrderedTransforms: in flight', () => {
  test('at most `concurrency` answers in flight, and that many when the keys are spread', async () => {
    const preparer = new HeldPreparer();
    await runReleasing(transforms(preparer, 4, 3), page(20), preparer, shuffled(7));
    expect(preparer.maxInFlight).toBe(4);
    expect(preparer.calls).toHaveLength(20);
  });

  test('one partition key: one record at a time, in input order', async () => {
    // The seed generator's constant key: every record of the shard has it.
    const records = page(10, () => CONSTANT_PARTITION_KEY);
    const preparer = new HeldPreparer();
    await runReleasing(transforms(preparer, 8, 4), records, preparer, first);
    expect(preparer.maxInFlight).toBe(1);
    expect(preparer.calls.map((c) => c.record)).toEqual(records);
  });

  test('a key\'s records never overlap in flight and start in input order; other keys go by', async () => {
    const records = page(30, (i) => `key-${i % 3 === 0 ? 'a' : i % 4}`);
    const preparer = new HeldPreparer();
    const chunks = await runReleasing(transforms(preparer, 5, 4), records, preparer, shuffled(11));
    expect(preparer.overlaps).toEqual([]);
    // Keys are not serialized with each other: more than one record was in flight at some point.
    expect(preparer.maxInFlight).toBeGreaterThan(1);
    expect(preparer.maxInFlight).toBeLessThanOrEqual(5);
    for (const key of new Set(records.map((r) => r.partitionKey))) {
      expect(preparer.calls.filter((c) => c.record.partitionKey === key).map((c) => c.record)).toEqual(records.filter((r) => r.partitionKey === key));
    }
    expect(chunks.flatMap((c) => c.good.map(text))).toEqual(records.map((_, i) => `r${i}`));
  });

  test('answers after real short random delays: the same promises hold', async () => {
    const next = random(42);
    const records = page(40, (i) => `key-${i % 5}`);
    let inFlight = 0;
    let maxInFlight = 0;
    const busy = new Set<string>();
    const overlaps: number[] = [];
    const started: string[][] = [[], [], [], [], []];
    const preparer: OutputPreparer = {
      name: 'delayed',
      prepare(record) {
        const i = Number(record.sequenceNumber.slice(-6));
        if (busy.has(record.partitionKey)) overlaps.push(i);
        busy.add(record.partitionKey);
        started[i % 5].push(record.sequenceNumber);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return new Promise((resolve) =>
          setTimeout(() => {
            inFlight -= 1;
            busy.delete(record.partitionKey);
            resolve(passed(record));
          }, Math.floor(next() * 4)),
        );
      },
    };
    const chunks: PreparedChunk[] = [];
    let done = false;
    void transforms(preparer, 4, 7)
      .run({ records: records }, new AbortController().signal, async (chunk) => void chunks.push(chunk))
      .then(() => (done = true));
    // Only a safety net against a hang: nothing here is timed.
    await waitFor(() => done, 5000, 'run() to return', 5);
    expect(overlaps).toEqual([]);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(started).toEqual(started.map((_, k) => records.filter((_, i) => i % 5 === k).map((r) => r.sequenceNumber)));
    expect(chunks.map((c) => c.last)).toEqual([6, 13, 20, 27, 34, 39].map((i) => seq(i)));
    expect(chunks.flatMap((c) => c.good.map(text))).toEqual(records.map((_, i) => `r${i}`));
  });
});

describe('OrderedTransforms: a synchronous preparer', () => {
  test('the whole page is transformed before the first chunk goes on', async () => {
    const log: string[] = [];
    await transforms(syncPreparer(passed, log), 4, 3).run({ records: page(8) }, new AbortController().signal, async (chunk) => void log.push(`submit ${chunk.last.slice(-2)}`));
    // Its raw records are garbage before the page waits for room in the sink.
    expect(log.lastIndexOf('prepare 07')).toBeLessThan(log.indexOf('submit 02'));
    expect(log.filter((l) => l.startsWith('submit'))).toEqual(['submit 02', 'submit 05', 'submit 07']);
  });
});

describe('OrderedTransforms: what a chunk holds', () => {
  const answers = (record: SourceRecord): Prepared => {
    const i = Number(record.sequenceNumber.slice(-6));
    if (i === 1) return { ok: true, records: [] };
    if (i === 2) return { ok: true, records: [{ partitionKey: 'a', data: Buffer.from('r2a') }, { partitionKey: 'b', data: Buffer.from('r2b') }] };
    if (i === 3) return { ok: false, reason: 'transform failed: Error: no price', stack: 'at transform (file:///app/t.mjs:3:9)' };
    if (i === 4) return { ok: false, reason: 'wrong result shape: a number is not an output record' };
    return passed(record);
  };

  test.each([
    ['answered at once', (record: SourceRecord): Prepared | Promise<Prepared> => answers(record)],
    ['answered by promise', (record: SourceRecord): Prepared | Promise<Prepared> => new Promise((resolve) => setImmediate(() => resolve(answers(record))))],
  ])('filtered, fanned out and dead-lettered records (%s)', async (_, prepare) => {
    const records = page(6);
    records[3].approximateArrivalTimestamp = new Date('2024-05-01T12:00:00Z');
    const chunks: PreparedChunk[] = [];
    await transforms({ name: 'mixed', prepare }, 4, 6).run({ records: records }, new AbortController().signal, async (chunk) => void chunks.push(chunk));
    expect(chunks).toHaveLength(1);
    const [chunk] = chunks;
    // A filtered record is counted, and still passed by the chunk's position.
    expect(chunk.filtered).toBe(1);
    expect(chunk.good.map(text)).toEqual(['r0', 'r2a', 'r2b', 'r5']);
    expect(chunk.last).toBe(seq(5));
    expect(chunk.letters).toEqual([
      {
        stream: STREAM_ARN,
        shardId: SHARD,
        sequenceNumber: seq(3),
        partitionKey: 'pk-3',
        payload: Buffer.from('r3').toString('base64'),
        arrivalTime: '2024-05-01T12:00:00.000Z',
        reason: 'transform failed: Error: no price',
        stack: 'at transform (file:///app/t.mjs:3:9)',
        deadLetteredAt: expect.any(String),
      },
      expect.objectContaining({ sequenceNumber: seq(4), reason: 'wrong result shape: a number is not an output record' }),
    ]);
    expect('stack' in chunk.letters[1]).toBe(false);
    // A chunk's letters share one time.
    expect(chunk.letters[0].deadLetteredAt).toBe(chunk.letters[1].deadLetteredAt);
  });
});

describe('OrderedTransforms: stopping and back-pressure', () => {
  test('an abort with answers in flight returns without the unfinished chunks; late answers do nothing', async () => {
    const preparer = new HeldPreparer();
    const abort = new AbortController();
    const chunks: PreparedChunk[] = [];
    let done = false;
    const running = transforms(preparer, 6, 2)
      .run({ records: page(6) }, abort.signal, async (chunk) => void chunks.push(chunk))
      .then(() => (done = true));
    await drain();
    expect(preparer.calls).toHaveLength(6);
    preparer.calls[0].answer();
    preparer.calls[1].answer();
    preparer.calls[3].answer();
    await drain();
    expect(chunks.map((c) => c.last)).toEqual([seq(1)]);
    expect(done).toBe(false);
    abort.abort();
    await drain();
    expect(done).toBe(true);
    await running;
    // Answers that arrive after the page was abandoned build and submit nothing (and do not throw).
    for (const call of preparer.pending()) call.answer();
    await drain();
    expect(chunks).toHaveLength(1);
  });

  test('an abort while waiting for room starts no more records', async () => {
    const preparer = new HeldPreparer();
    const abort = new AbortController();
    const chunks: PreparedChunk[] = [];
    const running = transforms(preparer, 2, 2).run({ records: page(6) }, abort.signal, async (chunk) => void chunks.push(chunk));
    await drain();
    expect(preparer.calls).toHaveLength(2);
    abort.abort();
    await running;
    for (const call of preparer.pending()) call.answer();
    await drain();
    expect(preparer.calls).toHaveLength(2);
    expect(chunks).toEqual([]);
  });

  test('a submit that waits for room holds back the later chunks, which still go on in order', async () => {
    const preparer = new HeldPreparer();
    const submitted: string[] = [];
    const rooms: (() => void)[] = [];
    let done = false;
    const running = transforms(preparer, 4, 1)
      .run({ records: page(4) }, new AbortController().signal, (chunk) => {
        submitted.push(chunk.last);
        return new Promise<void>((resolve) => rooms.push(resolve));
      })
      .then(() => (done = true));
    await drain();
    for (const call of [...preparer.calls].reverse()) {
      call.answer();
      await drain();
    }
    // Every chunk is built; the first submit has not returned, so it is the only one.
    expect(submitted).toEqual([seq(0)]);
    for (let k = 1; k < 4; k++) {
      rooms[k - 1]();
      await drain();
      expect(submitted).toEqual([0, 1, 2, 3].slice(0, k + 1).map(seq));
    }
    expect(done).toBe(false);
    rooms[3]();
    await running;
  });

  test('an abort during a held submit stops before the next chunk', async () => {
    const abort = new AbortController();
    const submitted: string[] = [];
    let room!: () => void;
    const running = transforms(syncPreparer(passed), 4, 2).run({ records: page(6) }, abort.signal, (chunk) => {
      submitted.push(chunk.last);
      return new Promise<void>((resolve) => (room = resolve));
    });
    await drain();
    expect(submitted).toEqual([seq(1)]);
    abort.abort();
    room();
    await running;
    expect(submitted).toEqual([seq(1)]);
  });

  test('run takes the records out of the page it is given, so no caller holds them while chunks wait for the sink', async () => {
    const source: { records: readonly SourceRecord[] | undefined } = { records: page(4) };
    let heldWhileSubmitting: unknown = 'not submitted';
    await transforms(syncPreparer(passed), 4, 2).run(source, new AbortController().signal, async () => void (heldWhileSubmitting = source.records));
    expect(heldWhileSubmitting).toBeUndefined();
    expect(source.records).toBeUndefined();
  });

  test('an empty page returns at once', async () => {
    const prepare = jest.fn();
    const submit = jest.fn();
    await transforms({ name: 'unused', prepare }, 4, 10).run({ records: [] }, new AbortController().signal, submit);
    expect(prepare).not.toHaveBeenCalled();
    expect(submit).not.toHaveBeenCalled();
  });
});

describe('OrderedTransforms: an answer that settles while a chunk is being handed on', () => {
  // A lost wake-up, found here and fixed: an answer whose reaction runs between submitBuilt's last look
  // at page.chunks and the wait for the next answer builds the last chunk and calls settled() while
  // nobody waits; waiting then for an answer that never comes stalled the shard until its lease stopped.
  async function settles(preparer: OutputPreparer, records: SourceRecord[], concurrency: number, chunkSize: number): Promise<{ done: boolean; submitted: number }> {
    let submitted = 0;
    let done = false;
    void transforms(preparer, concurrency, chunkSize)
      .run({ records: records }, new AbortController().signal, async () => void (submitted += 1))
      .then(() => (done = true));
    // Everything here is promise reactions: one turn of the event loop runs them all.
    await drain();
    return { done, submitted };
  }

  test('a preparer that answers with an already-settled promise', async () => {
    const preparer: OutputPreparer = { name: 'settled', prepare: (record) => Promise.resolve(passed(record)) };
    expect(await settles(preparer, page(1), 4, 10)).toEqual({ done: true, submitted: 1 });
  });

  test('a module whose async function answers at once, one record per chunk', async () => {
    // The everyday case: `export default async (r) => r.text()`, with a sink that has room.
    const routes = OutputRoutes.of([{ group: 'OutputStream0', partitionKey: { type: 'INPUT' }, maxRecordBytes: 1024 * 1024 }]);
    const preparer = new ModulePreparer({ name: 'async.mjs', fn: async (r) => r.text(), routes, stream: { arn: STREAM_ARN, name: 'in' }, timeoutMs: 60_000 });
    expect(await settles(preparer, page(2), 1, 1)).toEqual({ done: true, submitted: 2 });
  });
});
