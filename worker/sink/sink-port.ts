/**
 * What a shard runner needs from the sink, and no more: room to wait for, a write that resolves when
 * Kinesis has acknowledged every record of it, and the output's health. The runner is tested against
 * a fake of this; `KinesisSink` is the real one.
 */
import type { OutputRecord } from '../../shared/records';

/** Who wrote a record: when its lease is lost, its unsent records are dropped. */
export interface RecordOwner {
  readonly isLost: boolean;
}

/** A record Kinesis refused for itself (not for the stream's sake): its writer dead-letters it. */
export interface RejectedRecord {
  readonly record: OutputRecord;
  /** `refused by Kinesis: <Kinesis's answer>`. */
  readonly reason: string;
}

export interface SinkPort {
  /** True while the output pushes back (throttled recently, or pausing to retry). */
  readonly congested: boolean;
  /** How many more records the buffer takes before `reserve` waits. */
  readonly room: number;
  /** Waits until the buffer has room for `count` more records, or the signal aborts. */
  reserve(count: number, signal?: AbortSignal): Promise<void>;
  /**
   * Resolves once Kinesis has acknowledged every record or refused it for itself, with the refused
   * ones (never, for records of a lost or abandoned owner).
   */
  write(records: readonly OutputRecord[], owner?: RecordOwner): Promise<readonly RejectedRecord[]>;
  /** False while the output refuses writes for good (deleted, access denied, …): read nothing new then. */
  readonly accepting: boolean;
  /** Resolves when the output takes writes again, or the signal aborts. */
  waitUntilAccepting(signal?: AbortSignal): Promise<void>;
  /** Drops the owner's unsent records at once (a hand-over that cannot wait longer); returns how many. */
  abandon(owner: RecordOwner): number;
}
