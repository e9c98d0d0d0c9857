/**
 * The stock transform shardflow runs (`worker/transform/stock-transform.ts`), applied to a record as
 * lifion-kinesis hands it over. Pure: the peer copier (`lifion-copier.ts`) calls it per record.
 */
import { mapStock, stockSchemaProblem, stockTransform, type Stock } from '../../worker/transform/stock-transform';

/** What lifion's polling consumer gives for one record: `data` already parsed when it looked like JSON. */
export interface ConsumedRecord {
  data: unknown;
  partitionKey: string;
  sequenceNumber: string;
}

export type Transformed = { ok: true; data: Stock | string } | { ok: false; reason: string };

/**
 * The stock transform on a record as lifion hands it over. lifion parses data that looks like JSON
 * itself (its default, `shouldParseJson: 'auto'`), so such a record goes through the transform's own
 * schema check and mapping, and lifion's putRecords serializes the result; anything lifion left as bytes
 * goes through the whole transform, which decodes, parses and checks it. (`shouldParseJson: false` would
 * hand over every record as bytes, but lifion then copies each Buffer byte by byte into an object while
 * looking for its S3 marker, about 30 µs a record: a cost of that option, not of the library's usual use.)
 */
export function transformConsumed(record: ConsumedRecord, shardId: string): Transformed {
  const { data } = record;
  if (Buffer.isBuffer(data) || typeof data === 'string') {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    const r = stockTransform.transform({ shardId, sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey, data: bytes });
    return r.ok ? { ok: true, data: Buffer.from(r.data).toString('utf8') } : r;
  }
  const problem = stockSchemaProblem(data);
  return problem ? { ok: false, reason: `not a stock record: ${problem}` } : { ok: true, data: mapStock(data as Stock) };
}

