/**
 * The 128-bit hash key that places a record on a shard, as Kinesis computes it: the explicit hash
 * key if the record has one, else the MD5 of its UTF-8 partition key read as an unsigned big-endian
 * integer. A shard owns the records whose hash key lies in its [StartingHashKey, EndingHashKey].
 * Pure, no I/O.
 */
import { createHash } from 'node:crypto';
import type { UserRecord } from './aggregated-record';

export const MAX_HASH_KEY = (1n << 128n) - 1n;

// Digits only: BigInt() alone would also accept "0x..", "0b..", blanks and an empty string.
const DECIMAL = /^[0-9]{1,39}$/;

/** True for a decimal integer in [0, 2^128 - 1], the only explicit hash keys Kinesis accepts. */
export function isExplicitHashKey(value: string): boolean {
  return DECIMAL.test(value) && BigInt(value) <= MAX_HASH_KEY;
}

/** MD5 of the UTF-8 key as an unsigned 128-bit big-endian integer, as Kinesis maps keys to shards. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * The explicit hash key as a decimal bigint if present, else the partition-key hash. Throws
 * RangeError for an explicit hash key that is not a decimal 128-bit integer (decodeAggregate never
 * returns such a record).
 */
export function userRecordHashKey(r: UserRecord): bigint {
  if (r.explicitHashKey === undefined) return partitionKeyHash(r.partitionKey);
  if (!isExplicitHashKey(r.explicitHashKey)) throw new RangeError(`explicit hash key ${JSON.stringify(r.explicitHashKey)} is not a 128-bit decimal integer`);
  return BigInt(r.explicitHashKey);
}
