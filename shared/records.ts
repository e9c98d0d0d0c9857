/** The record types that flow from a reader through the transform to the sink. */

/** A record read from the input stream. */
export interface SourceRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  approximateArrivalTimestamp?: Date;
}

/** A transformed record, ready for PutRecords. */
export interface OutputRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** A record that cannot be delivered and goes to the dead-letter queue instead. */
export interface DeadLetter {
  stream: string;
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  /** Base64 of the raw input bytes. */
  payload: string;
  arrivalTime?: string;
  reason: string;
  deadLetteredAt: string;
}

export function deadLetterOf(record: SourceRecord, stream: string, reason: string): DeadLetter {
  return {
    stream,
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
    payload: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64'),
    arrivalTime: record.approximateArrivalTimestamp?.toISOString(),
    reason,
    deadLetteredAt: new Date().toISOString(),
  };
}
