/** The record types that flow from a reader through the transform to the sink. */
import type { Positioned } from './position';
import { leaseKey } from './redis/keys';

/**
 * A record read from the input stream: a plain Kinesis record, or one user record of a KPL aggregate
 * (then with its sub-sequence number; see `shared/position.ts`).
 */
export interface SourceRecord extends Positioned {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  /** A user record's own explicit hash key, when its producer set one. */
  explicitHashKey?: string;
  data: Uint8Array;
  approximateArrivalTimestamp?: Date;
  /**
   * Set when the record cannot be read at all (a corrupt KPL aggregate): it goes to the dead-letter
   * queue whole, raw, with this reason, and is not transformed.
   */
  rejection?: string;
}

/** A transformed record, ready for PutRecords. */
export interface OutputRecord {
  partitionKey: string;
  /** A decimal 128-bit integer that picks the output shard instead of the partition key's hash. */
  explicitHashKey?: string;
  data: Uint8Array;
  /**
   * Where the input record it came from lies in its shard: when Kinesis refuses this record for itself
   * (the sink's bisection), the input is read again from there for the dead letter, so a replay
   * transforms it again. A position, not the input record: keeping every buffered record's input alive
   * cost a worker 20-30 MiB of peak RSS at full speed.
   */
  inputSequenceNumber?: string;
  inputSubSequenceNumber?: number;
  /** The index of its output group in the configuration's outputs (`OutputStream0` first); absent: the first. */
  output?: number;
}

/** A record that cannot be delivered and goes to the dead-letter queue instead. */
export interface DeadLetter {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  /** A user record's index in its KPL aggregate; absent for a whole Kinesis record. */
  subSequenceNumber?: number;
  partitionKey: string;
  explicitHashKey?: string;
  /** Base64 of the raw input bytes (of the user record, or of the whole Kinesis record). */
  payload: string;
  arrivalTime?: string;
  reason: string;
  /** Where a transform module threw: the first `at …` line of the error's stack. */
  stack?: string;
  deadLetteredAt: string;
}

/** The last arrival time written as text: the user records of one aggregate share their Date. */
let lastArrival: { date: Date; text: string } | undefined;

function arrivalText(date: Date | undefined): string | undefined {
  if (date === undefined) return undefined;
  if (lastArrival?.date !== date) lastArrival = { date, text: date.toISOString() };
  return lastArrival.text;
}

/** `at`: when it was dead-lettered (ISO 8601); a chunk's letters share one. */
export function deadLetterOf(record: SourceRecord, stream: string, reason: string, at = new Date().toISOString(), stack?: string): DeadLetter {
  const letter: DeadLetter = {
    stream,
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
    payload: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64'),
    arrivalTime: arrivalText(record.approximateArrivalTimestamp),
    reason,
    deadLetteredAt: at,
  };
  if (record.subSequenceNumber !== undefined) letter.subSequenceNumber = record.subSequenceNumber;
  if (record.explicitHashKey !== undefined) letter.explicitHashKey = record.explicitHashKey;
  if (stack !== undefined) letter.stack = stack;
  return letter;
}

/**
 * The dead letter's job id: `<lease key>-<sequence>` (the lease key is `<stream key>|<shard>`) for a whole
 * Kinesis record, and `<lease key>-<sequence>-<sub>` for one user record of an aggregate, so a record read
 * twice is dead-lettered once. (BullMQ job ids may not contain ':'.) Letters of the single-stream layout
 * keep their `<shard>-<sequence>` ids; their data names their stream.
 */
export function deadLetterId(letter: Pick<DeadLetter, 'stream' | 'shardId' | 'sequenceNumber' | 'subSequenceNumber'>): string {
  const base = `${leaseKey(letter.stream, letter.shardId)}-${letter.sequenceNumber}`;
  return letter.subSequenceNumber === undefined ? base : `${base}-${letter.subSequenceNumber}`;
}
