/**
 * A transform module's answer checked for shape (`result-shape.ts`): every shape the module API allows
 * becomes output drafts, and every other one a reason that names what was wrong, so the dead letter
 * tells the module's author what to fix.
 */
import { shapeResult, type OutputDraft, type ShapedResult } from '../../worker/transform/result-shape';

const ALLOWED = 'return a string, a Buffer, { data, partitionKey?, explicitHashKey?, output? }, an array of those, or null to filter the record out';

function drafts(result: ShapedResult): OutputDraft[] {
  if (!result.ok) throw new Error(`expected drafts, got: ${result.reason}`);
  return result.drafts;
}

function reason(result: ShapedResult): string {
  if (result.ok) throw new Error(`expected a reason, got ${result.drafts.length} drafts`);
  return result.reason;
}

const text = (draft: OutputDraft) => Buffer.from(draft.data).toString('utf8');

describe('shapeResult: what filters the record out', () => {
  test('null, undefined and [] give no drafts', () => {
    expect(shapeResult(null)).toEqual({ ok: true, drafts: [] });
    expect(shapeResult(undefined)).toEqual({ ok: true, drafts: [] });
    expect(shapeResult([])).toEqual({ ok: true, drafts: [] });
  });
});

describe('shapeResult: one output', () => {
  test('a string is its UTF-8 bytes, with key and group left to the output', () => {
    const [draft, ...rest] = drafts(shapeResult('héllo'));
    expect(rest).toEqual([]);
    expect(Buffer.isBuffer(draft.data)).toBe(true);
    expect(text(draft)).toBe('héllo');
    expect(Object.keys(draft)).toEqual(['data']);
  });

  test('an empty string is an empty record, not a filter', () => {
    expect(drafts(shapeResult('')).map(text)).toEqual(['']);
  });

  test('a Buffer or a Uint8Array is written as it is, without a copy', () => {
    const buffer = Buffer.from('bytes');
    expect(drafts(shapeResult(buffer))[0].data).toBe(buffer);
    // A view into a larger buffer keeps its offset: the bytes are the view's, not the whole buffer's.
    const view = new Uint8Array([0, 1, 2, 3]).subarray(1, 3);
    const [draft] = drafts(shapeResult(view));
    expect(draft.data).toBe(view);
    expect([...draft.data]).toEqual([1, 2]);
  });

  test('an object\'s data string or bytes are written as they are', () => {
    expect(text(drafts(shapeResult({ data: 'as text' }))[0])).toBe('as text');
    const bytes = Buffer.from([0xff, 0x00]);
    expect(drafts(shapeResult({ data: bytes }))[0].data).toBe(bytes);
  });

  test('an object\'s data of any other JSON value is written as JSON', () => {
    expect(text(drafts(shapeResult({ data: { ticker: 'AAPL', price: 1.5 } }))[0])).toBe('{"ticker":"AAPL","price":1.5}');
    expect(text(drafts(shapeResult({ data: [1, 'two'] }))[0])).toBe('[1,"two"]');
    // Falsy values are data too: only null and undefined are "no data".
    expect(text(drafts(shapeResult({ data: 0 }))[0])).toBe('0');
    expect(text(drafts(shapeResult({ data: false }))[0])).toBe('false');
    // A string inside an object is JSON; the string itself as data is not quoted.
    expect(text(drafts(shapeResult({ data: { s: 'x' } }))[0])).toBe('{"s":"x"}');
  });

  test('partitionKey, explicitHashKey and output are kept as given', () => {
    const [draft] = drafts(shapeResult({ data: 'x', partitionKey: 'pk', explicitHashKey: '42', output: 'OutputStream1' }));
    expect(draft).toEqual({ data: Buffer.from('x'), partitionKey: 'pk', explicitHashKey: '42', output: 'OutputStream1' });
  });

  test('optional fields set to undefined count as absent', () => {
    const [draft] = drafts(shapeResult({ data: 'x', partitionKey: undefined, explicitHashKey: undefined, output: undefined }));
    expect(draft).toEqual({ data: Buffer.from('x') });
    expect(Object.keys(draft)).toEqual(['data']);
  });
});

describe('shapeResult: several outputs', () => {
  test('an array of every shape gives one draft each, in order', () => {
    const result = drafts(shapeResult(['a', Buffer.from('b'), new Uint8Array([0x63]), { data: 'd', output: 'OutputStream1' }, { data: { e: 5 } }]));
    expect(result.map(text)).toEqual(['a', 'b', 'c', 'd', '{"e":5}']);
    expect(result[3].output).toBe('OutputStream1');
  });
});

describe('shapeResult: wrong shapes, each with its reason', () => {
  test('every reason says it is the shape and lists what is allowed', () => {
    expect(reason(shapeResult(42))).toBe(`wrong result shape: a number is not an output record; ${ALLOWED}`);
  });

  test('a number, boolean, function, bigint or symbol is not an output record', () => {
    expect(reason(shapeResult(42))).toContain('a number is not an output record');
    expect(reason(shapeResult(true))).toContain('a boolean is not an output record');
    expect(reason(shapeResult(() => 'x'))).toContain('a function is not an output record');
    expect(reason(shapeResult(10n))).toContain('a bigint is not an output record');
    expect(reason(shapeResult(Symbol('s')))).toContain('a symbol is not an output record');
  });

  test('data null or missing says which', () => {
    expect(reason(shapeResult({ data: null }))).toContain('"data" is null');
    expect(reason(shapeResult({}))).toContain('"data" is missing');
    expect(reason(shapeResult({ data: undefined, partitionKey: 'pk' }))).toContain('"data" is missing');
  });

  test('a field name typo is a reason, not a silently different record', () => {
    // `partitionkey` would otherwise be dropped and the record keyed by the output's rule.
    expect(reason(shapeResult({ data: 'x', partitionkey: 'pk' }))).toContain('unknown field "partitionkey" (an output record has data, partitionKey, explicitHashKey and output)');
    // Checked before data: `Data` is named, not reported as data missing.
    expect(reason(shapeResult({ Data: 'x' }))).toContain('unknown field "Data"');
    expect(reason(shapeResult({ data: 'x', explicitHashkey: '1' }))).toContain('unknown field "explicitHashkey"');
  });

  test('partitionKey, explicitHashKey and output must be strings', () => {
    expect(reason(shapeResult({ data: 'x', partitionKey: 7 }))).toContain('"partitionKey" is a number, not a string');
    expect(reason(shapeResult({ data: 'x', explicitHashKey: 12345678901234567890n }))).toContain('"explicitHashKey" is a bigint, not a string');
    expect(reason(shapeResult({ data: 'x', output: 1 }))).toContain('"output" is a number, not a string');
    // null is not "absent": a module that writes `partitionKey: null` meant something else.
    expect(reason(shapeResult({ data: 'x', partitionKey: null }))).toContain('"partitionKey" is null, not a string');
    expect(reason(shapeResult({ data: 'x', output: ['OutputStream1'] }))).toContain('"output" is an array, not a string');
  });

  test('data that JSON cannot write: the stringify error\'s first line', () => {
    expect(reason(shapeResult({ data: { n: 1n } }))).toContain('"data" cannot be written as JSON: TypeError: Do not know how to serialize a BigInt');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cyclicReason = reason(shapeResult({ data: cyclic }));
    expect(cyclicReason).toContain('"data" cannot be written as JSON: TypeError: Converting circular structure to JSON');
    // V8's message goes on for lines drawing the cycle; a reason is one line.
    expect(cyclicReason).not.toContain('\n');
    // A toJSON that throws is contained the same way.
    expect(reason(shapeResult({ data: { toJSON: () => { throw new RangeError('nope'); } } }))).toContain('"data" cannot be written as JSON: RangeError: nope');
  });

  test('data that JSON.stringify turns into nothing is named', () => {
    expect(reason(shapeResult({ data: () => 1 }))).toContain('"data" is a function, which JSON cannot hold');
    expect(reason(shapeResult({ data: Symbol('s') }))).toContain('"data" is a symbol, which JSON cannot hold');
  });

  test('an array element that is itself an array, null or undefined is not an output record', () => {
    // Only the top level filters: null inside an array is a mistake, not "no output".
    expect(reason(shapeResult([['a']]))).toBe(`wrong result shape: element 0 of the array: an array is not an output record; ${ALLOWED}`);
    expect(reason(shapeResult(['a', null]))).toContain('element 1 of the array: null is not an output record');
    expect(reason(shapeResult(['a', 'b', undefined]))).toContain('element 2 of the array: undefined is not an output record');
  });

  test('a bad element names its index, and the whole answer is refused', () => {
    const result = shapeResult(['ok', { data: 'ok' }, { data: 'x', Output: 'OutputStream1' }, 'never reached']);
    expect(result.ok).toBe(false);
    expect(reason(result)).toContain('element 2 of the array: unknown field "Output"');
    expect(reason(shapeResult([{ data: 'x' }, { data: null }]))).toContain('element 1 of the array: "data" is null');
    expect(reason(shapeResult(['a', 3]))).toContain('element 1 of the array: a number is not an output record');
  });
});
