/**
 * The pure parts of `shardflow transform`: the sample records it runs a module over
 * (cli/transform/sample-records.ts) and the report it prints per record (cli/transform/outcome-report.ts).
 */
import { formatReport, reportOf, type RecordReport } from '../../cli/transform/outcome-report';
import { parseSampleLines, SAMPLE_SHARD, SampleInputError, sampleSequenceNumber, sampleStockRecords } from '../../cli/transform/sample-records';
import { TICKERS } from '../../generator/stock-records';
import type { SourceRecord } from '../../shared/records';

const ARRIVAL = new Date('2024-05-01T12:00:00Z');
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');

/** What a SampleInputError says, or a failure when there is none. */
function inputError(lines: string): string {
  try {
    parseSampleLines(lines, ARRIVAL);
  } catch (err) {
    expect(err).toBeInstanceOf(SampleInputError);
    return (err as Error).message;
  }
  throw new Error(`no SampleInputError for ${JSON.stringify(lines)}`);
}

/** A seeded generator: the same numbers every run. */
function seeded(seed = 1): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s - 1) / 2147483646;
  };
}

describe('sampleSequenceNumber', () => {
  test('is a 56-digit decimal, as Kinesis writes them', () => {
    for (const n of [1, 2, 10, 999, 1_000_000]) expect(sampleSequenceNumber(n)).toMatch(/^\d{56}$/);
  });

  test('orders like the records: as text and as numbers, the n-th before the n+1-th', () => {
    const numbers = [1, 2, 9, 10, 11, 99, 100, 12345, 999_999, 1_000_000].map(sampleSequenceNumber);
    expect([...numbers].sort()).toEqual(numbers);
    for (let i = 1; i < numbers.length; i++) expect(BigInt(numbers[i]) > BigInt(numbers[i - 1])).toBe(true);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});

describe('parseSampleLines', () => {
  test('a line of JSON is the whole data, keyed "partitionkey" as stock.py keys every record', () => {
    const line = '{"event_time":"2024-05-01T12:00:00","ticker":"AAPL","price":12.5}';
    const [record, ...rest] = parseSampleLines(`${line}\n`, ARRIVAL);
    expect(rest).toEqual([]);
    expect(text(record.data)).toBe(line);
    expect(record).toMatchObject({ shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(1), partitionKey: 'partitionkey', approximateArrivalTimestamp: ARRIVAL });
    expect(record.explicitHashKey).toBeUndefined();
  });

  test('the data is the line trimmed, its bytes as given (not re-serialized)', () => {
    const [record] = parseSampleLines('   { "ticker" : "é🚀",  "price": 1.50 }  \r\n', ARRIVAL);
    expect(text(record.data)).toBe('{ "ticker" : "é🚀",  "price": 1.50 }');
  });

  test('any JSON value is a line of data: a number, a string, an array, null', () => {
    const records = parseSampleLines('42\n"text"\n[1,2]\nnull\n', ARRIVAL);
    expect(records.map((r) => text(r.data))).toEqual(['42', '"text"', '[1,2]', 'null']);
    expect(records.every((r) => r.partitionKey === 'partitionkey')).toBe(true);
  });

  test('an AWS CLI record: its Data decoded from base64, its PartitionKey, ExplicitHashKey and SequenceNumber', () => {
    const lines = [
      JSON.stringify({ Data: Buffer.from('hello').toString('base64'), PartitionKey: 'k1' }),
      JSON.stringify({ Data: Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64'), PartitionKey: 'k2', ExplicitHashKey: '170141183460469231731687303715884105728' }),
      JSON.stringify({ Data: Buffer.from('{"a":1}').toString('base64'), PartitionKey: 'k3', SequenceNumber: '49000000000000000000000000000000000000000000000000000042' }),
    ].join('\n');
    const [a, b, c] = parseSampleLines(lines, ARRIVAL);
    expect(text(a.data)).toBe('hello');
    expect(a.partitionKey).toBe('k1');
    expect(a.sequenceNumber).toBe(sampleSequenceNumber(1));
    expect([...b.data]).toEqual([0xff, 0xfe, 0x00, 0x80]);
    expect(b).toMatchObject({ partitionKey: 'k2', explicitHashKey: '170141183460469231731687303715884105728', sequenceNumber: sampleSequenceNumber(2) });
    expect(text(c.data)).toBe('{"a":1}');
    expect(c.sequenceNumber).toBe('49000000000000000000000000000000000000000000000000000042');
  });

  test('an AWS CLI record without PartitionKey is keyed "partitionkey"; an empty Data is an empty record', () => {
    const [record] = parseSampleLines('{"Data":""}', ARRIVAL);
    expect(record.partitionKey).toBe('partitionkey');
    expect(record.data.length).toBe(0);
  });

  test('a JSON object whose Data is not a string is data, not an AWS CLI record', () => {
    const [record] = parseSampleLines('{"Data":{"nested":true},"PartitionKey":"k"}', ARRIVAL);
    expect(text(record.data)).toBe('{"Data":{"nested":true},"PartitionKey":"k"}');
    expect(record.partitionKey).toBe('partitionkey');
  });

  test('blank lines are skipped; records are numbered by record, errors by line', () => {
    const records = parseSampleLines('\n{"n":1}\n\n   \n{"n":2}\n', ARRIVAL);
    expect(records.map((r) => text(r.data))).toEqual(['{"n":1}', '{"n":2}']);
    expect(records.map((r) => r.sequenceNumber)).toEqual([sampleSequenceNumber(1), sampleSequenceNumber(2)]);
    expect(inputError('\n{"n":1}\n\n{oops\n')).toMatch(/^line 4 is not JSON \(/);
  });

  test('nothing but blank lines is no records', () => {
    expect(parseSampleLines('', ARRIVAL)).toEqual([]);
    expect(parseSampleLines('\n\r\n  \n', ARRIVAL)).toEqual([]);
  });

  test('a line that is not JSON names its line and says what a line may be', () => {
    const message = inputError('{"a":1}\nnot json\n');
    expect(message).toContain('line 2 is not JSON');
    expect(message).toContain('{"Data": "<base64>", "PartitionKey": "..."}');
  });

  test('an AWS CLI record whose PartitionKey is not a string names its line', () => {
    expect(inputError('{"a":1}\n{"a":2}\n{"Data":"aGk=","PartitionKey":7}')).toBe('line 3: "PartitionKey" must be a string');
  });

  test('an AWS CLI record whose Data is not base64 names its line, instead of becoming other bytes', () => {
    expect(() => parseSampleLines('{"Data":"not base64!"}')).toThrow('line 1: "Data" is not base64');
    expect(() => parseSampleLines('\n{"Data":"YWJj"}\n{"Data":"YWJ"}')).toThrow('line 3: "Data" is not base64');
  });

  test('the arrival time defaults to now', () => {
    const before = Date.now();
    const [record] = parseSampleLines('{}');
    expect(record.approximateArrivalTimestamp!.getTime()).toBeGreaterThanOrEqual(before);
    expect(record.approximateArrivalTimestamp!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('sampleStockRecords', () => {
  test('count stock records like stock.py\'s: one key, event_time now, a known ticker, a price in [0, 100] with cents', () => {
    const records = sampleStockRecords(50, ARRIVAL, seeded(7));
    expect(records).toHaveLength(50);
    records.forEach((record, i) => {
      expect(record).toMatchObject({ shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(i + 1), partitionKey: 'partitionkey', approximateArrivalTimestamp: ARRIVAL });
      const stock = JSON.parse(text(record.data)) as { event_time: string; ticker: string; price: number };
      expect(Object.keys(stock)).toEqual(['event_time', 'ticker', 'price']);
      expect(stock.event_time).toBe(ARRIVAL.toISOString());
      expect(TICKERS).toContain(stock.ticker);
      expect(stock.price).toBeGreaterThanOrEqual(0);
      expect(stock.price).toBeLessThanOrEqual(100);
      expect(Math.round(stock.price * 100) / 100).toBe(stock.price);
    });
  });

  test('the same random numbers give the same records', () => {
    const a = sampleStockRecords(5, ARRIVAL, seeded(3)).map((r) => text(r.data));
    const b = sampleStockRecords(5, ARRIVAL, seeded(3)).map((r) => text(r.data));
    expect(a).toEqual(b);
  });

  test('the random source picks the ticker and the price', () => {
    const [record] = sampleStockRecords(1, ARRIVAL, () => 0.25);
    expect(JSON.parse(text(record.data))).toEqual({ event_time: ARRIVAL.toISOString(), ticker: TICKERS[1], price: 25 });
  });
});

describe('reportOf', () => {
  const input: SourceRecord = { shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(3), partitionKey: 'in-key', data: Buffer.from('{}'), approximateArrivalTimestamp: ARRIVAL };
  const groups = ['OutputStream0', 'OutputStream1', 'OutputStream2'];

  test('written: each output with its group (by index, the first without one), key and data as text', () => {
    const report = reportOf(
      3,
      input,
      {
        ok: true,
        records: [
          { partitionKey: 'a', data: Buffer.from('{"x":1}') },
          { partitionKey: 'b', data: Buffer.from('zwei'), output: 2 },
          { partitionKey: 'c', data: Buffer.from('é'), output: 0, explicitHashKey: '42' },
        ],
      },
      groups,
    );
    expect(report).toStrictEqual({
      input: 3,
      sequenceNumber: sampleSequenceNumber(3),
      partitionKey: 'in-key',
      outcome: 'written',
      outputs: [
        { output: 'OutputStream0', partitionKey: 'a', data: '{"x":1}' },
        { output: 'OutputStream2', partitionKey: 'b', data: 'zwei' },
        { output: 'OutputStream0', partitionKey: 'c', explicitHashKey: '42', data: 'é' },
      ],
    });
  });

  test('bytes that are not UTF-8: data null and dataBase64', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xc3, 0x28, 0x7d]);
    const report = reportOf(1, input, { ok: true, records: [{ partitionKey: 'k', data: bytes, output: 1 }] }, groups);
    expect(report.outputs).toStrictEqual([{ output: 'OutputStream1', partitionKey: 'k', data: null, dataBase64: bytes.toString('base64') }]);
    // Half a multi-byte character at the end is not UTF-8 either.
    expect(reportOf(1, input, { ok: true, records: [{ partitionKey: 'k', data: Buffer.from('é').subarray(0, 1) }] }, groups).outputs[0]).toMatchObject({ data: null, dataBase64: 'ww==' });
  });

  test('an empty output is the empty text, not null', () => {
    expect(reportOf(1, input, { ok: true, records: [{ partitionKey: 'k', data: new Uint8Array(0) }] }, groups).outputs).toStrictEqual([{ output: 'OutputStream0', partitionKey: 'k', data: '' }]);
  });

  test('no output records: filtered, with no reason', () => {
    expect(reportOf(2, input, { ok: true, records: [] }, groups)).toStrictEqual({ input: 2, sequenceNumber: sampleSequenceNumber(3), partitionKey: 'in-key', outcome: 'filtered', outputs: [] });
  });

  test('a failure: dead-letter with its reason, and its stack when there is one', () => {
    expect(reportOf(4, input, { ok: false, reason: 'transform failed: Error: boom', stack: 'at transform (file:///m.mjs:1:1)' }, groups)).toStrictEqual({
      input: 4,
      sequenceNumber: sampleSequenceNumber(3),
      partitionKey: 'in-key',
      outcome: 'dead-letter',
      outputs: [],
      reason: 'transform failed: Error: boom',
      stack: 'at transform (file:///m.mjs:1:1)',
    });
    const noStack = reportOf(5, input, { ok: false, reason: 'wrong result shape: a number' }, groups);
    expect(noStack).toStrictEqual({ input: 5, sequenceNumber: sampleSequenceNumber(3), partitionKey: 'in-key', outcome: 'dead-letter', outputs: [], reason: 'wrong result shape: a number' });
    expect('stack' in noStack).toBe(false);
  });

  test('as JSON, the keys come in the documented order', () => {
    const written = reportOf(1, input, { ok: true, records: [{ partitionKey: 'k', data: Buffer.from([0xff]), explicitHashKey: '7' }] }, groups);
    expect(Object.keys(JSON.parse(JSON.stringify(written)) as object)).toEqual(['input', 'sequenceNumber', 'partitionKey', 'outcome', 'outputs']);
    expect(Object.keys(written.outputs[0])).toEqual(['output', 'partitionKey', 'data', 'explicitHashKey', 'dataBase64']);
    const dead = reportOf(1, input, { ok: false, reason: 'r', stack: 's' }, groups);
    expect(Object.keys(dead)).toEqual(['input', 'sequenceNumber', 'partitionKey', 'outcome', 'outputs', 'reason', 'stack']);
  });
});

describe('formatReport', () => {
  const base = { input: 7, sequenceNumber: sampleSequenceNumber(7), partitionKey: 'partitionkey' };

  test('filtered: one line', () => {
    expect(formatReport({ ...base, outcome: 'filtered', outputs: [] })).toBe('#7 (key "partitionkey"): filtered out\n');
  });

  test('a dead letter: its reason, and its stack indented on the next line', () => {
    expect(formatReport({ ...base, outcome: 'dead-letter', outputs: [], reason: 'transform failed: Error: boom' })).toBe('#7 (key "partitionkey"): dead letter: transform failed: Error: boom\n');
    expect(formatReport({ ...base, outcome: 'dead-letter', outputs: [], reason: 'transform failed: Error: boom', stack: 'at f (file:///m.mjs:2:3)' })).toBe(
      '#7 (key "partitionkey"): dead letter: transform failed: Error: boom\n    at f (file:///m.mjs:2:3)\n',
    );
  });

  test('written: a head line with the count, then one line per output with its group, key, hash key and data', () => {
    const report: RecordReport = {
      ...base,
      outcome: 'written',
      outputs: [
        { output: 'OutputStream0', partitionKey: 'AMZN', data: '{"ticker":"AMZN"}' },
        { output: 'OutputStream1', partitionKey: 'a"b', explicitHashKey: '42', data: null, dataBase64: '/w==' },
      ],
    };
    expect(formatReport(report)).toBe(
      '#7 (key "partitionkey"): 2 output records\n' +
        '  -> OutputStream0 key "AMZN": {"ticker":"AMZN"}\n' +
        '  -> OutputStream1 key "a\\"b" hash 42: (not UTF-8) base64 /w==\n',
    );
    expect(formatReport({ ...report, outputs: report.outputs.slice(0, 1) })).toBe('#7 (key "partitionkey"): 1 output record\n  -> OutputStream0 key "AMZN": {"ticker":"AMZN"}\n');
  });

  test('formats what reportOf returns', () => {
    const input: SourceRecord = { shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(1), partitionKey: 'k', data: Buffer.from('x') };
    expect(formatReport(reportOf(1, input, { ok: true, records: [{ partitionKey: 'out', data: Buffer.from('X') }] }, ['OutputStream0']))).toBe(
      '#1 (key "k"): 1 output record\n  -> OutputStream0 key "out": X\n',
    );
  });
});
