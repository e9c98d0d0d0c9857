/**
 * A shard's checkpoints as its records are acknowledged: each chunk handed to the sink takes a ticket in
 * submission order (`CheckpointTracker`); once a chunk and every earlier one is acknowledged (its records
 * written, or refused ones dead-lettered), the checkpoint moves to the chunk's last position. Writes are
 * fenced (a Lua script checks the lease's lock token) and one at a time per shard, a newer safe point
 * superseding one not yet written: at most one write per chunk, never per record.
 */
import type { Logger } from '../../shared/logging';
import type { CheckpointStore, FencedWriteResult } from '../../shared/leases/checkpoint-store';
import type { Lease } from '../leases/lease';
import { CheckpointTracker } from './checkpoint-tracker';

export type CheckpointWrite = 'written' | 'unchanged' | 'failed' | 'lost';

export interface AcknowledgedCheckpointsDeps {
  lease: Lease;
  /** The shard whose checkpoint this is (in the checkpoint store's stream). */
  shardId: string;
  checkpoints: Pick<CheckpointStore, 'save'>;
  log: Logger;
  /** Told of every checkpoint written (the shard's progress). */
  written: (position: string) => void;
}

export class AcknowledgedCheckpoints {
  private readonly tracker = new CheckpointTracker();
  /** Acknowledgements still awaited, one per chunk. */
  private readonly outstanding = new Set<Promise<void>>();
  private write: Promise<void> = Promise.resolve();
  private latestSafe: string | undefined;

  constructor(
    private readonly deps: AcknowledgedCheckpointsDeps,
    private saved: string | undefined,
  ) {}

  /** Chunks handed to the sink and not yet acknowledged. */
  get awaited(): number {
    return this.outstanding.size;
  }

  /** The checkpoint to hand over: the latest safe one, written or not. */
  get latest(): string | undefined {
    return this.latestSafe ?? this.saved;
  }

  /** A ticket for a chunk ending at `last`, taken before the chunk goes to the sink. */
  ticket(last: string): number {
    return this.tracker.add(last);
  }

  /**
   * The chunk of `ticket` is done when `done` resolves true; false means its refused records could not
   * be dead-lettered, and the checkpoint stays behind them (the ticket never completes).
   */
  follow(ticket: number, done: Promise<boolean>): void {
    const acknowledged = done.then((ok) => {
      if (ok) this.completed(ticket);
    });
    this.outstanding.add(acknowledged);
    void acknowledged.finally(() => this.outstanding.delete(acknowledged));
  }

  /** Resolves when every chunk awaited now is acknowledged. */
  all(): Promise<unknown> {
    return Promise.all([...this.outstanding]);
  }

  /** Resolves when the checkpoint writes started so far are done. */
  settled(): Promise<void> {
    return this.write;
  }

  /** Writes the latest safe checkpoint; 'failed' when Redis did not answer (the caller decides on retrying). */
  async writeLatest(): Promise<CheckpointWrite> {
    const { lease, checkpoints, log } = this.deps;
    const target = this.latestSafe;
    if (lease.isLost) return 'lost';
    if (target === undefined || target === this.saved) return 'unchanged';
    let result: FencedWriteResult;
    try {
      result = await checkpoints.save(this.deps.shardId, lease.token, target);
    } catch (err) {
      // A Redis blip: the next acknowledged chunk (or the final hand-over) writes again.
      log.warn({ err: (err as Error).message }, 'checkpoint write failed; will retry');
      return 'failed';
    }
    if (result === 'lease-lost') {
      lease.lose('checkpoint fenced: the lease belongs to another worker now');
      return 'lost';
    }
    this.saved = target;
    this.deps.written(target);
    return 'written';
  }

  private completed(ticket: number): void {
    const safe = this.tracker.complete(ticket);
    if (safe === undefined) return;
    this.latestSafe = safe;
    // One write at a time per shard; a newer safe point supersedes one not yet written.
    this.write = this.write.then(async () => void (await this.writeLatest()));
  }
}
