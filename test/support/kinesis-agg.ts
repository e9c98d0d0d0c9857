/**
 * `aws-kinesis-agg` (awslabs' independent implementation of the KPL aggregation format, on
 * protobufjs) behind two small typed functions, so tests can check our codec against it in both
 * directions. Its typings import `aws-sdk` v2 and `aws-lambda`, which are not installed, so the
 * module is loaded untyped and given the few types used here.
 */
interface TheirEncoded {
  partitionKey: string;
  data: Buffer;
  ExplicitHashKey?: string;
}
interface TheirUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  data: string; // base64
}
interface KinesisAgg {
  aggregate(
    records: { partitionKey: string; explicitHashKey?: string; data: Buffer }[],
    onEncoded: (encoded: TheirEncoded, done: (err?: Error) => void) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ): void;
  deaggregateSync(record: { partitionKey: string; sequenceNumber: string; data: string }, computeChecksums: boolean, callback: (err: Error | null, records?: TheirUserRecord[]) => void): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as KinesisAgg;

export interface TheirRecord {
  partitionKey: string;
  /** What their decoder reports; it reads a missing index as index 0, so only meaningful when set. */
  explicitHashKey?: string;
  data: Buffer;
}

/** Their encoder: the aggregates (up to ~1 MiB each) it makes of `records`, in order. */
export function theirAggregate(records: readonly { partitionKey: string; explicitHashKey?: string; data: Uint8Array }[]): Promise<TheirEncoded[]> {
  return new Promise((resolve, reject) => {
    const out: TheirEncoded[] = [];
    agg.aggregate(
      records.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: Buffer.from(r.data) })),
      (encoded, done) => {
        out.push(encoded);
        done();
      },
      () => resolve(out),
      reject,
    );
  });
}

/** Their decoder with MD5 checking on; throws what it reports. */
export function theirDeaggregate(data: Uint8Array, partitionKey = 'outer'): TheirRecord[] {
  let error: Error | null = null;
  let result: TheirUserRecord[] | undefined;
  agg.deaggregateSync({ partitionKey, sequenceNumber: '1', data: Buffer.from(data).toString('base64') }, true, (err, records) => {
    if (err) error = error ?? err;
    else result = records;
  });
  if (error) throw error;
  if (!result) throw new Error('aws-kinesis-agg returned nothing');
  return result.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitPartitionKey, data: Buffer.from(r.data, 'base64') }));
}
