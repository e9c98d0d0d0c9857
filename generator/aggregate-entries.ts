/**
 * Packs user records, in order, into PutRecords entries that are KPL aggregates, each at most
 * `maxBytes`, keyed like the KPL keys them: by the first user record's partition key. Pure, no I/O.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AggregateBuilder } from '../shared/kpl/aggregate-builder';
import type { UserRecord } from '../shared/kpl/aggregated-record';

/** Small enough that one aggregate is one cheap PutRecords entry, large enough to hold hundreds of stock records. */
export const DEFAULT_AGGREGATE_MAX_BYTES = 50 * 1024;

/** A PutRecords entry and how many user records it carries, so progress can count user records. */
export interface CountedEntry {
  entry: PutRecordsRequestEntry;
  userRecords: number;
}

export function plainEntries(records: readonly UserRecord[]): CountedEntry[] {
  return records.map((r) => ({
    entry: r.explicitHashKey === undefined ? { PartitionKey: r.partitionKey, Data: r.data } : { PartitionKey: r.partitionKey, ExplicitHashKey: r.explicitHashKey, Data: r.data },
    userRecords: 1,
  }));
}

export function aggregateEntries(records: readonly UserRecord[], maxBytes = DEFAULT_AGGREGATE_MAX_BYTES): CountedEntry[] {
  const out: CountedEntry[] = [];
  const builder = new AggregateBuilder(maxBytes);
  const flush = () => {
    const count = builder.count;
    const partitionKey = builder.partitionKey as string;
    out.push({ entry: { PartitionKey: partitionKey, Data: builder.build() }, userRecords: count });
  };
  for (const record of records) {
    if (builder.tryAdd(record)) continue;
    if (builder.count > 0) flush();
    // Too large for any aggregate of this limit: it goes alone, as a plain record.
    if (!builder.tryAdd(record)) out.push(...plainEntries([record]));
  }
  if (builder.count > 0) flush();
  return out;
}
