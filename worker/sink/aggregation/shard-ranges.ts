/**
 * The output stream's open shards by hash-key range, from ListShards: which shard a hash key lands on.
 * Closed shards (a split or merge parent, with an ending sequence number) take no writes and are left
 * out. Pure, no I/O.
 */
import type { Shard } from '../../../shared/aws/kinesis-gateway';

export interface ShardRange {
  readonly shardId: string;
  readonly start: bigint;
  readonly end: bigint;
}

export class ShardRanges {
  /** Open shards by starting hash key. */
  private readonly ranges: readonly ShardRange[];
  private readonly byId: ReadonlyMap<string, ShardRange>;

  constructor(shards: readonly Shard[]) {
    this.ranges = shards
      .filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber && s.ShardId && s.HashKeyRange?.StartingHashKey && s.HashKeyRange.EndingHashKey)
      .map((s) => ({ shardId: s.ShardId!, start: BigInt(s.HashKeyRange!.StartingHashKey!), end: BigInt(s.HashKeyRange!.EndingHashKey!) }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    if (this.ranges.length === 0) throw new Error('the output stream has no open shard');
    this.byId = new Map(this.ranges.map((r) => [r.shardId, r]));
  }

  get size(): number {
    return this.ranges.length;
  }

  /** The open shard whose range holds `hashKey` (the nearest below, should the ranges have a gap). */
  shardFor(hashKey: bigint): ShardRange {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.ranges[mid].start <= hashKey) lo = mid;
      else hi = mid - 1;
    }
    return this.ranges[lo];
  }

  /** The open shard of that id, if the map knows it. */
  shard(shardId: string): ShardRange | undefined {
    return this.byId.get(shardId);
  }
}

export function inRange(range: ShardRange, hashKey: bigint): boolean {
  return hashKey >= range.start && hashKey <= range.end;
}
