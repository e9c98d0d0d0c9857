/**
 * KPL de-aggregation of a batch of Kinesis records: an aggregated record becomes its user records,
 * each with the Kinesis record's sequence number plus its sub-sequence number (its index in the
 * aggregate), its own partition key and explicit hash key; a record that is not aggregated passes
 * through as it is (the same object). A corrupt aggregate (bad MD5, bad protobuf, an index outside
 * its table, no user records) stays one record, raw, marked with its reason, so the runner
 * dead-letters it whole and the shard goes on. Pure, no I/O.
 */
import { decodeAggregate, isAggregated } from '../../shared/kpl/aggregated-record';
import { userRecordHashKey } from '../../shared/kpl/hash-key';
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

export function deaggregate(records: SourceRecord[], range?: HashKeyRange): Deaggregated {
  // The common case, a batch without aggregates, goes on as the same array.
  if (!records.some((r) => isAggregated(r.data))) return { records, aggregates: 0, corrupt: 0, outsideShard: 0 };
  const out: Deaggregated = { records: [], aggregates: 0, corrupt: 0, outsideShard: 0 };
  for (const record of records) {
    if (!isAggregated(record.data)) {
      out.records.push(record);
      continue;
    }
    out.aggregates += 1;
    const decoded = decodeAggregate(record.data);
    if (!decoded.ok || decoded.records.length === 0) {
      out.corrupt += 1;
      out.records.push({ ...record, rejection: decoded.ok ? 'corrupt aggregate: it holds no user records' : decoded.reason });
      continue;
    }
    const size = decoded.records.length;
    for (let sub = 0; sub < size; sub++) {
      const user = decoded.records[sub];
      if (range) {
        const hash = userRecordHashKey(user);
        if (hash < range.start || hash > range.end) out.outsideShard += 1;
      }
      const userRecord: SourceRecord = {
        shardId: record.shardId,
        sequenceNumber: record.sequenceNumber,
        subSequenceNumber: sub,
        aggregateSize: size,
        partitionKey: user.partitionKey,
        data: user.data,
        approximateArrivalTimestamp: record.approximateArrivalTimestamp,
      };
      if (user.explicitHashKey !== undefined) userRecord.explicitHashKey = user.explicitHashKey;
      out.records.push(userRecord);
    }
  }
  return out;
}

/** A lease job's hash-key range (decimal strings, as ListShards gives them) as numbers; undefined when absent or malformed. */
export function hashKeyRangeOf(range: { startingHashKey?: string; endingHashKey?: string } | undefined): HashKeyRange | undefined {
  if (!range?.startingHashKey || !range.endingHashKey) return undefined;
  if (!/^\d+$/.test(range.startingHashKey) || !/^\d+$/.test(range.endingHashKey)) return undefined;
  return { start: BigInt(range.startingHashKey), end: BigInt(range.endingHashKey) };
}
