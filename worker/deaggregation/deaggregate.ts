/**
 * KPL de-aggregation of a batch of Kinesis records: an aggregated record becomes its user records,
 * each with the Kinesis record's sequence number plus its sub-sequence number (its index in the
 * aggregate), its own partition key and explicit hash key; a record that is not aggregated passes
 * through as it is (the same object). A corrupt aggregate (bad MD5, bad protobuf, an index outside
 * its table) stays one record, raw, marked with its reason, so the runner dead-letters it whole and the
 * shard goes on; a user record whose explicit hash key is not a decimal 128-bit integer is marked alone,
 * and its siblings go on.
 *
 * `Deaggregator` hands the user records out a slice at a time, so what one turn of the runner holds
 * stays bounded whatever a page holds: a 1 MiB aggregate of 170,000 empty user records is indexed
 * (a few number arrays) when it is reached, and its records are made only as they are taken. Pure, no
 * I/O.
 */
import { isAggregated, openAggregate, type AggregateRecords } from '../../shared/kpl/aggregated-record';
import type { Position } from '../../shared/position';
import type { SourceRecord } from '../../shared/records';

/** A shard's hash-key range (inclusive), from ListShards. */
export interface HashKeyRange {
  start: bigint;
  end: bigint;
}

export interface Deaggregated {
  records: SourceRecord[];
  /** Kinesis records that were aggregates (corrupt ones included). */
  aggregates: number;
  /** Of those, the corrupt ones. */
  corrupt: number;
  /** User records whose hash key falls outside `range` (delivered all the same). */
  outsideShard: number;
}

/** What a Deaggregator counted since it was last asked (`takeCounts`). */
export interface DeaggregationCounts {
  /** Kinesis records handed out as they are (not aggregated). */
  plain: number;
  aggregates: number;
  /** User records of the aggregates opened (handed out now or later). */
  userRecords: number;
  corrupt: number;
  outsideShard: number;
  /** User records skipped as acknowledged before (`skipThrough`). */
  skipped: number;
}

function emptyCounts(): DeaggregationCounts {
  return { plain: 0, aggregates: 0, userRecords: 0, corrupt: 0, outsideShard: 0, skipped: 0 };
}

export class Deaggregator {
  private next = 0;
  /** The aggregate being handed out, its Kinesis record, and the index of its next user record. */
  private open: { source: SourceRecord; records: AggregateRecords; index: number } | undefined;
  private counts: DeaggregationCounts = emptyCounts();

  /**
   * `skipThrough`: after a restart from a checkpoint in the middle of an aggregate, that aggregate's
   * user records up to this sub-sequence number (inclusive) were acknowledged already and are skipped.
   */
  constructor(
    private readonly records: readonly SourceRecord[],
    private readonly range?: HashKeyRange,
    private readonly skipThrough?: Position,
  ) {}

  /** True when every user record was handed out. */
  get done(): boolean {
    return this.open === undefined && this.next >= this.records.length;
  }

  /** Up to `max` (at least 1) next user records, in order. */
  take(max: number): SourceRecord[] {
    const out: SourceRecord[] = [];
    // No limit given (undefined or NaN from a caller without one) takes everything.
    const limit = max >= 1 ? max : Number.isNaN(max) ? Number.POSITIVE_INFINITY : 1;
    while (out.length < limit) {
      if (this.open) {
        this.takeFromAggregate(out, limit);
        continue;
      }
      if (this.next >= this.records.length) break;
      const record = this.records[this.next++];
      if (!isAggregated(record.data)) {
        this.counts.plain += 1;
        out.push(record);
        continue;
      }
      this.counts.aggregates += 1;
      const opened = openAggregate(record.data);
      if (!opened.ok || opened.records.count === 0) {
        this.counts.corrupt += 1;
        out.push({ ...record, rejection: opened.ok ? 'corrupt aggregate: it holds no user records' : opened.reason });
        continue;
      }
      this.counts.userRecords += opened.records.count;
      this.open = { source: record, records: opened.records, index: this.firstIndex(record, opened.records.count) };
    }
    return out;
  }

  /** What was counted since the last call. */
  takeCounts(): DeaggregationCounts {
    const counts = this.counts;
    this.counts = emptyCounts();
    return counts;
  }

  /** Where a newly opened aggregate starts: past the user records acknowledged before a restart. */
  private firstIndex(record: SourceRecord, count: number): number {
    const through = this.skipThrough;
    if (!through || through.subSequenceNumber === undefined || record.sequenceNumber !== through.sequenceNumber) return 0;
    const first = Math.min(count, through.subSequenceNumber + 1);
    this.counts.skipped += first;
    return first;
  }

  private takeFromAggregate(out: SourceRecord[], limit: number): void {
    const open = this.open!;
    const { source, records } = open;
    const size = records.count;
    while (out.length < limit && open.index < size) {
      const sub = open.index++;
      const user = records.at(sub);
      const userRecord: SourceRecord = {
        shardId: source.shardId,
        sequenceNumber: source.sequenceNumber,
        subSequenceNumber: sub,
        aggregateSize: size,
        partitionKey: user.partitionKey,
        data: user.data,
        approximateArrivalTimestamp: source.approximateArrivalTimestamp,
      };
      if (user.explicitHashKey !== undefined) userRecord.explicitHashKey = user.explicitHashKey;
      if (user.problem !== undefined) {
        userRecord.rejection = user.problem;
      } else if (this.range) {
        const hash = records.hashKeyAt(sub);
        if (hash < this.range.start || hash > this.range.end) this.counts.outsideShard += 1;
      }
      out.push(userRecord);
    }
    if (open.index >= size) this.open = undefined;
  }
}

/** Every user record of the batch at once (the dead-letter replayer's letters; tests). */
export function deaggregate(records: SourceRecord[], range?: HashKeyRange): Deaggregated {
  // The common case, a batch without aggregates, goes on as the same array.
  if (!records.some((r) => isAggregated(r.data))) return { records, aggregates: 0, corrupt: 0, outsideShard: 0 };
  const deaggregator = new Deaggregator(records, range);
  const out: SourceRecord[] = [];
  while (!deaggregator.done) out.push(...deaggregator.take(65_536));
  const { aggregates, corrupt, outsideShard } = deaggregator.takeCounts();
  return { records: out, aggregates, corrupt, outsideShard };
}

/** A lease job's hash-key range (decimal strings, as ListShards gives them) as numbers; undefined when absent or malformed. */
export function hashKeyRangeOf(range: { startingHashKey?: string; endingHashKey?: string } | undefined): HashKeyRange | undefined {
  if (!range?.startingHashKey || !range.endingHashKey) return undefined;
  if (!/^\d+$/.test(range.startingHashKey) || !/^\d+$/.test(range.endingHashKey)) return undefined;
  return { start: BigInt(range.startingHashKey), end: BigInt(range.endingHashKey) };
}
