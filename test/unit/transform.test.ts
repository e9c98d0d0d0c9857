import type { SourceRecord } from '../../shared/records';
import { builtinTransform, type TransformResult } from '../../worker/transform/transform';
import { mapStock, stockSchemaProblem, stockTransform } from '../../worker/transform/stock-transform';
import { passThroughTransform } from '../../worker/transform/pass-through-transform';

function record(data: Uint8Array | string): SourceRecord {
  return {
    shardId: 'shardId-000000000000',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    partitionKey: 'pk-1',
    data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
    approximateArrivalTimestamp: new Date('2024-05-01T12:00:00Z'),
  };
}

function okJson(result: TransformResult): unknown {
  if (!result.ok) throw new Error(`expected ok, got failure: ${result.reason}`);
  return JSON.parse(Buffer.from(result.data).toString('utf8'));
}

function reason(result: TransformResult): string {
  if (result.ok) throw new Error('expected a failure, got ok');
  return result.reason;
}

describe('stockTransform (JSON)', () => {
  it('is named JSON', () => {
    expect(stockTransform.name).toBe('builtin:stock');
  });

  it('sets the ticker to AMZN and keeps every other field', () => {
    const input = { event_time: '2024-05-01T12:00:00.000Z', ticker: 'AAPL', price: 123.45 };
    expect(okJson(stockTransform.transform(record(JSON.stringify(input))))).toEqual({ event_time: '2024-05-01T12:00:00.000Z', ticker: 'AMZN', price: 123.45 });
  });

  it('keeps extra fields, including nested and null ones, unchanged', () => {
    const input = { id: 'abc', event_time: '2024-05-01T12:00:00', ticker: 'MSFT', price: 0, volume: 17, tags: ['a', 'b'], meta: { source: 'x', n: null }, flag: false, nothing: null };
    expect(okJson(stockTransform.transform(record(JSON.stringify(input))))).toEqual({ ...input, ticker: 'AMZN' });
  });

  it('keeps the field order of the input', () => {
    const result = stockTransform.transform(record('{"price":1.5,"ticker":"INTC","event_time":"t","z":1}'));
    expect(result.ok && Buffer.from(result.data).toString('utf8')).toBe('{"price":1.5,"ticker":"AMZN","event_time":"t","z":1}');
  });

  it('accepts an AMZN ticker, negative and integer prices and an empty event_time string', () => {
    expect(okJson(stockTransform.transform(record('{"event_time":"","ticker":"AMZN","price":-3}')))).toEqual({ event_time: '', ticker: 'AMZN', price: -3 });
  });

  it('accepts surrounding whitespace and multi-byte UTF-8 text', () => {
    const input = '  {"event_time":"2024","ticker":"€uro","price":1,"name":"Zürich 🚀"}\n';
    expect(okJson(stockTransform.transform(record(input)))).toEqual({ event_time: '2024', ticker: 'AMZN', price: 1, name: 'Zürich 🚀' });
  });

  it('returns UTF-8 bytes', () => {
    const result = stockTransform.transform(record('{"event_time":"e","ticker":"T","price":2,"name":"é"}'));
    expect(result.ok).toBe(true);
    if (result.ok) expect(Buffer.from(result.data).equals(Buffer.from('{"event_time":"e","ticker":"AMZN","price":2,"name":"é"}', 'utf8'))).toBe(true);
  });

  it('reads a Uint8Array that is a view into a larger buffer', () => {
    const text = '{"event_time":"e","ticker":"T","price":2}';
    const backing = Buffer.from(`xxxx${text}yyyy`, 'utf8');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, Buffer.byteLength(text));
    expect(okJson(stockTransform.transform(record(view)))).toEqual({ event_time: 'e', ticker: 'AMZN', price: 2 });
  });

  it('does not modify the input bytes', () => {
    const data = Buffer.from('{"event_time":"e","ticker":"T","price":2}');
    const copy = Buffer.from(data);
    stockTransform.transform(record(data));
    expect(data.equals(copy)).toBe(true);
  });

  it.each([
    ['a lone continuation byte', Buffer.from([0x80])],
    ['a truncated multi-byte sequence', Buffer.from([0x7b, 0xe2, 0x82])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['an invalid byte inside JSON', Buffer.concat([Buffer.from('{"event_time":"'), Buffer.from([0xff]), Buffer.from('","ticker":"T","price":1}')])],
  ])('rejects invalid UTF-8 (%s)', (_what, bytes) => {
    expect(stockTransform.transform(record(bytes))).toEqual({ ok: false, reason: 'not valid UTF-8' });
  });

  it.each(['', 'not json', '{"event_time":"e",', "{'ticker':'T'}", '{"a":1}{"b":2}', 'NaN'])('rejects invalid JSON %j', (text) => {
    expect(reason(stockTransform.transform(record(text)))).toMatch(/^not valid JSON: .+/);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"AMZN"'],
    ['a boolean', 'true'],
    ['an array', '[{"event_time":"e","ticker":"T","price":1}]'],
  ])('rejects %s as not a JSON object', (_what, text) => {
    expect(reason(stockTransform.transform(record(text)))).toBe('not a stock record: not a JSON object');
  });

  it.each([
    ['missing event_time', { ticker: 'T', price: 1 }, 'field "event_time" must be a string'],
    ['numeric event_time', { event_time: 1714564800, ticker: 'T', price: 1 }, 'field "event_time" must be a string'],
    ['null event_time', { event_time: null, ticker: 'T', price: 1 }, 'field "event_time" must be a string'],
    ['missing ticker', { event_time: 'e', price: 1 }, 'field "ticker" must be a string'],
    ['numeric ticker', { event_time: 'e', ticker: 7, price: 1 }, 'field "ticker" must be a string'],
    ['object ticker', { event_time: 'e', ticker: { s: 'T' }, price: 1 }, 'field "ticker" must be a string'],
    ['missing price', { event_time: 'e', ticker: 'T' }, 'field "price" must be a number'],
    ['string price', { event_time: 'e', ticker: 'T', price: '1.5' }, 'field "price" must be a number'],
    ['null price', { event_time: 'e', ticker: 'T', price: null }, 'field "price" must be a number'],
    ['boolean price', { event_time: 'e', ticker: 'T', price: true }, 'field "price" must be a number'],
    ['empty object', {}, 'field "event_time" must be a string'],
  ])('rejects a record with %s', (_what, value, problem) => {
    expect(stockTransform.transform(record(JSON.stringify(value)))).toEqual({ ok: false, reason: `not a stock record: ${problem}` });
  });

  it('rejects a non-finite price (a number literal too large for a double)', () => {
    expect(stockTransform.transform(record('{"event_time":"e","ticker":"T","price":1e999}'))).toEqual({
      ok: false,
      reason: 'not a stock record: field "price" must be a number',
    });
    expect(stockTransform.transform(record('{"event_time":"e","ticker":"T","price":-1e999}'))).toEqual({
      ok: false,
      reason: 'not a stock record: field "price" must be a number',
    });
  });
});

describe('stockSchemaProblem and mapStock', () => {
  it('reports non-finite prices', () => {
    expect(stockSchemaProblem({ event_time: 'e', ticker: 'T', price: Number.NaN })).toBe('field "price" must be a number');
    expect(stockSchemaProblem({ event_time: 'e', ticker: 'T', price: Number.POSITIVE_INFINITY })).toBe('field "price" must be a number');
    expect(stockSchemaProblem({ event_time: 'e', ticker: 'T', price: Number.NEGATIVE_INFINITY })).toBe('field "price" must be a number');
  });

  it('accepts a valid stock', () => {
    expect(stockSchemaProblem({ event_time: 'e', ticker: 'T', price: 1, extra: [1] })).toBeUndefined();
  });

  it('checks the fields in order event_time, ticker, price', () => {
    expect(stockSchemaProblem({ price: 'x', ticker: 1 })).toBe('field "event_time" must be a string');
    expect(stockSchemaProblem({ event_time: 'e', price: 'x', ticker: 1 })).toBe('field "ticker" must be a string');
  });

  it('mapStock sets the ticker on the value it is given and keeps every other field in its place', () => {
    const stock = { price: 1, ticker: 'AAPL', event_time: 'e', extra: 'x' };
    const mapped = mapStock(stock);
    expect(mapped).toBe(stock);
    expect(JSON.stringify(mapped)).toBe('{"price":1,"ticker":"AMZN","event_time":"e","extra":"x"}');
  });
});

describe('passThroughTransform (STRING)', () => {
  it('is named STRING', () => {
    expect(passThroughTransform.name).toBe('builtin:pass-through');
  });

  it.each([
    ['JSON text', Buffer.from('{"ticker":"AAPL"}')],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x80])],
    ['empty', new Uint8Array()],
    ['plain text', Buffer.from('hello world')],
  ])('passes %s through byte for byte', (_what, data) => {
    const result = passThroughTransform.transform(record(data));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Buffer.from(result.data).equals(Buffer.from(data))).toBe(true);
      expect(result.data.byteLength).toBe(data.byteLength);
    }
  });
});

describe('builtinTransform', () => {
  it('names the stock transform and the pass-through', () => {
    expect(builtinTransform('stock')).toBe(stockTransform);
    expect(builtinTransform('pass-through')).toBe(passThroughTransform);
  });
});
