import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult, RecordPutter } from '../../shared/aws/kinesis-gateway';
import { decodeAggregate, isAggregated, type UserRecord } from '../../shared/kpl/aggregated-record';
import { aggregateEntries, DEFAULT_AGGREGATE_MAX_BYTES, plainEntries } from '../../generator/aggregate-entries';
import { generateStocks } from '../../generator/stock-generator';
import { CONSTANT_PARTITION_KEY, isPartitionKeyMode, randomStock, stockEntry, stockUserRecord, TICKERS, type StockRecord } from '../../generator/stock-records';
import { partitionKeyMode } from '../../cli/run-generate';
import { ConfigError } from '../../shared/config/config-error';
import { theirDeaggregate } from '../support/kinesis-agg';

const stocks = (n: number): StockRecord[] => Array.from({ length: n }, (_, i) => ({ event_time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), ticker: TICKERS[i % TICKERS.length], price: i / 100 }));
const parse = (data: Uint8Array) => JSON.parse(Buffer.from(data).toString('utf8')) as StockRecord;

describe('stock record partition keys', () => {
  it('constant: every record has stock.py\'s one key', () => {
    for (const s of stocks(10)) expect(stockEntry(s, 'constant').PartitionKey).toBe('partitionkey');
    expect(CONSTANT_PARTITION_KEY).toBe('partitionkey');
  });

  it('ticker: the ticker; random: a fresh key per record', () => {
    for (const s of stocks(10)) expect(stockUserRecord(s, 'ticker').partitionKey).toBe(s.ticker);
    const keys = stocks(50).map((s) => stockUserRecord(s, 'random').partitionKey);
    expect(new Set(keys).size).toBe(50);
  });

  it('the data is the JSON stock record', () => {
    const stock = randomStock(new Date('2026-01-01T00:00:00Z'), () => 0.5);
    expect(parse(stockUserRecord(stock, 'constant').data)).toEqual(stock);
  });

  it('--partition-key accepts the three modes, defaults to random and names them when wrong', () => {
    expect(['random', 'ticker', 'constant'].every(isPartitionKeyMode)).toBe(true);
    expect(partitionKeyMode(undefined)).toBe('random');
    expect(partitionKeyMode('constant')).toBe('constant');
    expect(() => partitionKeyMode('shard')).toThrow(ConfigError);
    expect(() => partitionKeyMode('shard')).toThrow('Invalid argument: --partition-key: value "shard" is not allowed; allowed: random | ticker | constant');
  });
});

describe('aggregateEntries', () => {
  it('packs stock records in order into aggregates that aws-kinesis-agg decodes back', () => {
    const input = stocks(2000).map((s, i) => stockUserRecord(s, i % 3 === 0 ? 'constant' : 'ticker'));
    const entries = aggregateEntries(input);
    expect(entries.length).toBeGreaterThan(1);
    const back: { partitionKey: string; stock: StockRecord }[] = [];
    let first = 0;
    for (const { entry, userRecords } of entries) {
      const data = entry.Data as Uint8Array;
      expect(isAggregated(data)).toBe(true);
      expect(data.length).toBeLessThanOrEqual(DEFAULT_AGGREGATE_MAX_BYTES);
      // The aggregate is keyed by its first user record, as the KPL does.
      expect(entry.PartitionKey).toBe(input[first].partitionKey);
      const theirs = theirDeaggregate(data);
      expect(theirs).toHaveLength(userRecords);
      back.push(...theirs.map((r) => ({ partitionKey: r.partitionKey, stock: parse(r.data) })));
      first += userRecords;
    }
    expect(back).toEqual(input.map((r) => ({ partitionKey: r.partitionKey, stock: parse(r.data) })));
  });

  it('fills each aggregate close to the limit before starting the next', () => {
    const entries = aggregateEntries(stocks(3000).map((s) => stockUserRecord(s, 'constant')));
    for (const { entry } of entries.slice(0, -1)) expect((entry.Data as Uint8Array).length).toBeGreaterThan(DEFAULT_AGGREGATE_MAX_BYTES - 200);
  });

  it('sends a record too large for any aggregate alone, as a plain record, keeping the order', () => {
    const small = (n: string): UserRecord => ({ partitionKey: n, data: Buffer.from(n) });
    const big: UserRecord = { partitionKey: 'big', data: new Uint8Array(300) };
    const entries = aggregateEntries([small('a'), small('b'), big, small('c')], 200);
    expect(entries.map((e) => e.userRecords)).toEqual([2, 1, 1]);
    expect(entries[1].entry).toEqual({ PartitionKey: 'big', Data: big.data });
    const last = decodeAggregate(entries[2].entry.Data as Uint8Array);
    expect(last.ok && last.records.map((r) => r.partitionKey)).toEqual(['c']);
  });

  it('plain entries carry one user record each', () => {
    expect(plainEntries([{ partitionKey: 'k', data: Buffer.from('x') }])).toEqual([{ entry: { PartitionKey: 'k', Data: Buffer.from('x') }, userRecords: 1 }]);
  });
});

/** A putter that fails the first entry of its first call, as a throttled partial failure does. */
class FlakyPutter implements RecordPutter {
  readonly calls: PutRecordsRequestEntry[][] = [];
  async putRecords(_arn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    this.calls.push(records);
    const first = this.calls.length === 1;
    return {
      failedCount: first ? 1 : 0,
      entries: records.map((_, i) => (first && i === 0 ? { ErrorCode: 'ProvisionedThroughputExceededException' } : { SequenceNumber: String(this.calls.length * 1000 + i), ShardId: 'shardId-000000000000' })),
    };
  }
}

describe('generateStocks', () => {
  const run = (putter: RecordPutter, aggregateMaxBytes?: number) =>
    generateStocks(putter, { streamArn: 'arn', count: 1200, rate: 1_000_000, partitionKeys: 'constant', aggregateMaxBytes, signal: new AbortController().signal });

  it('with aggregation, counts user records and re-sends a failed aggregate whole', async () => {
    const putter = new FlakyPutter();
    const result = await run(putter, DEFAULT_AGGREGATE_MAX_BYTES);
    expect(result.sent).toBe(1200);
    const userRecordsPerCall = putter.calls.map((call) => call.reduce((n, e) => n + theirDeaggregate(e.Data as Uint8Array).length, 0));
    // 500 records per batch, the first aggregate of the first batch re-sent on its own.
    expect(userRecordsPerCall[0]).toBe(500);
    expect(userRecordsPerCall.reduce((a, b) => a + b, 0) - userRecordsPerCall[1]).toBe(1200);
    expect(result.retried).toBe(userRecordsPerCall[1]);
    expect(result.kinesisRecords).toBe(putter.calls.reduce((n, c) => n + c.length, 0) - 1);
    for (const call of putter.calls) for (const e of call) expect(e.PartitionKey).toBe('partitionkey');
  });

  it('without aggregation, writes one plain JSON record per stock record', async () => {
    const putter = new FlakyPutter();
    const result = await run(putter);
    expect(result.sent).toBe(1200);
    expect(result.kinesisRecords).toBe(1200);
    expect(result.retried).toBe(1);
    expect(putter.calls[1]).toHaveLength(1);
    for (const call of putter.calls) for (const e of call) expect(isAggregated(e.Data as Uint8Array)).toBe(false);
  });
});
