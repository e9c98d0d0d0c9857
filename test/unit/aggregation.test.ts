/**
 * The aggregating sink's pure parts: the output shard map (hash ranges of open shards) and the packer
 * that turns pending records into one request's entries with KPL aggregation. Aggregates are checked
 * with aws-kinesis-agg (MD5 on), an implementation independent of ours.
 */
import type { Shard } from '@aws-sdk/client-kinesis';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { packAggregates, type Packable, type PackedEntry } from '../../worker/sink/aggregation/aggregate-packer';
import { inRange, ShardRanges } from '../../worker/sink/aggregation/shard-ranges';
import { theirDeaggregate } from '../support/kinesis-agg';

const SPACE = 1n << 128n;
const TOP = SPACE - 1n;

/** `n` open shards splitting the hash space evenly, as CreateStream does, plus optional closed ones. */
export function evenShards(n: number, prefix = 'shardId-'): Shard[] {
  return Array.from({ length: n }, (_, i) => ({
    ShardId: `${prefix}${String(i).padStart(12, '0')}`,
    HashKeyRange: { StartingHashKey: String((SPACE * BigInt(i)) / BigInt(n)), EndingHashKey: String((SPACE * BigInt(i + 1)) / BigInt(n) - 1n) },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  }));
}

function packable(key: string, data: string | Uint8Array): Packable {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return { key, hashKey: partitionKeyHash(key), data: bytes, size: bytes.byteLength + Buffer.byteLength(key) };
}

/** The user records an entry carries, as aws-kinesis-agg reads them (one for a plain record). */
function contents(entry: PackedEntry): Array<{ key: string; data: string }> {
  const data = entry.request.Data!;
  if (!isAggregated(data)) return [{ key: entry.request.PartitionKey!, data: Buffer.from(data).toString() }];
  return theirDeaggregate(data, entry.request.PartitionKey).map((r) => ({ key: r.partitionKey, data: r.data.toString() }));
}

const limits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024, maxAggregateBytes: 51_200 };

describe('ShardRanges', () => {
  test('maps a hash key to the open shard whose range holds it, exactly at the boundaries', () => {
    const ranges = new ShardRanges(evenShards(4));
    expect(ranges.size).toBe(4);
    expect(ranges.shardFor(0n).shardId).toBe('shardId-000000000000');
    expect(ranges.shardFor(SPACE / 4n - 1n).shardId).toBe('shardId-000000000000');
    expect(ranges.shardFor(SPACE / 4n).shardId).toBe('shardId-000000000001');
    expect(ranges.shardFor(TOP).shardId).toBe('shardId-000000000003');
    expect(ranges.shard('shardId-000000000002')).toEqual({ shardId: 'shardId-000000000002', start: SPACE / 2n, end: (3n * SPACE) / 4n - 1n });
    expect(ranges.shard('shardId-000000000009')).toBeUndefined();
  });

  test('leaves closed shards (a split parent) out', () => {
    const parent: Shard = { ShardId: 'shardId-000000000000', HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(TOP) }, SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' } };
    const children = evenShards(2, 'shardId-00000000000').map((s, i) => ({ ...s, ShardId: `shardId-00000000000${i + 1}` }));
    const ranges = new ShardRanges([parent, ...children]);
    expect(ranges.size).toBe(2);
    expect(ranges.shardFor(0n).shardId).toBe('shardId-000000000001');
    expect(ranges.shardFor(TOP).shardId).toBe('shardId-000000000002');
    expect(ranges.shard('shardId-000000000000')).toBeUndefined();
  });

  test('a stream without an open shard is an error', () => {
    expect(() => new ShardRanges([])).toThrow('no open shard');
  });
});

describe('packAggregates', () => {
  const ranges = new ShardRanges(evenShards(4));

  test('each aggregate holds records of one shard only and is placed inside that range; every record once, in order', () => {
    const pending = Array.from({ length: 400 }, (_, i) => packable(`key-${i % 50}`, `r-${i}`));
    const entries = packAggregates(pending, ranges, limits, true, new Set());
    expect(entries.length).toBeGreaterThanOrEqual(4);
    const seen: string[] = [];
    for (const entry of entries) {
      expect(entry.request.ExplicitHashKey).toBeDefined();
      expect(inRange(entry.shard, BigInt(entry.request.ExplicitHashKey!))).toBe(true);
      expect(ranges.shardFor(BigInt(entry.request.ExplicitHashKey!)).shardId).toBe(entry.shard.shardId);
      const records = contents(entry);
      for (const r of records) expect(inRange(entry.shard, partitionKeyHash(r.key))).toBe(true);
      // Arrival order inside the aggregate.
      const indexes = records.map((r) => Number(r.data.slice(2)));
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      expect(entry.positions).toEqual(indexes);
      seen.push(...records.map((r) => r.data));
    }
    expect(seen.sort()).toEqual(pending.map((p) => Buffer.from(p.data).toString()).sort());
  });

  test('no aggregate exceeds the size limit; a full one makes room for the next of its shard', () => {
    const pending = Array.from({ length: 300 }, (_, i) => packable('one-key', `${'x'.repeat(90)}-${i}`));
    const small = { ...limits, maxAggregateBytes: 2048 };
    // Without per-key order a key's records may span several aggregates of one request.
    const entries = packAggregates(pending, ranges, small, false, new Set());
    expect(entries.length).toBeGreaterThan(10);
    for (const entry of entries) expect(entry.request.Data!.byteLength).toBeLessThanOrEqual(2048);
    expect(entries.flatMap((e) => contents(e).map((r) => r.data))).toEqual(pending.map((p) => Buffer.from(p.data).toString()));
  });

  test("with per-key order a key's records in one request share one aggregate; the rest waits for the next request", () => {
    const pending = Array.from({ length: 300 }, (_, i) => packable('hot', `${'x'.repeat(90)}-${i}`));
    const entries = packAggregates(pending, ranges, { ...limits, maxAggregateBytes: 2048 }, true, new Set());
    expect(entries).toHaveLength(1);
    const records = contents(entries[0]);
    expect(records.length).toBeGreaterThan(10);
    expect(entries[0].positions).toEqual(records.map((_, i) => i));
  });

  test('keys in flight are skipped whole', () => {
    const pending = [packable('a', 'a1'), packable('b', 'b1'), packable('a', 'a2'), packable('c', 'c1')];
    const entries = packAggregates(pending, ranges, limits, true, new Set(['a']));
    expect(entries.flatMap((e) => e.positions).sort()).toEqual([1, 3]);
  });

  test('a record too large to share an aggregate goes alone as a plain record; its key waits behind it', () => {
    const big = new Uint8Array(60_000).fill(65);
    const pending = [packable('k', 'k1'), packable('k', big), packable('k', 'k3'), packable('other', big)];
    const entries = packAggregates(pending, ranges, limits, true, new Set());
    // k1 in an entry of its own (plain: one record), then k's big record must wait: k's records stay in one entry.
    const byKey = entries.map((e) => ({ positions: e.positions, aggregated: isAggregated(e.request.Data!) }));
    expect(byKey).toEqual([{ positions: [0], aggregated: false }, { positions: [3], aggregated: false }]);
    // The big record alone at the front of a later request.
    const next = packAggregates(pending.slice(1, 3), ranges, limits, true, new Set());
    expect(next.map((e) => e.positions)).toEqual([[0]]);
    expect(next[0].request.Data!.byteLength).toBe(60_000);
    expect(next[0].request.ExplicitHashKey).toBeUndefined();
  });

  test('an aggregate of one record is sent as that plain record', () => {
    const entries = packAggregates([packable('solo', 'only')], ranges, limits, true, new Set());
    expect(entries[0].request).toEqual({ Data: Buffer.from('only'), PartitionKey: 'solo' });
  });

  test('stays within the request limits: entry count and bytes', () => {
    const pending = Array.from({ length: 2000 }, (_, i) => packable(`k${i}`, 'x'.repeat(1000)));
    const few = packAggregates(pending, ranges, { maxRecords: 3, maxBytes: 5 * 1024 * 1024, maxAggregateBytes: 10_000 }, true, new Set());
    expect(few).toHaveLength(3);
    const bytes = packAggregates(pending, ranges, { maxRecords: 500, maxBytes: 50_000, maxAggregateBytes: 10_000 }, true, new Set());
    const total = bytes.reduce((n, e) => n + e.request.Data!.byteLength + Buffer.byteLength(e.request.PartitionKey!), 0);
    expect(total).toBeLessThanOrEqual(50_000);
    expect(bytes.length).toBeGreaterThan(0);
  });
});
