/**
 * A record is the unit of failure, before the sink: what PutRecords would refuse of one output record
 * (`record-validation.ts`), a transform that throws or overflows the stack on a deeply nested record
 * (`prepare-output.ts`), and the log line that stands for many dead letters (`log-throttle.ts`).
 */
import { LogThrottle } from '../../shared/log-throttle';
import type { SourceRecord } from '../../shared/records';
import { outputRecordProblem } from '../../worker/sink/record-validation';
import { prepareOutput } from '../../worker/transform/prepare-output';
import { errorLine } from '../../worker/transform/error-line';
import { passThroughTransform } from '../../worker/transform/pass-through-transform';
import { stockTransform } from '../../worker/transform/stock-transform';
import { outputTarget } from '../support/preparers';

const MAX = 1024 * 1024;
const data = Buffer.from('{}');

describe('outputRecordProblem', () => {
  test('partition keys of 1 to 256 Unicode characters pass, counted in code points', () => {
    expect(outputRecordProblem({ partitionKey: 'k', data }, MAX)).toBeUndefined();
    expect(outputRecordProblem({ partitionKey: 'x'.repeat(256), data }, MAX)).toBeUndefined();
    // 256 emoji are 512 UTF-16 units but 256 characters, as Kinesis counts them.
    expect(outputRecordProblem({ partitionKey: '😀'.repeat(256), data }, MAX)).toBeUndefined();
  });

  test('an empty key, or one over 256 characters, is refused with the rule', () => {
    expect(outputRecordProblem({ partitionKey: '', data }, MAX)).toBe('invalid partition key: it is empty; Kinesis takes 1 to 256 Unicode characters');
    expect(outputRecordProblem({ partitionKey: 'x'.repeat(300), data }, MAX)).toBe('invalid partition key: it has 300 characters; Kinesis takes 1 to 256');
    expect(outputRecordProblem({ partitionKey: '😀'.repeat(257), data }, MAX)).toBe('invalid partition key: it has 257 characters; Kinesis takes 1 to 256');
    expect(outputRecordProblem({ partitionKey: 'x'.repeat(100_000), data }, MAX)).toBe('invalid partition key: it has over 4,096 characters; Kinesis takes 1 to 256');
  });

  test('an explicit hash key must be a decimal integer in [0, 2^128)', () => {
    const max = ((1n << 128n) - 1n).toString();
    expect(outputRecordProblem({ partitionKey: 'k', explicitHashKey: '0', data }, MAX)).toBeUndefined();
    expect(outputRecordProblem({ partitionKey: 'k', explicitHashKey: max, data }, MAX)).toBeUndefined();
    for (const bad of [(1n << 128n).toString(), '-1', '0x10', '1e3', ' 1', '', '1'.repeat(200)]) {
      expect(outputRecordProblem({ partitionKey: 'k', explicitHashKey: bad, data }, MAX)).toMatch(/^invalid explicit hash key: ".*" is not a decimal integer in \[0, 2\^128\)$/);
    }
  });

  test('data plus the key\'s UTF-8 bytes at most sink.max-record-size', () => {
    expect(outputRecordProblem({ partitionKey: 'é', data: Buffer.alloc(98) }, 100)).toBeUndefined();
    expect(outputRecordProblem({ partitionKey: 'é', data: Buffer.alloc(99) }, 100)).toBe('too large: the output record is 101 bytes, over sink.max-record-size (100)');
  });
});

describe('prepareOutput', () => {
  const output = outputTarget({ maxRecordBytes: MAX });
  const record = (text: string, partitionKey = 'pk'): SourceRecord => ({ shardId: 's', sequenceNumber: '1', partitionKey, data: Buffer.from(text) });

  test('a valid stock record nested 5,000 levels deep is dead-lettered with the stack overflow, not thrown', () => {
    let nested = '0';
    for (let i = 0; i < 5000; i++) nested = `{"a":${nested}}`;
    const deep = `{"event_time":"2024-01-01T00:00:00","ticker":"AAPL","price":1.5,"deep":${nested}}`;
    expect(Buffer.byteLength(deep)).toBeLessThan(40_000);
    const prepared = prepareOutput(stockTransform, record(deep), output);
    expect(prepared).toEqual({ ok: false, reason: 'transform failed: RangeError: Maximum call stack size exceeded' });
  });

  test('any throw of the transform becomes the record\'s reason, on one line', () => {
    const throwing = { name: 'X', transform: () => { throw new TypeError('cannot read "price"\nsecond line'); } };
    expect(prepareOutput(throwing, record('{}'), output)).toEqual({ ok: false, reason: 'transform failed: TypeError: cannot read "price"' });
    expect(errorLine('plain string')).toBe('plain string');
    expect(errorLine(new Error('x'.repeat(600)))).toHaveLength(500);
  });

  test('an output key Kinesis would refuse dead-letters the record; a good one keeps its input\'s position for a later refusal', () => {
    expect(prepareOutput(passThroughTransform, record('x', 'k'.repeat(300)), output)).toEqual({ ok: false, reason: 'invalid partition key: it has 300 characters; Kinesis takes 1 to 256' });
    const good = prepareOutput(passThroughTransform, record('x'), output);
    expect(good.ok && [good.record.inputSequenceNumber, good.record.inputSubSequenceNumber]).toEqual(['1', undefined]);
  });

  test('a corrupt aggregate keeps its reason', () => {
    expect(prepareOutput(passThroughTransform, { ...record('x'), rejection: 'corrupt aggregate: MD5 mismatch' }, output)).toEqual({ ok: false, reason: 'corrupt aggregate: MD5 mismatch' });
  });
});

describe('LogThrottle', () => {
  test('the first occurrence at once, then one line per interval standing for everything since', () => {
    let now = 0;
    const throttle = new LogThrottle(10_000, () => now);
    expect(throttle.take(3)).toBe(3);
    now = 5_000;
    expect(throttle.take(500)).toBeUndefined();
    expect(throttle.take(500)).toBeUndefined();
    now = 10_000;
    expect(throttle.take(1)).toBe(1001);
    now = 10_001;
    expect(throttle.take()).toBeUndefined();
  });
});
