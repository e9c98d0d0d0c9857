/**
 * Requests Kinesis refuses whole (ValidationException, InvalidArgumentException): the pure bisection,
 * and the sink carrying out its verdicts against a scripted putter: one bad record is found and handed
 * back to its writer while every other record is written in order; a refusal that is about the stream
 * puts the output into its failing state with nothing handed back; a lone record is judged by the
 * sink's other traffic or by asking the stream. Real timers with millisecond backoffs; no I/O.
 */
import pino from 'pino';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { OutputRecord } from '../../shared/records';
import { Bisection } from '../../worker/sink/bisection';
import { KinesisSink, type SinkSettings } from '../../worker/sink/kinesis-sink';
import type { RejectedRecord } from '../../worker/sink/sink-port';
import { FakePutter, type Call } from '../support/fake-putter';
import { track } from '../support/track';
import { waitFor } from '../support/wait';

const log = pino({ level: 'silent' });
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/out';

const refusal = (message = 'Records.3.member.data failed to satisfy constraint') => Object.assign(new Error(message), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
const text = (e: PutRecordsRequestEntry) => Buffer.from(e.Data!).toString();

describe('Bisection (pure)', () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

  /** Answers every sub-request: refused when it holds a bad item, accepted otherwise; returns the sub-requests. */
  function run(b: Bisection<string>, bad: (item: string) => string | undefined): string[][] {
    const sent: string[][] = [];
    for (let batch = b.next(); batch; batch = b.next()) {
      sent.push(batch);
      const error = batch.map(bad).find((e) => e !== undefined);
      if (error) b.refusedWhole(error);
      else b.answered(batch);
    }
    return sent;
  }

  test('one bad record among eight: halves in order, the bad one alone, the rest accepted', () => {
    const b = new Bisection(items(8), 'V: r5');
    const sent = run(b, (i) => (i === 'r5' ? 'V: r5' : undefined));
    expect(sent).toEqual([['r0', 'r1', 'r2', 'r3'], ['r4', 'r5', 'r6', 'r7'], ['r4', 'r5'], ['r4'], ['r5'], ['r6', 'r7']]);
    expect(b.settled).toBe(true);
    expect(b.verdict()).toEqual({ type: 'records', rejected: [{ item: 'r5', error: 'V: r5' }] });
  });

  test('every record refused alone the same way, nothing accepted: the stream', () => {
    const b = new Bisection(items(5), 'V: stream');
    const sent = run(b, () => 'V: stream');
    expect(sent.length).toBe(2 * 5 - 2); // every node of the tree below the refused request
    expect(b.verdict()).toEqual({ type: 'stream', error: 'V: stream' });
    expect(b.unresolved()).toEqual(items(5));
  });

  test('refused alone with different messages: each record for itself', () => {
    const b = new Bisection(items(2), 'V: first');
    run(b, (i) => `V: ${i}`);
    expect(b.verdict()).toEqual({ type: 'records', rejected: [{ item: 'r0', error: 'V: r0' }, { item: 'r1', error: 'V: r1' }] });
  });

  test('the same message twice but something accepted elsewhere meanwhile: records', () => {
    const b = new Bisection(items(2), 'V: x');
    b.noteAccepted();
    run(b, () => 'V: x');
    expect(b.verdict().type).toBe('records');
  });

  test('a request of one record refused with nothing accepted: undecided', () => {
    const b = new Bisection(['only'], 'V: x');
    expect(b.next()).toBeUndefined();
    expect(b.verdict()).toEqual({ type: 'undecided', rejected: [{ item: 'only', error: 'V: x' }] });
  });

  test('records throttled in a sub-request go again before the rest; discarded ones are out of it', () => {
    const b = new Bisection(items(4), 'V: r0');
    expect(b.next()).toEqual(['r0', 'r1']);
    b.answered(['r1'], ['r0']); // r0 throttled
    expect(b.next()).toEqual(['r0']);
    b.refusedWhole('V: r0');
    const rest = b.next()!;
    expect(rest).toEqual(['r2', 'r3']);
    b.discard(['r3']);
    b.refusedWhole('V: r2'); // r3 is out: r2 was refused alone
    expect(b.next()).toBeUndefined();
    expect(b.verdict()).toEqual({ type: 'records', rejected: [{ item: 'r0', error: 'V: r0' }, { item: 'r2', error: 'V: r2' }] });
    expect(b.unresolved()).toEqual(['r0', 'r2']);
  });
});

describe('KinesisSink: requests refused whole', () => {
  const sinks: KinesisSink[] = [];
  afterEach(() => {
    for (const sink of sinks.splice(0)) sink.close();
  });

  function makeSink(putter: FakePutter & { ping?: (arn: string) => Promise<void> }, overrides: Partial<SinkSettings> = {}): KinesisSink {
    const sink = new KinesisSink(putter, ARN, { maxRecords: 500, maxBytes: 5 * 1024 * 1024, lingerMs: 1, flushMode: 'FIXED', maxInFlightRequests: 4, maxBufferedRecords: 10_000, ordering: 'KEY', backoff: { baseMs: 1, maxMs: 5 }, ...overrides }, log);
    sinks.push(sink);
    return sink;
  }

  const rec = (label: string, key = `pk-${label}`): OutputRecord => ({ partitionKey: key, data: Buffer.from(label) });

  /** Answers each call at once: a refusal when it carries a label `refuse` names, else success. */
  function scripted(refuse: (label: string) => Error | undefined): FakePutter {
    const putter = new FakePutter();
    putter.auto = (call: Call) => {
      const err = call.entries.map(text).map(refuse).find((e) => e !== undefined);
      queueMicrotask(() => (err ? call.fail(err) : call.succeed()));
    };
    return putter;
  }

  const accepted = (putter: FakePutter) => putter.calls.filter((c) => c.settled && !putter.failed.has(c)).flatMap((c) => c.entries.map(text));

  test('one record Kinesis refuses for itself comes back to its writer; every other record is written, in key order', async () => {
    const putter = scripted((label) => (label === 'bad' ? refusal('Value at records.4.member.partitionKey failed to satisfy constraint') : undefined));
    const sink = makeSink(putter);
    const labels = ['a0', 'b0', 'a1', 'b1', 'bad', 'a2', 'b2', 'a3'];
    const write = sink.write(labels.map((l) => rec(l, l === 'bad' ? 'a' : l[0])));
    const later = sink.write([rec('a4', 'a'), rec('c0', 'c')]);
    const rejected = await write;
    expect(rejected).toEqual([{ record: expect.objectContaining({ partitionKey: 'a', data: Buffer.from('bad') }), reason: 'refused by Kinesis: ValidationException: Value at records.4.member.partitionKey failed to satisfy constraint' }]);
    expect(await later).toEqual([]);
    const written = accepted(putter);
    expect(written.sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'c0']);
    // Key a's records were written in order, a4 (written later) after the bisection was over.
    const order = putter.calls.filter((c) => !putter.failed.has(c)).flatMap((c) => c.entries.map(text)).filter((t) => t.startsWith('a'));
    expect(order).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(sink.stats.refusedRecords).toBe(1);
    expect(sink.outputFailure).toBeUndefined();
    // The bad one was found in a handful of requests: 1 refused whole, then halves.
    expect(putter.calls.length).toBeLessThanOrEqual(10);
  });

  test('every record refused alone, the same way: the output fails, nothing is handed back, and it is all written once the stream is fixed', async () => {
    let broken = true;
    const putter = scripted(() => (broken ? refusal('The stream is misconfigured') : undefined));
    const sink = makeSink(putter);
    const promise = sink.write(['r0', 'r1', 'r2', 'r3'].map((l) => rec(l, 'k')));
    const write = track(promise);
    await waitFor(() => sink.outputFailure !== undefined, 5000, 'the output failing');
    expect(sink.outputFailure!.error).toBe('ValidationException: The stream is misconfigured');
    expect(sink.accepting).toBe(false);
    const calls = putter.calls.length;
    // While it fails with that very answer, retries are attempts, not new bisections: one request each.
    await waitFor(() => putter.calls.length >= calls + 2, 5000, 'two retries');
    expect(putter.calls.slice(calls).every((c) => c.entries.length === 4)).toBe(true);
    expect(write.done).toBe(false);
    broken = false;
    expect(await promise).toEqual([]);
    expect(accepted(putter)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(sink.outputFailure).toBeUndefined();
    expect(sink.stats.refusedRecords).toBe(0);
  });

  test('an error about the stream during a bisection fails the output and keeps every record', async () => {
    const putter = new FakePutter();
    let deny = false;
    putter.auto = (call: Call, index: number) => {
      const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      // The whole request refused, then its first half (and everything after) denied until the test lifts it.
      if (index === 1) deny = true;
      const answer = index === 0 ? refusal() : deny ? denied : undefined;
      queueMicrotask(() => (answer ? call.fail(answer) : call.succeed()));
    };
    const sink = makeSink(putter);
    const write = sink.write(['r0', 'bad', 'r2'].map((l) => rec(l, 'k')));
    await waitFor(() => sink.outputFailure !== undefined, 5000, 'the output failing');
    expect(sink.outputFailure!.error).toMatch(/^AccessDeniedException/);
    expect(putter.calls.slice(2).every((c) => c.entries.length === 3)).toBe(true); // all three back in the queue, in one request
    deny = false;
    // Later the refusal is gone (bad is accepted too): nothing was lost or handed back.
    expect(await write).toEqual([]);
    expect(accepted(putter).filter((t, i, all) => all.indexOf(t) === i)).toEqual(['r0', 'bad', 'r2']);
  });

  test('a lone record refused while other records are accepted is handed back', async () => {
    const putter = scripted((label) => (label === 'bad' ? refusal() : undefined));
    const sink = makeSink(putter, { maxRecords: 1 });
    const bad = sink.write([rec('bad', 'x')]);
    const good = sink.write([rec('g0', 'y'), rec('g1', 'z')]);
    expect(await bad).toHaveLength(1);
    expect(await good).toEqual([]);
  });

  test('a lone record refused on an idle sink: the stream is asked; it answers, so the record is at fault', async () => {
    const putter = scripted((label) => (label === 'bad' ? refusal() : undefined)) as FakePutter & { ping: (arn: string) => Promise<void> };
    const pings: string[] = [];
    putter.ping = async (arn) => void pings.push(arn);
    const sink = makeSink(putter);
    const rejected: readonly RejectedRecord[] = await sink.write([rec('bad', 'x')]);
    expect(rejected.map((r) => r.reason)).toEqual(['refused by Kinesis: ValidationException: Records.3.member.data failed to satisfy constraint']);
    expect(pings).toEqual([ARN]);
  });

  test('a lone record refused on an idle sink whose stream does not answer: the output fails, the record waits', async () => {
    let gone = true;
    const putter = scripted(() => (gone ? refusal() : undefined)) as FakePutter & { ping: () => Promise<void> };
    putter.ping = async () => {
      if (gone) throw Object.assign(new Error('Stream out not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    };
    const sink = makeSink(putter);
    const promise = sink.write([rec('only', 'x')]);
    const write = track(promise);
    await waitFor(() => sink.outputFailure !== undefined, 5000, 'the output failing');
    expect(sink.outputFailure!.error).toMatch(/^ResourceNotFoundException/);
    expect(write.done).toBe(false);
    gone = false;
    expect(await promise).toEqual([]);
  });

  test('every record under one key (as stock.py writes them), the first refused alone: the stream is asked, the record handed back, the rest written in order', async () => {
    const putter = scripted((label) => (label === 'bad' ? refusal() : undefined)) as FakePutter & { ping: () => Promise<void> };
    let pings = 0;
    putter.ping = async () => void (pings += 1);
    // One record per request: the refused record's request holds it alone, and its key holds back every other record.
    const sink = makeSink(putter, { maxRecords: 1 });
    const write = sink.write(['bad', 'r1', 'r2', 'r3'].map((l) => rec(l, 'partitionkey')));
    expect((await write).map((r) => Buffer.from(r.record.data).toString())).toEqual(['bad']);
    expect(pings).toBe(1);
    expect(accepted(putter)).toEqual(['r1', 'r2', 'r3']);
  });

  test('two lone records refused alike (the message names the entry, the same for both) are not taken for a fault of the stream', async () => {
    const putter = scripted((label) => (label.startsWith('bad') ? refusal("Value at 'records.1.member.partitionKey' failed to satisfy constraint") : undefined)) as FakePutter & { ping: () => Promise<void> };
    putter.ping = async () => undefined;
    const sink = makeSink(putter, { maxRecords: 1 });
    const [first, second] = await Promise.all([sink.write([rec('bad-1', 'a')]), sink.write([rec('bad-2', 'b')])]);
    expect([...first, ...second].map((r) => Buffer.from(r.record.data).toString()).sort()).toEqual(['bad-1', 'bad-2']);
    expect(sink.outputFailure).toBeUndefined();
    expect(sink.stats.refusedRecords).toBe(2);
  });

  test('records of a lease lost during a bisection are never sent', async () => {
    const owner = { isLost: false };
    const putter = scripted((label) => (label === 'bad' ? refusal() : undefined));
    putter.auto = undefined; // answered by hand below
    const sink = makeSink(putter);
    void sink.write(['r0', 'bad', 'r2', 'r3'].map((l) => rec(l, 'k')), owner);
    await waitFor(() => putter.calls.length === 1, 2000, 'the first request');
    putter.calls[0].fail(refusal());
    await waitFor(() => putter.calls.length === 2, 2000, 'the first half');
    owner.isLost = true;
    putter.calls[1].fail(refusal());
    await new Promise((r) => setTimeout(r, 50));
    expect(putter.calls).toHaveLength(2);
    expect(sink.buffered).toBe(0);
    expect(sink.stats.droppedRecords).toBe(4);
  });
});
