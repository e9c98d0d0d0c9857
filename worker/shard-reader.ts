/**
 * The reader seam shared by the polling and the enhanced fan-out reader: a reader only fetches and
 * returns batches of one shard; it knows nothing of leases, transforms or the sink.
 */
import { parsePosition, type Position, type StartPosition } from '../shared/position';
import type { SourceRecord } from '../shared/records';

export interface RecordBatch {
  records: SourceRecord[];
  millisBehindLatest?: number;
  /** True when the shard is closed and every record of it has been returned. */
  shardEnded: boolean;
  /** With shardEnded: the shards that continue this one's hash range. */
  childShardIds: string[];
}

export interface ShardReader {
  readonly kind: 'POLLING' | 'EFO';
  /**
   * The next batch, possibly empty; waits between calls as the reader's settings say. `maxRecords` is
   * how many records the caller has room for now: the batch holds no more. Polling asks for no more;
   * EFO, which the service pushes events of its own size, returns an event in parts of at most this.
   */
  next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch>;
  close(): Promise<void>;
}

/** Where to resume from a checkpoint, and which user records of the first aggregate were done already. */
export interface Resume {
  start: StartPosition;
  /** With a mid-aggregate checkpoint: the user records up to here (inclusive) are done; skip them. */
  skipThrough?: Position;
}

/**
 * A whole-record checkpoint `"<seq>"` resumes AFTER that record. A mid-aggregate one `"<seq>:<sub>"`
 * resumes AT the record (as KCL does for an extended sequence number), and the user records with a
 * sub-sequence number up to `<sub>` are skipped, since they were acknowledged.
 */
export function resumeFrom(checkpoint: string): Resume {
  const position = parsePosition(checkpoint);
  if (position.subSequenceNumber === undefined) return { start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: position.sequenceNumber } };
  return { start: { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: position.sequenceNumber }, skipThrough: position };
}
