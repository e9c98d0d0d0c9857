/**
 * `generate --from FILE [--loop]` and `generate --template`'s records: the line format
 * (generator/record-lines.ts, shared with `shardflow transform --input`), keys by --partition-key, the
 * file checked before it replays and replayed in order, once or over and over
 * (generator/replay-file.ts), template records (generator/record-sources.ts), and the writer stopping
 * where its source ends (generator/record-writer.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult, RecordPutter } from '../../shared/aws/kinesis-gateway';
import { parseRecordLine, RecordLineError } from '../../generator/record-lines';
import { dataPartitionKey, RecordKeyError, templateSource, tickerOf, type RecordSource } from '../../generator/record-sources';
import { writeRecords } from '../../generator/record-writer';
import { checkReplayFile, replayRecord, replaySource } from '../../generator/replay-file';
import type { UserRecord } from '../../shared/kpl/aggregated-record';

const dir = mkdtempSync(join(tmpdir(), 'shardflow-replay-'));
let files = 0;
function file(lines: string[]): string {
  const path = join(dir, `capture-${++files}.jsonl`);
  writeFileSync(path, lines.join('\n'));
  return path;
}
const text = (r: UserRecord) => Buffer.from(r.data).toString('utf8');
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A capture of `n` records: odd ones the data as JSON, even ones as the AWS CLI prints them, with a key. */
function capture(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? JSON.stringify({ n: i + 1, ticker: `T${i + 1}` }) : JSON.stringify({ Data: b64(`{"n":${i + 1}}`), PartitionKey: `key-${i + 1}`, SequenceNumber: '1' })));
}

describe('parseRecordLine', () => {
  test('a JSON line is the data, byte for byte, with no key of its own; an AWS CLI record brings its key and hash key', () => {
    expect(parseRecordLine('  {"a": 1.50}  ', 1)).toEqual({ data: Buffer.from('{"a": 1.50}') });
    expect(parseRecordLine(JSON.stringify({ Data: b64('hi'), PartitionKey: 'k', ExplicitHashKey: '5', SequenceNumber: '42' }), 1)).toEqual({
      data: Buffer.from('hi'),
      partitionKey: 'k',
      explicitHashKey: '5',
      sequenceNumber: '42',
    });
    expect(parseRecordLine(JSON.stringify({ Data: b64('hi') }), 1)).toEqual({ data: Buffer.from('hi') });
    expect(parseRecordLine('   ', 3)).toBeUndefined();
  });

  test('a bad line names its line number', () => {
    expect(() => parseRecordLine('{oops', 7)).toThrow(RecordLineError);
    expect(() => parseRecordLine('{oops', 7)).toThrow(/^line 7 is not JSON/);
    expect(() => parseRecordLine('{"Data":"%%"}', 9)).toThrow('line 9: "Data" is not base64');
  });
});

describe('partition keys of records that are not stock records', () => {
  test('ticker: the data\'s JSON "ticker" field; random: a new key each; constant: stock.py\'s one key', () => {
    expect(dataPartitionKey(Buffer.from('{"ticker":"AMZN","price":1}\n'), 'ticker')).toBe('AMZN');
    expect(dataPartitionKey(Buffer.from('{"ticker":7}'), 'ticker')).toBe('7');
    expect(dataPartitionKey(Buffer.from('x'), 'constant')).toBe('partitionkey');
    const keys = new Set(Array.from({ length: 50 }, () => dataPartitionKey(Buffer.from('x'), 'random')));
    expect(keys.size).toBe(50);
  });

  test('ticker on data without one is a RecordKeyError', () => {
    for (const data of ['{"price":1}', 'not json', '["ticker"]', '{"ticker":""}', '{"ticker":null}']) {
      expect(tickerOf(Buffer.from(data)) ?? '').toBe('');
      expect(() => dataPartitionKey(Buffer.from(data), 'ticker')).toThrow(RecordKeyError);
    }
  });

  test('a replayed line keeps its own PartitionKey whatever the mode; a line without one is keyed by the mode', () => {
    const keyed = parseRecordLine(JSON.stringify({ Data: b64('{"ticker":"X"}'), PartitionKey: 'mine', ExplicitHashKey: '99' }), 1)!;
    expect(replayRecord(keyed, 1, 'constant')).toEqual({ partitionKey: 'mine', explicitHashKey: '99', data: Buffer.from('{"ticker":"X"}') });
    expect(replayRecord(parseRecordLine('{"ticker":"X"}', 2)!, 2, 'ticker').partitionKey).toBe('X');
    expect(() => replayRecord(parseRecordLine('{"a":1}', 4)!, 4, 'ticker')).toThrow('line 4 has no "PartitionKey" and its data is not a JSON object with a "ticker" field');
  });
});

describe('checkReplayFile', () => {
  test('counts the records, skipping blank lines', async () => {
    expect(await checkReplayFile(file(['', ...capture(5), '   ', '']), 'random')).toBe(5);
    expect(await checkReplayFile(file(['', '  ']), 'random')).toBe(0);
  });

  test('names the first bad line, even the last of a long file', async () => {
    const lines = [...capture(2000), '{"Data": 5}', 'not json'];
    await expect(checkReplayFile(file(lines), 'random')).rejects.toThrow(/^line 2002 is not JSON/);
    await expect(checkReplayFile(file(['{"a":1}', '{"b":2}']), 'ticker')).rejects.toThrow('line 1 has no "PartitionKey"');
  });
});

describe('replaySource', () => {
  test('the records in file order, stopping at the end: then no more, ever', async () => {
    const lines = capture(7);
    const source = replaySource(file(['', ...lines.slice(0, 3), '', ...lines.slice(3)]), 'constant', false);
    const got = [...(await source.next(4)), ...(await source.next(4))];
    expect(got.map(text)).toEqual(lines.map((l, i) => (i % 2 === 0 ? l : `{"n":${i + 1}}`)));
    expect(got.map((r) => r.partitionKey)).toEqual(['partitionkey', 'key-2', 'partitionkey', 'key-4', 'partitionkey', 'key-6', 'partitionkey']);
    expect(await source.next(4)).toEqual([]);
    expect(await source.next(4)).toEqual([]);
    expect(source.passes).toBe(1);
    await source.close!();
  });

  test('with loop: from the top again at the end, counting the passes', async () => {
    const source = replaySource(file(capture(3)), 'random', true);
    const got = await source.next(8);
    expect(got.map((r) => JSON.parse(text(r)).n)).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(source.passes).toBe(2);
    await source.close!();
  });

  test('a loop over a file that has no records ends instead of spinning', async () => {
    const source = replaySource(file(['', '']), 'random', true);
    expect(await source.next(5)).toEqual([]);
    await source.close!();
  });
});

test('templateSource: each record the rendered text and a line break, as KDG writes it, keyed by the mode', async () => {
  let n = 0;
  const source = templateSource(() => `{"ticker":"T${++n}"}`, 'ticker');
  const records = await source.next(3);
  expect(records.map(text)).toEqual(['{"ticker":"T1"}\n', '{"ticker":"T2"}\n', '{"ticker":"T3"}\n']);
  expect(records.map((r) => r.partitionKey)).toEqual(['T1', 'T2', 'T3']);
});

describe('writeRecords', () => {
  class Putter implements RecordPutter {
    readonly calls: PutRecordsRequestEntry[][] = [];
    async putRecords(_arn: string, entries: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
      this.calls.push(entries);
      return { entries: entries.map((_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-000000000000' })) } as unknown as PutRecordsResult;
    }
  }
  const put = (putter: Putter) => putter.calls.flat().map((e) => Buffer.from(e.Data as Uint8Array).toString('utf8'));

  test('a replay stops where the file ends, in order, and closes the file', async () => {
    const putter = new Putter();
    const lines = capture(25);
    const source = replaySource(file(lines), 'random', false);
    let closed = false;
    const watched: RecordSource = { next: (n) => source.next(n), close: async () => { closed = true; await source.close!(); } };
    const result = await writeRecords(putter, watched, { streamArn: 'arn', count: Infinity, rate: 1_000_000, signal: new AbortController().signal });
    expect(result.sent).toBe(25);
    expect(put(putter)).toEqual(lines.map((l, i) => (i % 2 === 0 ? l : `{"n":${i + 1}}`)));
    expect(closed).toBe(true);
  });

  test('a replay is paced at --rate, not sent as fast as the stream takes it', async () => {
    const putter = new Putter();
    const started = Date.now();
    const result = await writeRecords(putter, replaySource(file(capture(120)), 'random', false), { streamArn: 'arn', count: Infinity, rate: 200, signal: new AbortController().signal });
    expect(result.sent).toBe(120);
    // Batches of 20 (a tenth of the rate), the sixth due at 100 / 200 s: a lower bound, which a slow machine only adds to.
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
    expect(putter.calls.map((c) => c.length)).toEqual([20, 20, 20, 20, 20, 20]);
  });

  test('--count ends a loop part-way through the file', async () => {
    const putter = new Putter();
    const result = await writeRecords(putter, replaySource(file(capture(4)), 'random', true), { streamArn: 'arn', count: 10, rate: 1_000_000, signal: new AbortController().signal });
    expect(result.sent).toBe(10);
    expect(put(putter).map((d) => JSON.parse(d).n)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
  });
});
