/**
 * The one place where both readers' batches are de-aggregated: a ShardReader around the POLLING or
 * EFO reader. It turns each KPL aggregate into its user records (`deaggregate`), and after a restart
 * from a checkpoint in the middle of an aggregate (the inner reader then starts AT that record) it
 * drops the user records up to the checkpointed sub-sequence number, which were acknowledged already.
 * User records whose hash key lies outside the shard's range are delivered and counted.
 */
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import type { Position } from '../../shared/position';
import type { SourceRecord } from '../../shared/records';
import type { RecordBatch, ShardReader } from '../shard-reader';
import { deaggregate, type HashKeyRange } from './deaggregate';

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

  constructor(
    private readonly inner: ShardReader,
    private readonly options: DeaggregationOptions,
  ) {
    this.skipThrough = options.skipThrough;
  }

  get kind(): 'POLLING' | 'EFO' {
    return this.inner.kind;
  }

  async next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch> {
    const limit = maxRecords === undefined ? undefined : Math.max(1, Math.floor(maxRecords / this.fanOut));
    const batch = await this.inner.next(signal, limit);
    if (batch.records.length === 0) return batch;
    const result = deaggregate(batch.records, this.options.hashKeyRange);
    this.fanOut = Math.max(1, 0.5 * this.fanOut + 0.5 * (result.records.length / batch.records.length));
    const { streamArn, shardId, log } = this.options;
    if (result.outsideShard > 0) {
      metrics().userRecordsOutsideShard.inc({ stream: streamArn, shard: shardId }, result.outsideShard);
      log.warn({ count: result.outsideShard }, 'user records with a hash key outside this shard\'s range (delivered all the same)');
    }
    if (result.aggregates > 0) metrics().aggregatedRecordsRead.inc({ stream: streamArn, shard: shardId }, result.aggregates);
    const records = this.skipThrough ? this.skip(result.records) : result.records;
    return { ...batch, records };
  }

  /** Drops the acknowledged user records of the checkpointed aggregate; the first record past it ends the skipping. */
  private skip(records: SourceRecord[]): SourceRecord[] {
    const through = this.skipThrough!;
    let dropped = 0;
    while (dropped < records.length) {
      const r = records[dropped];
      if (r.sequenceNumber !== through.sequenceNumber || r.subSequenceNumber === undefined || r.subSequenceNumber > through.subSequenceNumber!) break;
      dropped += 1;
    }
    if (dropped < records.length) this.skipThrough = undefined;
    if (dropped > 0) this.options.log.info({ checkpoint: through, skipped: dropped }, 'resumed in the middle of an aggregate: skipped its user records acknowledged before');
    return dropped === 0 ? records : records.slice(dropped);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
