/**
 * KPL aggregates made by `aws-kinesis-agg` (awslabs' independent implementation of the aggregation
 * format), so the tests of de-aggregation do not check our decoder against our own encoder. Its
 * typings import packages that are not installed, so it is loaded untyped with the few types used.
 */
interface Encoded {
  partitionKey: string;
  data: Buffer;
  ExplicitHashKey?: string;
}
interface RecordAggregatorClass {
  new (): {
    addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
    build(): Encoded | undefined;
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RecordAggregator } = require('aws-kinesis-agg') as { RecordAggregator: RecordAggregatorClass };

export interface UserRecordInput {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array | string;
}

/** One aggregated Kinesis record holding `records`, in order (throws when they do not fit in 1 MiB). */
export function aggregateOf(records: readonly UserRecordInput[]): { partitionKey: string; data: Buffer } {
  const aggregator = new RecordAggregator();
  for (const r of records) {
    const record: { partitionKey: string; explicitHashKey?: string; data: Buffer } = { partitionKey: r.partitionKey, data: Buffer.from(r.data) };
    if (r.explicitHashKey !== undefined) record.explicitHashKey = r.explicitHashKey;
    aggregator.addUserRecord(record);
  }
  const built = aggregator.build();
  if (!built) throw new Error('no records to aggregate');
  return { partitionKey: built.partitionKey, data: built.data };
}

/** The aggregate with its MD5 trailer damaged. */
export function withBadDigest(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy[copy.length - 1] ^= 0xff;
  return copy;
}
