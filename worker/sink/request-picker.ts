/**
 * Which pending records form the next PutRecords request, and in what shape:
 *
 * - `ordering: 'NONE'`: arrival order, as many as the request limits allow;
 * - `ordering: 'KEY'` (the default): a partition key has at most one request in flight, and that request
 *   carries the key's pending run in order (`nextOrderedBatch`), so a hot key moves up to a full request
 *   per round-trip; keys in flight are skipped and other keys fill the room;
 * - `aggregation: 'KPL'`: the records are packed into KPL aggregates by output shard
 *   (`aggregation/aggregate-packer.ts`), all of a key's records in a request in one aggregate.
 *
 * The picker owns the keys in flight: `release` frees them when their request is answered (or judged,
 * after a bisection). It takes the chosen records out of the buffer's `pending`. No I/O.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { nextBatchLength, nextOrderedBatch, type BatchLimits } from './batch-packer';
import { packAggregates } from './aggregation/aggregate-packer';
import type { ShardRanges } from './aggregation/shard-ranges';
import type { SinkBuffer } from './sink-buffer';
import { requestEntry, type PutRequest, type SinkEntry } from './sink-entry';

export interface PickerSettings extends BatchLimits {
  /** KEY: at most one request per partition key in flight. Default KEY. */
  ordering?: 'KEY' | 'NONE';
  /** With KPL: the largest aggregate. */
  maxAggregateBytes?: number;
}

export class RequestPicker {
  /** With KEY ordering: the partition keys of the requests in flight (one request per key). */
  private readonly inFlightKeys = new Set<string>();
  /**
   * With KEY ordering: the pending records before this position all belong to keys in flight, as the
   * last ordered scan, which took nothing, found. Until an answer frees a key or the front of the queue
   * changes, a new scan starts here: a hot key's request in flight otherwise had every write rescan the
   * whole buffer (25,000 records) to find nothing, a cost per record that grew with the buffer.
   */
  private blockedUpTo = 0;

  constructor(private readonly settings: PickerSettings) {}

  get perKey(): boolean {
    return this.settings.ordering !== 'NONE';
  }

  /**
   * The next request's records, taken out of `buffer.pending` (the buffer is told); undefined when none
   * may go now. With `ranges` (KPL) the records are packed into aggregates by output shard.
   */
  take(buffer: SinkBuffer, ranges?: ShardRanges): PutRequest | undefined {
    const request = ranges ? this.takeAggregates(buffer, ranges) : this.takePlain(buffer);
    if (request) buffer.taken(request.members);
    return request;
  }

  /** The request's keys may have a request in flight again (it was answered, or its records judged). */
  release(entries: readonly SinkEntry[]): void {
    if (this.perKey) for (const entry of entries) this.inFlightKeys.delete(entry.key);
    this.blockedUpTo = 0;
  }

  /** The front of the queue changed (records requeued or dropped): scan from the start again. */
  reset(): void {
    this.blockedUpTo = 0;
  }

  private takePlain(buffer: SinkBuffer): PutRequest | undefined {
    const batch = this.perKey ? this.takeOrdered(buffer) : buffer.pending.splice(0, nextBatchLength(buffer.pending, this.settings));
    if (batch.length === 0) return undefined;
    const entries = new Array<PutRecordsRequestEntry>(batch.length);
    for (let i = 0; i < batch.length; i++) entries[i] = requestEntry(batch[i]);
    return { entries, members: batch };
  }

  private takeOrdered(buffer: SinkBuffer): SinkEntry[] {
    const pending = buffer.pending;
    const positions = nextOrderedBatch(pending, this.settings, this.inFlightKeys, Math.min(this.blockedUpTo, pending.length));
    if (positions.length === 0) {
      this.blockedUpTo = pending.length;
      return [];
    }
    this.blockedUpTo = 0;
    let batch: SinkEntry[];
    if (positions.length === pending.length) {
      batch = pending.splice(0);
    } else if (positions[positions.length - 1] === positions.length - 1) {
      // A prefix (a hot key's run is one): cut it off without copying what stays.
      batch = pending.splice(0, positions.length);
    } else {
      // One pass: positions are ascending, so the kept records are the gaps between them.
      batch = new Array<SinkEntry>(positions.length);
      const kept: SinkEntry[] = [];
      let next = 0;
      for (let i = 0; i < pending.length; i++) {
        if (next < positions.length && positions[next] === i) batch[next++] = pending[i];
        else kept.push(pending[i]);
      }
      buffer.pending = kept;
    }
    for (const entry of batch) this.inFlightKeys.add(entry.key);
    return batch;
  }

  private takeAggregates(buffer: SinkBuffer, ranges: ShardRanges): PutRequest | undefined {
    const limits = { maxRecords: this.settings.maxRecords, maxBytes: this.settings.maxBytes, maxAggregateBytes: this.settings.maxAggregateBytes ?? 51_200 };
    const pending = buffer.pending;
    const packed = packAggregates(pending, ranges, limits, this.perKey, this.inFlightKeys);
    if (packed.length === 0) return undefined;
    const taken = new Set<number>();
    const request = { entries: [] as PutRecordsRequestEntry[], members: [] as SinkEntry[], starts: [] as number[], shardIds: [] as string[] };
    for (const p of packed) {
      request.entries.push(p.request);
      request.shardIds.push(p.shard.shardId);
      request.starts.push(request.members.length);
      for (const i of p.positions) {
        taken.add(i);
        request.members.push(pending[i]);
      }
    }
    request.starts.push(request.members.length);
    if (taken.size === pending.length) buffer.pending = [];
    // A prefix (a hot key's run is one) is cut off without copying what stays.
    else if (taken.size > 0 && [...taken].every((i) => i < taken.size)) pending.splice(0, taken.size);
    else if (taken.size > 0) buffer.pending = pending.filter((_, i) => !taken.has(i));
    if (this.perKey) for (const entry of request.members) this.inFlightKeys.add(entry.key);
    return request;
  }
}
