/**
 * The checkpoint store in unit tests: saves recorded (answers scripted, 'throw' rejecting like a Redis
 * blip), the submitted marks, the shard's end, the shard ids the writes named, and a stored checkpoint
 * for `get`. No I/O.
 */
import type { FencedWriteResult } from '../../shared/leases/checkpoint-store';

export class FakeCheckpoints {
  /** Positions written, in order. */
  readonly saved: string[] = [];
  /** Positions marked as submitted (`markSubmitted`), in order. */
  readonly marked: string[] = [];
  /** Answers of the next save calls, in order ('throw' rejects like a Redis blip); then 'written'. */
  readonly answers: Array<FencedWriteResult | 'throw'> = [];
  saveCalls = 0;
  /** The children recorded when the shard was finished. */
  finished: string[] | undefined;
  /** Every shard id a save, mark or finish named (a runner names its shard, never its lease key). */
  readonly shards = new Set<string>();
  /** What `get` answers. */
  stored: string | undefined;

  async get(): Promise<string | undefined> {
    return this.stored;
  }

  /** The previous owner's last submitted position: none here. */
  async submitted(): Promise<string | undefined> {
    return undefined;
  }

  async save(shard: string, _token: string, position: string): Promise<FencedWriteResult> {
    this.shards.add(shard);
    this.saveCalls += 1;
    const answer = this.answers.shift() ?? 'written';
    if (answer === 'throw') throw new Error('Connection is closed.');
    if (answer === 'written') this.saved.push(position);
    return answer;
  }

  markSubmitted(shard: string, position: string): void {
    this.shards.add(shard);
    this.marked.push(position);
  }

  async finish(shard: string, _token: string, children: readonly string[]): Promise<FencedWriteResult> {
    this.shards.add(shard);
    this.finished = [...children];
    return 'written';
  }
}
