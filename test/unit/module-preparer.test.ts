/**
 * A transform module's function as an output preparer (`module-preparer.ts`): what the function sees of
 * a record, how its answers (at once, by promise, late, never, thrown, rejected) become output records or
 * a dead letter's reason, and how each output record is routed, keyed and checked. All or nothing per
 * input record, so a replay writes each output once.
 */
import type { SourceRecord } from '../../shared/records';
import type { TransformFunction, TransformRecord, TransformResult } from '../../worker/transform/module-api';
import { ModulePreparer } from '../../worker/transform/module-preparer';
import { OutputRoutes } from '../../worker/transform/output-routes';
import type { Prepared } from '../../worker/transform/transform';

const MAX = 1024 * 1024;
const STREAM = { arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/in', name: 'in' };
const SEQ = '49590338271490256608559692538361571095921575989136588898';
const TIMEOUT_MS = 1000;

// Group 0 keys by the input's key; group 1 by the output's `ticker` field.
const routes = OutputRoutes.of([
  { group: 'OutputStream0', partitionKey: { type: 'INPUT' }, maxRecordBytes: MAX },
  { group: 'OutputStream1', partitionKey: { type: 'FIELD', field: 'ticker' }, maxRecordBytes: MAX },
]);

function preparer(fn: TransformFunction): ModulePreparer {
  return new ModulePreparer({ name: '/app/transform.mjs', fn, routes, stream: STREAM, timeoutMs: TIMEOUT_MS });
}

function record(overrides: Partial<SourceRecord> = {}): SourceRecord {
  return { shardId: 'shardId-000000000001', sequenceNumber: SEQ, partitionKey: 'pk-in', data: Buffer.from('{"ticker":"AAPL","price":1.5}'), ...overrides };
}

/** A synchronous answer, failing the test when it is a promise. */
function now(prepared: Prepared | Promise<Prepared>): Prepared {
  if (prepared instanceof Promise) throw new Error('expected a synchronous answer, got a promise');
  return prepared;
}

/** An answer by promise, failing the test when it came at once. */
function later(prepared: Prepared | Promise<Prepared>): Promise<Prepared> {
  if (!(prepared instanceof Promise)) throw new Error('expected a promise, got a synchronous answer');
  return prepared;
}

function outputs(prepared: Prepared) {
  if (!prepared.ok) throw new Error(`expected output records, got: ${prepared.reason}`);
  return prepared.records;
}

function reason(prepared: Prepared): string {
  if (prepared.ok) throw new Error(`expected a dead letter, got ${prepared.records.length} records`);
  return prepared.reason;
}

const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');

describe('ModulePreparer: a synchronous answer', () => {
  afterEach(() => jest.useRealTimers());

  test('stays synchronous: no promise, no timer', () => {
    jest.useFakeTimers();
    const prepared = preparer((r) => r.text().toUpperCase()).prepare(record({ data: Buffer.from('abc') }));
    expect(prepared).not.toBeInstanceOf(Promise);
    expect(jest.getTimerCount()).toBe(0);
    expect(outputs(now(prepared)).map((o) => text(o.data))).toEqual(['ABC']);
  });

  test('null filters the record out: ok with no records', () => {
    expect(now(preparer(() => null).prepare(record()))).toEqual({ ok: true, records: [] });
    expect(now(preparer(() => []).prepare(record()))).toEqual({ ok: true, records: [] });
  });

  test('a wrong shape is the record\'s reason', () => {
    expect(reason(now(preparer(() => 42 as unknown as TransformResult).prepare(record())))).toMatch(/^wrong result shape: a number is not an output record; /);
  });
});

describe('ModulePreparer: the record the function sees', () => {
  test('the record\'s fields, and its bytes as a Buffer, text and JSON', () => {
    let seen: TransformRecord | undefined;
    const arrival = new Date('2024-05-01T12:00:00Z');
    now(preparer((r) => void (seen = r)).prepare(record({ subSequenceNumber: 3, approximateArrivalTimestamp: arrival })));
    const r = seen!;
    expect(Buffer.isBuffer(r.data)).toBe(true);
    expect(r.data.equals(Buffer.from('{"ticker":"AAPL","price":1.5}'))).toBe(true);
    expect(r.text()).toBe('{"ticker":"AAPL","price":1.5}');
    expect(r.json()).toEqual({ ticker: 'AAPL', price: 1.5 });
    expect(r.partitionKey).toBe('pk-in');
    expect(r.sequenceNumber).toBe(SEQ);
    expect(r.subSequenceNumber).toBe(3);
    expect(r.shardId).toBe('shardId-000000000001');
    expect(r.streamName).toBe('in');
    expect(r.streamArn).toBe(STREAM.arn);
    expect(r.approximateArrivalTimestamp).toBe(arrival);
  });

  test('explicitHashKey only when the producer set one; subSequenceNumber only inside an aggregate', () => {
    const seen: TransformRecord[] = [];
    const p = preparer((r) => void seen.push(r));
    now(p.prepare(record()));
    now(p.prepare(record({ explicitHashKey: '12345' })));
    expect(seen[0].explicitHashKey).toBeUndefined();
    expect(seen[0].subSequenceNumber).toBeUndefined();
    expect(seen[0].approximateArrivalTimestamp).toBeUndefined();
    expect(seen[1].explicitHashKey).toBe('12345');
    // What console.log and JSON.stringify show: the fields, none that is unset.
    expect(Object.keys(JSON.parse(JSON.stringify(seen[0])) as object)).not.toContain('explicitHashKey');
    expect(JSON.parse(JSON.stringify(seen[1]))).toMatchObject({ data: '{"ticker":"AAPL","price":1.5}', explicitHashKey: '12345', streamName: 'in' });
  });

  test('bytes given as a Uint8Array view are seen as a Buffer over the same memory', () => {
    const backing = new Uint8Array(Buffer.from('xxhello'));
    const view = backing.subarray(2);
    let data: Buffer | undefined;
    now(preparer((r) => void (data = r.data)).prepare(record({ data: view })));
    expect(Buffer.isBuffer(data)).toBe(true);
    expect(data!.toString()).toBe('hello');
    // No copy: the module's view is the record's memory.
    expect(data!.buffer).toBe(backing.buffer);
    expect(data!.byteOffset).toBe(2);
  });

  test('json() on bytes that are not JSON throws, and that dead-letters the record', () => {
    const prepared = now(preparer((r) => r.json<{ a: string }>().a).prepare(record({ data: Buffer.from('not json') })));
    expect(reason(prepared)).toMatch(/^transform failed: SyntaxError: /);
  });
});

describe('ModulePreparer: a throw or a rejection', () => {
  test('a throw is the reason, with the first line of its stack', () => {
    function transformThatThrows(): never {
      throw new Error('msg\nsecond line');
    }
    const prepared = now(preparer(transformThatThrows).prepare(record()));
    expect(prepared.ok).toBe(false);
    expect(reason(prepared)).toBe('transform failed: Error: msg');
    // Where the module threw, for its author: one `at …` line, not the whole stack.
    expect(!prepared.ok && prepared.stack).toMatch(/^at \S*transformThatThrows\b.*\(.*module-preparer\.test\.ts:\d+:\d+\)$/);
  });

  test('a rejected promise is the reason, with its stack line', async () => {
    async function transformThatRejects(): Promise<TransformResult> {
      await Promise.resolve();
      throw new TypeError('cannot read "price"');
    }
    const prepared = await preparer(transformThatRejects).prepare(record());
    expect(reason(prepared)).toBe('transform failed: TypeError: cannot read "price"');
    expect(!prepared.ok && prepared.stack).toMatch(/^at \S*transformThatRejects\b.*module-preparer\.test\.ts:\d+:\d+\)$/);
  });

  test('a thrown value that is not an Error: the value, and no stack', async () => {
    const plain = now(
      preparer(() => {
        throw 'plain string';
      }).prepare(record()),
    );
    expect(plain).toEqual({ ok: false, reason: 'transform failed: plain string' });
    expect('stack' in plain).toBe(false);
    const like = now(
      preparer(() => {
        throw { message: 'error-like' };
      }).prepare(record()),
    );
    expect(like).toEqual({ ok: false, reason: 'transform failed: Error: error-like' });
    expect(await preparer(() => Promise.reject(7)).prepare(record())).toEqual({ ok: false, reason: 'transform failed: 7' });
  });

  // Reading the answer runs the module's code too (a getter): its throw is the record's reason. By
  // promise, an escape there would leave the promise unsettled (the shard stalled) and the throw unhandled.
  test('a throw while its answer is read dead-letters the record, at once or by promise', async () => {
    const answer = {
      get data(): string {
        throw new Error('getter');
      },
    };
    expect(reason(now(preparer(() => answer).prepare(record())))).toContain('Error: getter');
    expect(reason(await preparer(async () => answer).prepare(record()))).toContain('Error: getter');
  });

  // A thrown object without a prototype has no string form: telling it must not throw in turn.
  test('a thrown object without a prototype dead-letters the record', async () => {
    expect(
      now(
        preparer(() => {
          throw Object.create(null);
        }).prepare(record()),
      ).ok,
    ).toBe(false);
    expect((await preparer(() => Promise.reject(Object.create(null))).prepare(record())).ok).toBe(false);
  });
});

describe('ModulePreparer: an answer by promise', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('is a promise of the same output records, and leaves no timer behind', async () => {
    const pending = preparer(async (r) => r.text()).prepare(record({ data: Buffer.from('later') }));
    expect(pending).toBeInstanceOf(Promise);
    expect(outputs(await pending).map((o) => text(o.data))).toEqual(['later']);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('no answer within the timeout: timed out after timeoutMs, and not before', async () => {
    let settled: Prepared | undefined;
    void later(preparer(() => new Promise<TransformResult>(() => {})).prepare(record())).then((p) => (settled = p));
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(settled).toEqual({ ok: false, reason: `transform timed out: no answer within Transform.timeout (${TIMEOUT_MS} ms)` });
  });

  test('an answer after the timeout is ignored', async () => {
    let answer!: (result: TransformResult) => void;
    const pending = later(preparer(() => new Promise<TransformResult>((resolve) => (answer = resolve))).prepare(record()));
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    answer('too late');
    await jest.advanceTimersByTimeAsync(0);
    expect(reason(await pending)).toMatch(/^transform timed out: /);
  });

  test('an answer just in time wins over the timeout', async () => {
    let answer!: (result: TransformResult) => void;
    let settled: Prepared | undefined;
    void later(preparer(() => new Promise<TransformResult>((resolve) => (answer = resolve))).prepare(record())).then((p) => (settled = p));
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    answer('in time');
    await jest.advanceTimersByTimeAsync(10 * TIMEOUT_MS);
    expect(outputs(settled!).map((o) => text(o.data))).toEqual(['in time']);
  });
});

describe('ModulePreparer: output groups', () => {
  test('an unknown group is the reason, naming it and the configured ones', () => {
    expect(reason(now(preparer(() => ({ data: 'x', output: 'OutputStream9' })).prepare(record())))).toBe(
      'unknown output group "OutputStream9"; the configuration has OutputStream0, OutputStream1',
    );
  });

  test('the group\'s index is on the record; the first group\'s records carry none', () => {
    const records = outputs(now(preparer(() => [{ data: 'a' }, { data: 'b', output: 'OutputStream1' }, { data: 'c', output: 'OutputStream0' }]).prepare(record())));
    expect(records.map((r) => r.output)).toEqual([undefined, 1, undefined]);
    expect('output' in records[0]).toBe(false);
    expect('output' in records[2]).toBe(false);
  });

  test('without a group, the routes\' default', () => {
    const toSecond = new ModulePreparer({ name: 'm', fn: () => 'x', routes: OutputRoutes.of(routes.targets, 'OutputStream1'), stream: STREAM, timeoutMs: TIMEOUT_MS });
    expect(outputs(now(toSecond.prepare(record())))[0].output).toBe(1);
  });
});

describe('ModulePreparer: output keys', () => {
  test('without a key, the group\'s sink.partition-key rule gives it', () => {
    const records = outputs(
      now(
        preparer(() => [
          { data: { ticker: 'MSFT' } }, // group 0: INPUT
          { data: { ticker: 'MSFT' }, output: 'OutputStream1' }, // group 1: FIELD ticker
          { data: 'not json', output: 'OutputStream1' }, // no field to take: the input's key
        ]).prepare(record()),
      ),
    );
    expect(records.map((r) => r.partitionKey)).toEqual(['pk-in', 'MSFT', 'pk-in']);
  });

  test('a key the module gives is kept, whatever the group\'s rule', () => {
    const records = outputs(now(preparer(() => [{ data: { ticker: 'MSFT' }, partitionKey: 'mine' }, { data: { ticker: 'MSFT' }, partitionKey: 'also-mine', output: 'OutputStream1' }]).prepare(record())));
    expect(records.map((r) => r.partitionKey)).toEqual(['mine', 'also-mine']);
  });

  test('an explicit hash key the module gives is set on the output', () => {
    const [out] = outputs(now(preparer(() => ({ data: 'x', explicitHashKey: '340282366920938463463374607431768211455' })).prepare(record())));
    expect(out.explicitHashKey).toBe('340282366920938463463374607431768211455');
  });

  test('one refused output of several dead-letters the whole input record, naming which', () => {
    // All or nothing: writing output 0 and dead-lettering output 1 would write output 0 twice on replay.
    const badHash = now(preparer(() => [{ data: 'ok' }, { data: 'x', explicitHashKey: 'abc' }]).prepare(record()));
    expect(reason(badHash)).toBe('output record 1: invalid explicit hash key: "abc" is not a decimal integer in [0, 2^128)');
    const longKey = now(preparer(() => [{ data: 'ok' }, { data: 'x', partitionKey: 'k'.repeat(300) }]).prepare(record()));
    expect(reason(longKey)).toBe('output record 1: invalid partition key: it has 300 characters; Kinesis takes 1 to 256');
    const unknown = now(preparer(() => ['ok', { data: 'x', output: 'OutputStream7' }]).prepare(record()));
    expect(reason(unknown)).toMatch(/^output record 1: unknown output group "OutputStream7"/);
  });

  test('a single output\'s reason has no index', () => {
    expect(reason(now(preparer(() => ({ data: 'x', partitionKey: '' })).prepare(record())))).toBe('invalid partition key: it is empty; Kinesis takes 1 to 256 Unicode characters');
  });
});

describe('ModulePreparer: the input\'s position and rejection', () => {
  test('every output carries its input\'s sequence and sub-sequence numbers', () => {
    const records = outputs(now(preparer(() => ['a', 'b']).prepare(record({ subSequenceNumber: 2 }))));
    expect(records.map((r) => [r.inputSequenceNumber, r.inputSubSequenceNumber])).toEqual([
      [SEQ, 2],
      [SEQ, 2],
    ]);
    const [plain] = outputs(now(preparer(() => 'a').prepare(record())));
    expect([plain.inputSequenceNumber, plain.inputSubSequenceNumber]).toEqual([SEQ, undefined]);
  });

  test('a record that could not be read keeps its rejection, and the function is not called', () => {
    const fn = jest.fn(() => 'x');
    const prepared = preparer(fn).prepare(record({ rejection: 'corrupt aggregate: MD5 mismatch' }));
    expect(prepared).not.toBeInstanceOf(Promise);
    expect(prepared).toEqual({ ok: false, reason: 'corrupt aggregate: MD5 mismatch' });
    expect(fn).not.toHaveBeenCalled();
  });
});
