/**
 * The shard runner's sink in unit tests: records each write, which the test acknowledges (`ack`) or
 * answers with records Kinesis refused for themselves (`ack(rejected)`), and an output that can be
 * made to refuse writes (`setAccepting`). No I/O.
 */
import type { OutputRecord } from '../../shared/records';
import type { RejectedRecord, SinkPort } from '../../worker/sink/sink-port';

export interface FakeWrite {
  readonly records: readonly OutputRecord[];
  /** Resolves the write: every record acknowledged, but `rejected` (default none). */
  ack(rejected?: readonly RejectedRecord[]): void;
}

export class FakeSink implements SinkPort {
  readonly congested = false;
  readonly room = 1_000_000;
  readonly writes: FakeWrite[] = [];
  accepting = true;
  /** How often `abandon` was called. */
  abandoned = 0;
  private waiters: Array<() => void> = [];

  async reserve(_count: number, _signal?: AbortSignal): Promise<void> {}

  write(records: readonly OutputRecord[]): Promise<readonly RejectedRecord[]> {
    return new Promise((resolve) => this.writes.push({ records, ack: (rejected = []) => resolve(rejected) }));
  }

  waitUntilAccepting(signal?: AbortSignal): Promise<void> {
    if (this.accepting || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  setAccepting(value: boolean): void {
    this.accepting = value;
    if (value) for (const wake of this.waiters.splice(0)) wake();
  }

  abandon(): number {
    this.abandoned += 1;
    return 0;
  }

  /** The data of every record written so far, as text. */
  get texts(): string[] {
    return this.writes.flatMap((w) => w.records.map((r) => Buffer.from(r.data).toString()));
  }
}
