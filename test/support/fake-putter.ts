/**
 * A PutRecords putter whose calls the test answers by hand (or at once with `auto`): each call is
 * recorded with its entries, and answered with success, per-entry error codes, a raw result or an
 * error. No I/O.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult, RecordPutter } from '../../shared/aws/kinesis-gateway';

/** One PutRecords call the test answers by hand. */
export interface Call {
  readonly arn: string;
  readonly entries: PutRecordsRequestEntry[];
  settled: boolean;
  /** Every entry succeeds. */
  succeed(): void;
  /** One error code (or undefined for success) per entry. */
  reply(codes: ReadonlyArray<string | undefined>): void;
  /** The raw result. */
  resolveWith(result: PutRecordsResult): void;
  fail(err: unknown): void;
}

export class FakePutter implements RecordPutter {
  readonly calls: Call[] = [];
  /** The calls answered with an error (`fail`). */
  readonly failed = new Set<Call>();
  active = 0;
  maxActive = 0;
  private sequence = 0;
  /** When set, each call is answered at once by this function (after the call is recorded). */
  auto?: (call: Call, index: number) => void;
  /** The shard an accepted entry lands on (default: shardId-000000000000). */
  shardOf?: (entry: PutRecordsRequestEntry) => string;

  putRecords(arn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<PutRecordsResult>((resolve, reject) => {
      const settle = () => {
        if (call.settled) throw new Error('call answered twice');
        call.settled = true;
        this.active -= 1;
      };
      const call: Call = {
        arn,
        entries: [...records],
        settled: false,
        succeed: () => call.reply(records.map(() => undefined)),
        reply: (codes) => {
          expect(codes).toHaveLength(records.length);
          call.resolveWith({
            failedCount: codes.filter((c) => c !== undefined).length,
            entries: codes.map((code, i) =>
              code === undefined
                ? { SequenceNumber: String(++this.sequence).padStart(56, '4'), ShardId: this.shardOf?.(records[i]) ?? 'shardId-000000000000' }
                : { ErrorCode: code, ErrorMessage: `${code} message` },
            ),
          });
        },
        resolveWith: (result) => {
          settle();
          resolve(result);
        },
        fail: (err) => {
          settle();
          this.failed.add(call);
          reject(err);
        },
      };
      this.calls.push(call);
      this.auto?.(call, this.calls.length - 1);
    });
  }

  /** The payloads (as text) of call `i`. */
  labels(i: number): string[] {
    return this.calls[i].entries.map((e) => Buffer.from(e.Data!).toString('utf8'));
  }

  allLabels(): string[][] {
    return this.calls.map((_, i) => this.labels(i));
  }

  open(): Call[] {
    return this.calls.filter((c) => !c.settled);
  }
}
