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

export interface Keyed extends Sized {
  readonly key: string;
}

/**
 * Per-key ordering: the positions (ascending) of the pending entries that form the next request when
 * a partition key may have only one *request* in flight at a time. A key that is not in flight brings
 * its pending run, in order, as far as the request's limits allow; once one of its entries does not
 * fit, every later entry of that key stays behind too, so a key's records leave strictly in order and
 * a retried record (at the front of `pending`) is never overtaken by a newer one. Keys in flight are
 * skipped whole. Other keys still fill the room a run leaves. `from`: the scan starts there, for a
 * caller that knows every entry before it belongs to a key in flight (they would all be skipped).
 */
export function nextOrderedBatch(pending: readonly Keyed[], limits: BatchLimits, inFlightKeys: ReadonlySet<string>, from = 0): number[] {
  // Keys whose run was cut short in this scan; the in-flight set is only read, never copied (it can
  // hold tens of thousands of keys).
  const cut = new Set<string>();
  const taken: number[] = [];
  let bytes = 0;
  for (let i = from; i < pending.length && taken.length < limits.maxRecords; i++) {
    const entry = pending[i];
    if (inFlightKeys.has(entry.key) || cut.has(entry.key)) continue;
    if (taken.length > 0 && bytes + entry.size > limits.maxBytes) {
      cut.add(entry.key);
      continue;
    }
    taken.push(i);
    bytes += entry.size;
  }
  return taken;
}
