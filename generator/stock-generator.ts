/**
 * Writes stock records to a stream at a steady rate, batched in PutRecords calls, re-sending the
 * entries of a partial failure.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { RecordPutter } from '../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { backoffDelay, sleep } from '../shared/backoff';
import { randomStock, stockEntry, type PartitionKeyMode } from './stock-records';

export interface GeneratorOptions {
  streamArn: string;
  /** Records to write; Infinity runs until stopped. */
  count: number;
  /** Records per second. */
  rate: number;
  partitionKeys: PartitionKeyMode;
  signal: AbortSignal;
  onProgress?: (sent: number) => void;
  onRetry?: (message: string) => void;
}

export async function generateStocks(putter: RecordPutter, opts: GeneratorOptions): Promise<{ sent: number; retried: number; elapsedMs: number }> {
  const started = Date.now();
  let sent = 0;
  let retried = 0;
  // Ten batches a second at most, so the rate is smooth.
  const batchSize = Math.max(1, Math.min(500, Math.ceil(opts.rate / 10)));
  while (sent < opts.count && !opts.signal.aborted) {
    const due = started + (sent / opts.rate) * 1000;
    await sleep(due - Date.now(), opts.signal);
    if (opts.signal.aborted) break;
    const size = Math.min(batchSize, opts.count - sent);
    let batch: PutRecordsRequestEntry[] = Array.from({ length: size }, () => stockEntry(randomStock(), opts.partitionKeys));
    for (let attempt = 0; batch.length > 0 && !opts.signal.aborted; attempt++) {
      try {
        const result = await putter.putRecords(opts.streamArn, batch);
        const failed = batch.filter((_, i) => result.entries[i]?.ErrorCode || !result.entries[i]?.SequenceNumber);
        sent += batch.length - failed.length;
        batch = failed;
        if (failed.length > 0) {
          retried += failed.length;
          opts.onRetry?.(`${failed.length} records throttled; re-sending`);
        }
      } catch (err) {
        const kind = classifyKinesisError(err);
        if (kind === 'fatal' || kind === 'not-found') throw err;
        opts.onRetry?.(`PutRecords failed (${describeError(err)}); retrying`);
        retried += batch.length;
      }
      if (batch.length > 0) await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5000 }), opts.signal);
    }
    opts.onProgress?.(sent);
  }
  return { sent, retried, elapsedMs: Date.now() - started };
}
