/**
 * The one place where both readers' batches are de-aggregated: a ShardReader around the POLLING or
 * EFO reader. It turns each KPL aggregate into its user records (`Deaggregator`), at most as many per
 * call as the caller has room for, and after a restart from a checkpoint in the middle of an aggregate
 * (the inner reader then starts AT that record) it skips the user records up to the checkpointed
 * sub-sequence number, which were acknowledged already. User records whose hash key lies outside the
 * shard's range are delivered and counted.
 */
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import type { Position } from '../../shared/position';
import type { SourceRecord } from '../../shared/records';
import type { RecordBatch, ShardReader } from '../shard-reader';
import { isAggregated } from '../../shared/kpl/aggregated-record';
import { Deaggregator, type DeaggregationCounts, type HashKeyRange } from './deaggregate';

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A page whose aggregates hold more bytes than this is opened in a turn of its own (1 MiB took 25 ms). */
const LARGE_PAGE_BYTES = 256 * 1024;
/** Work past this in one call lets the rest of the worker in before the records are transformed. */
const TURN_BUDGET_MS = 10;

function aggregateBytes(records: readonly SourceRecord[]): number {
  let bytes = 0;
  for (const r of records) if (isAggregated(r.data)) bytes += r.data.byteLength;
  return bytes;
}

/**
 * The most user records handed out per call from a batch that holds aggregates. What a page becomes
 * waits in memory until it is written (a page of dead letters waits for Redis), so pages made of large
 * aggregates are kept small: with a 4-shard worker's page of 6,250 a 1 MiB aggregate of 170,000 empty
 * user records grew the worker's RSS by 60-62 MiB and blocked its event loop up to 94 ms; with 2,000,
 * by 46-58 MiB and up to 50-75 ms (`test/integration/poison-records.test.ts`; a fifth less would not
 * change that much: 1,000 measured 53-54 MiB). Batches without aggregates go as they came.
 */
export const AGGREGATE_PART_RECORDS = 2_000;

export interface DeaggregationOptions {
  streamArn: string;
  shardId: string;
  /** The shard's hash-key range; without it (a lease job from an older coordinator) there is no range check. */
  hashKeyRange?: HashKeyRange;
  /** User records of this aggregate up to this sub-sequence number (inclusive) are skipped. */
  skipThrough?: Position;
  log: Logger;
}

export class DeaggregatingReader implements ShardReader {
  private skipThrough: Position | undefined;
  /** Recent user records per Kinesis record, so a limit in user records becomes one in Kinesis records. */
  private fanOut = 1;
  /** The inner batch being handed out, when it held more user records than the last call took. */
  private current: { batch: RecordBatch; deaggregator: Deaggregator } | undefined;

  constructor(
    private readonly inner: ShardReader,
    private readonly options: DeaggregationOptions,
  ) {
    this.skipThrough = options.skipThrough;
  }

  get kind(): 'POLLING' | 'EFO' {
    return this.inner.kind;
  }

  /**
   * At most `maxRecords` user records. An inner batch that holds more (large aggregates) is handed out
   * over several calls without reading again; the shard's end is reported with its last part.
   */
  async next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch> {
    if (!this.current) {
      const limit = maxRecords === undefined ? undefined : Math.max(1, Math.floor(maxRecords / this.fanOut));
      const batch = await this.inner.next(signal, limit);
      if (batch.records.length === 0) return batch;
      // A mid-aggregate checkpoint's aggregate is the first record read after a restart.
      const skipThrough = this.skipThrough;
      this.skipThrough = undefined;
      // The usual batch, without aggregates, goes on as it came.
      if (!batch.records.some((r) => isAggregated(r.data))) {
        this.fanOut = Math.max(1, 0.5 * this.fanOut + 0.5);
        return batch;
      }
      this.current = { batch, deaggregator: new Deaggregator(batch.records, this.options.hashKeyRange, skipThrough) };
      // Reading (and parsing) a page of large aggregates had this turn: they are opened in the next.
      if (aggregateBytes(batch.records) > LARGE_PAGE_BYTES) await yieldTurn();
    }
    const { batch, deaggregator } = this.current;
    const started = performance.now();
    const records = deaggregator.take(Math.min(maxRecords ?? Number.MAX_SAFE_INTEGER, AGGREGATE_PART_RECORDS));
    this.count(deaggregator.takeCounts());
    // Opening an aggregate of 170,000 user records had this turn: the records are transformed in the next.
    if (performance.now() - started > TURN_BUDGET_MS) await yieldTurn();
    if (!deaggregator.done) return { records, millisBehindLatest: batch.millisBehindLatest, shardEnded: false, childShardIds: [] };
    this.current = undefined;
    return { ...batch, records };
  }

  private count(counts: DeaggregationCounts): void {
    const { streamArn, shardId, log } = this.options;
    if (counts.aggregates > 0) {
      metrics().aggregatedRecordsRead.inc({ stream: streamArn, shard: shardId }, counts.aggregates);
      // Learnt per aggregate opened, from the user records it holds (what it will hand out).
      this.fanOut = Math.max(1, 0.5 * this.fanOut + 0.5 * ((counts.userRecords + counts.plain) / Math.max(1, counts.aggregates + counts.plain)));
    }
    if (counts.outsideShard > 0) {
      metrics().userRecordsOutsideShard.inc({ stream: streamArn, shard: shardId }, counts.outsideShard);
      log.warn({ count: counts.outsideShard }, 'user records with a hash key outside this shard\'s range (delivered all the same)');
    }
    if (counts.skipped > 0) log.info({ skipped: counts.skipped }, 'resumed in the middle of an aggregate: skipped its user records acknowledged before');
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
