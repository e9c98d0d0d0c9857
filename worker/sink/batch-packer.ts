/**
 * PutRecords packing under Kinesis's limits: at most `maxRecords` entries and `maxBytes` of data
 * plus partition keys per request; one record at most `maxRecordBytes`. Pure, no I/O.
 */

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
}

export interface Sized {
  /** Data bytes plus UTF-8 partition key bytes, as Kinesis counts them. */
  readonly size: number;
}

export function recordSize(partitionKey: string, data: Uint8Array): number {
  return data.byteLength + Buffer.byteLength(partitionKey, 'utf8');
}

/** How many entries from the front of `pending` form the next request (at least one if any). */
export function nextBatchLength(pending: readonly Sized[], limits: BatchLimits): number {
  let bytes = 0;
  let count = 0;
  for (const entry of pending) {
    if (count === limits.maxRecords) break;
    if (count > 0 && bytes + entry.size > limits.maxBytes) break;
    bytes += entry.size;
    count += 1;
  }
  return count;
}

/** True when the pending entries already fill one request, so it should be sent without lingering. */
export function isFullBatch(pendingCount: number, pendingBytes: number, limits: BatchLimits): boolean {
  return pendingCount >= limits.maxRecords || pendingBytes >= limits.maxBytes;
}
