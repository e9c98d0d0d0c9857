/**
 * Checkpoint ordering for one shard: batches are read in order but acknowledged by the sink in any
 * order; the checkpoint may only move to the end of the longest prefix of fully acknowledged
 * batches. Pure, no I/O.
 */
export class CheckpointTracker {
  private readonly open: Array<{ id: number; lastSequence: string; done: boolean }> = [];
  private nextId = 0;

  /** Registers a batch that ends at `lastSequence`; returns its ticket. */
  add(lastSequence: string): number {
    const id = this.nextId++;
    this.open.push({ id, lastSequence, done: false });
    return id;
  }

  /**
   * Marks a batch acknowledged. Returns the sequence number the checkpoint may move to, or
   * undefined when it cannot move yet (an older batch is still outstanding).
   */
  complete(ticket: number): string | undefined {
    const batch = this.open.find((b) => b.id === ticket);
    if (!batch) return undefined;
    batch.done = true;
    let safe: string | undefined;
    while (this.open.length > 0 && this.open[0].done) safe = this.open.shift()!.lastSequence;
    return safe;
  }

  /** Batches read but not yet acknowledged. */
  get outstanding(): number {
    return this.open.length;
  }
}

/** Kinesis sequence numbers are decimal strings of up to 128 digits: compare by length, then text. */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
