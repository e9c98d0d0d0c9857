/**
 * Writes a source's records to a stream at a steady rate, batched in PutRecords calls, re-sending the
 * entries of a partial failure; optionally packed into KPL aggregated records. Stops after `count`
 * records, when the source has no more, or when stopped.
 */
import type { RecordPutter } from '../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { backoffDelay, sleep } from '../shared/backoff';
import { aggregateEntries, plainEntries, type CountedEntry } from './aggregate-entries';
import type { RecordSource } from './record-sources';

export interface WriteOptions {
  streamArn: string;
  /** Records to write; Infinity runs until stopped (or until the source has no more). */
  count: number;
  /** Records per second. */
  rate: number;
  /** Pack each batch into KPL aggregates of at most this many bytes; undefined writes plain records. */
  aggregateMaxBytes?: number;
  signal: AbortSignal;
  /** Called after each batch with the (user) records sent so far. */
  onProgress?: (sent: number) => void;
  onRetry?: (message: string) => void;
}

export interface GeneratorResult {
  /** Records written (user records, whether aggregated or not). */
  sent: number;
  /** Kinesis records written: equal to `sent` unless aggregating. */
  kinesisRecords: number;
  /** Records re-sent after throttling or errors. */
  retried: number;
  elapsedMs: number;
}

export async function writeRecords(putter: RecordPutter, source: RecordSource, opts: WriteOptions): Promise<GeneratorResult> {
  const started = Date.now();
  let sent = 0;
  let kinesisRecords = 0;
  let retried = 0;
  // Ten batches a second at most, so the rate is smooth.
  const batchSize = Math.max(1, Math.min(500, Math.ceil(opts.rate / 10)));
  try {
    while (sent < opts.count && !opts.signal.aborted) {
      const due = started + (sent / opts.rate) * 1000;
      await sleep(due - Date.now(), opts.signal);
      if (opts.signal.aborted) break;
      const records = await source.next(Math.min(batchSize, opts.count - sent));
      if (records.length === 0) break;
      let batch: CountedEntry[] = opts.aggregateMaxBytes === undefined ? plainEntries(records) : aggregateEntries(records, opts.aggregateMaxBytes);
      for (let attempt = 0; batch.length > 0 && !opts.signal.aborted; attempt++) {
        try {
          const result = await putter.putRecords(
            opts.streamArn,
            batch.map((b) => b.entry),
          );
          const failed = batch.filter((_, i) => result.entries[i]?.ErrorCode || !result.entries[i]?.SequenceNumber);
          sent += userRecordsIn(batch) - userRecordsIn(failed);
          kinesisRecords += batch.length - failed.length;
          batch = failed;
          if (failed.length > 0) {
            retried += userRecordsIn(failed);
            opts.onRetry?.(`${failed.length} records throttled; re-sending`);
          }
        } catch (err) {
          const kind = classifyKinesisError(err);
          if (kind === 'fatal' || kind === 'not-found') throw err;
          opts.onRetry?.(`PutRecords failed (${describeError(err)}); retrying`);
          retried += userRecordsIn(batch);
        }
        if (batch.length > 0) await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5000 }), opts.signal);
      }
      opts.onProgress?.(sent);
    }
  } finally {
    await source.close?.();
  }
  return { sent, kinesisRecords, retried, elapsedMs: Date.now() - started };
}

function userRecordsIn(entries: readonly CountedEntry[]): number {
  let n = 0;
  for (const e of entries) n += e.userRecords;
  return n;
}
