/**
 * What the sink's parts pass between them: a buffered record (`SinkEntry`), the `write` call it belongs
 * to (`WriteGroup`), and one PutRecords request (`PutRequest`). Types and small helpers only.
 */
import type { PutRecordsRequestEntry, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { OutputRecord } from '../../shared/records';
import type { RecordOwner, RejectedRecord } from './sink-port';

const NONE_REJECTED: readonly RejectedRecord[] = Object.freeze([]);

/**
 * One `write` call's records: resolved when every one of them is acknowledged by Kinesis or refused
 * for itself, with the refused ones (usually none).
 */
export class WriteGroup {
  private remaining: number;
  readonly done: Promise<readonly RejectedRecord[]>;
  private resolve!: (rejected: readonly RejectedRecord[]) => void;
  private rejected: RejectedRecord[] | undefined;

  constructor(count: number) {
    this.remaining = count;
    this.done = new Promise((resolve) => (this.resolve = resolve));
    if (count === 0) this.resolve(NONE_REJECTED);
  }

  acknowledge(): void {
    this.remaining -= 1;
    if (this.remaining === 0) this.resolve(this.rejected ?? NONE_REJECTED);
  }

  reject(record: OutputRecord, reason: string): void {
    (this.rejected ??= []).push({ record, reason });
    this.acknowledge();
  }
}

/** A record in the sink, from `write` until it is acknowledged, refused for itself or dropped. */
export interface SinkEntry {
  readonly data: Uint8Array;
  readonly key: string;
  readonly explicitHashKey?: string;
  /** Where its input record lies, for the dead letter if Kinesis refuses this one for itself. */
  readonly inputSequenceNumber?: string;
  readonly inputSubSequenceNumber?: number;
  /** With KPL: the partition key's hash key, which picks the output shard (0n otherwise). */
  readonly hashKey: bigint;
  /** Data plus UTF-8 partition key bytes. */
  readonly size: number;
  readonly group: WriteGroup;
  readonly owner?: RecordOwner;
  /** PutRecords requests that carried it and did not get it accepted (for the failure log lines). */
  attempts: number;
  /** Overtaken by a newer record of its key already: counted once, however often that happens again. */
  late?: boolean;
}

/**
 * One PutRecords request: its entries and the records they carry, in order. Without KPL each entry
 * carries one record, entry i record i; so a plain request costs one request entry per record and no
 * more (a wrapper and an array per record, flattened back per request, were 2 % of a worker's CPU at
 * full speed).
 */
export interface PutRequest {
  readonly entries: PutRecordsRequestEntry[];
  readonly members: SinkEntry[];
  /** With KPL: entry i carries `members` from `starts[i]` up to `starts[i + 1]` (one more start than entries). */
  readonly starts?: number[];
  /** With KPL: the shard each entry should land on. */
  readonly shardIds?: string[];
}

/** The PutRecords entry of one record sent plain. */
export function requestEntry(entry: SinkEntry): PutRecordsRequestEntry {
  return entry.explicitHashKey === undefined ? { Data: entry.data, PartitionKey: entry.key } : { Data: entry.data, PartitionKey: entry.key, ExplicitHashKey: entry.explicitHashKey };
}

export function isAccepted(outcome: PutRecordsResultEntry | undefined): boolean {
  return Boolean(outcome && !outcome.ErrorCode && outcome.SequenceNumber);
}

/** The record as its writer wrote it, for a refusal handed back. */
export function outputRecordOf(entry: SinkEntry): OutputRecord {
  const record: OutputRecord = { partitionKey: entry.key, data: entry.data, inputSequenceNumber: entry.inputSequenceNumber, inputSubSequenceNumber: entry.inputSubSequenceNumber };
  if (entry.explicitHashKey !== undefined) record.explicitHashKey = entry.explicitHashKey;
  return record;
}
