/**
 * Checkpoint ordering for one shard: batches are read in order but acknowledged by the sink in any
 * order; the checkpoint may only move to the end of the longest prefix of fully acknowledged
 * batches. A batch ends at a position (`shared/position.ts`): a sequence number, or `<seq>:<sub>`
 * when it ends in the middle of a KPL aggregate. Pure, no I/O.
 */
export class CheckpointTracker {
  private readonly open: Array<{ id: number; lastPosition: string; done: boolean }> = [];
  private nextId = 0;

  /** Registers a batch that ends at position `lastPosition`; returns its ticket. */
  add(lastPosition: string): number {
    const id = this.nextId++;
    this.open.push({ id, lastPosition, done: false });
    return id;
  }

  /**
   * Marks a batch acknowledged. Returns the position the checkpoint may move to, or
   * undefined when it cannot move yet (an older batch is still outstanding).
   */
  complete(ticket: number): string | undefined {
    const batch = this.open.find((b) => b.id === ticket);
    if (!batch) return undefined;
    batch.done = true;
    let safe: string | undefined;
    while (this.open.length > 0 && this.open[0].done) safe = this.open.shift()!.lastPosition;
    return safe;
  }

  /** Batches read but not yet acknowledged. */
  get outstanding(): number {
    return this.open.length;
  }
}
