/**
 * What PutRecords accepts of one record, checked before the record reaches a sink, so a record that
 * breaks a rule is dead-lettered with the rule's name instead of failing the request that carries it
 * (and, through it, every record behind it). Kinesis refuses a whole request for one bad entry, so
 * these checks are what keep one record the unit of failure. What they miss (a rule Kinesis counts
 * differently, a new one) the sink finds by bisecting the refused request (`bisection.ts`).
 *
 * The rules (the PutRecords API reference): a partition key of 1 to 256 Unicode characters; an
 * explicit hash key, when set, a decimal integer in [0, 2^128); data plus the partition key's UTF-8
 * bytes at most `sink.max-record-size` (Kinesis's own limit is 1 MiB). Pure, no I/O.
 */
import { isExplicitHashKey } from '../../shared/kpl/hash-key';
import { recordSize } from './batch-packer';

export const MAX_PARTITION_KEY_CHARS = 256;

export interface CheckedRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array;
}

/** Unicode code points of `text`, counted up to `limit + 1` (enough to tell whether it is over). */
function codePointsUpTo(text: string, limit: number): number {
  let count = 0;
  for (const _ of text) {
    if (++count > limit) break;
  }
  return count;
}

/** The rule the record breaks, as a dead letter's reason (`<rule>: <detail>`), or undefined when PutRecords may take it. */
export function outputRecordProblem(record: CheckedRecord, maxRecordBytes: number): string | undefined {
  const key = record.partitionKey;
  if (typeof key !== 'string' || key.length === 0) return 'invalid partition key: it is empty; Kinesis takes 1 to 256 Unicode characters';
  // At most 256 UTF-16 units is at most 256 code points: the usual key is never walked.
  if (key.length > MAX_PARTITION_KEY_CHARS && codePointsUpTo(key, MAX_PARTITION_KEY_CHARS) > MAX_PARTITION_KEY_CHARS) {
    const chars = key.length > 4096 ? 'over 4,096' : String(codePointsUpTo(key, 4096));
    return `invalid partition key: it has ${chars} characters; Kinesis takes 1 to 256`;
  }
  const ehk = record.explicitHashKey;
  if (ehk !== undefined && !isExplicitHashKey(ehk)) return `invalid explicit hash key: ${JSON.stringify(ehk.length > 48 ? `${ehk.slice(0, 45)}...` : ehk)} is not a decimal integer in [0, 2^128)`;
  const size = recordSize(key, record.data);
  if (size > maxRecordBytes) return `too large: the output record is ${size} bytes, over sink.max-record-size (${maxRecordBytes})`;
  return undefined;
}
