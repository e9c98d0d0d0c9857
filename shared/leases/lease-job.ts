/**
 * The lease job: the one BullMQ job per shard of each input stream, with the lease key as job id that the coordinator creates and workers hold. Its data
 * is the contract between both sides, so it lives below both: the coordinator writes it, a worker
 * reads it to know where a shard without a checkpoint starts.
 */
import type { StartPosition } from '../position';

/** Where a shard without a checkpoint starts (ISO timestamp, since job data is JSON). */
export type LeaseStart = { type: 'LATEST' } | { type: 'TRIM_HORIZON' } | { type: 'AT_TIMESTAMP'; timestamp: string };

export interface LeaseJobData {
  /** The input stream the shard belongs to. Lease jobs of the single-stream layout have none (the upgrade replaces them). */
  streamArn?: string;
  shardId: string;
  parentShardIds: string[];
  start: LeaseStart;
  /**
   * The shard's hash-key range from ListShards (decimal strings), for the check of KPL user records'
   * hash keys. Lease jobs created by older coordinators have none; their readers skip the check.
   */
  hashKeyRange?: { startingHashKey: string; endingHashKey: string };
  /** Consecutive reader failures, for the retry backoff; reset when a holder reads the shard again. */
  failures?: number;
}

/** The reader's start position for a lease without a checkpoint. */
export function leaseStartPosition(start: LeaseStart): StartPosition {
  return start.type === 'AT_TIMESTAMP' ? { type: 'AT_TIMESTAMP', timestamp: new Date(start.timestamp) } : { type: start.type };
}
