/**
 * A shard reader in unit tests: hands out the scripted batches in order, each call's record limit
 * recorded. With `endsShard` the last batch ends the shard (with `childShardIds`); without, the shard
 * stays open: once the batches are out, a call waits until its signal aborts, or fails when the test
 * says so (`fail`). No I/O.
 */
import type { SourceRecord } from '../../shared/records';
import type { RecordBatch, ShardReader } from '../../worker/shard-reader';

export class ScriptedReader implements ShardReader {
  readonly kind = 'POLLING';
  closed = false;
  /** The record limit of each call. */
  readonly limits: Array<number | undefined> = [];
  private failure: ((err: Error) => void) | undefined;

  constructor(
    private readonly batches: SourceRecord[][],
    private readonly options: { endsShard?: boolean; childShardIds?: string[] } = {},
  ) {}

  async next(signal: AbortSignal, maxRecords?: number): Promise<RecordBatch> {
    this.limits.push(maxRecords);
    const records = this.batches.shift();
    if (this.options.endsShard) {
      const ended = this.batches.length === 0;
      return { records: records ?? [], shardEnded: ended, childShardIds: ended ? (this.options.childShardIds ?? []) : [] };
    }
    if (records) return { records, shardEnded: false, childShardIds: [] };
    await new Promise<void>((resolve, reject) => {
      this.failure = reject;
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return { records: [], shardEnded: false, childShardIds: [] };
  }

  /** The pending read fails (GetRecords answered with an error the reader does not handle). */
  fail(err: Error): void {
    this.failure?.(err);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
