/**
 * The sink's bounded buffer: the records written and not yet acknowledged, and room for more.
 *
 * `pending` holds the records waiting to be sent, oldest first (refused ones go back to the front, in
 * their order, so they leave before anything newer); a record in flight is out of `pending` but still
 * counts against the buffer until it is acknowledged, refused for itself or dropped. `reserve` waits
 * while the buffer is full, so a slow or throttled output slows the readers down instead of growing
 * memory. Records of an owner (a lease) that was lost or handed back leave `pending` at the next
 * `dropGone`; their writers have stopped waiting for them, and the next owner reads them again.
 * No I/O, no timers.
 */
import type { RecordOwner } from './sink-port';
import type { SinkEntry } from './sink-entry';
import { BufferBudget } from './buffer-budget';
import { Waiters } from './waiters';

export class SinkBuffer {
  /** Waiting to be sent, oldest first. The request picker takes from here. */
  pending: SinkEntry[] = [];
  /** Data and key bytes of `pending`. */
  pendingBytes = 0;
  /** Records written and not yet acknowledged, refused or dropped: pending, in flight or waiting to be retried. */
  private unsettled = 0;
  /** How many pending records each owner has, so finding a lost lease's records does not scan them all. */
  private readonly byOwner = new Map<RecordOwner, number>();
  /** Owners whose lease was handed back: their unsent records leave, as a lost lease's do. */
  private readonly abandoned = new WeakSet<RecordOwner>();
  private readonly emptyWaiters = new Waiters();
  /** The room, shared with the other outputs' buffers when there are several. */
  private readonly budget: BufferBudget;

  /** `capacity`: a number for a buffer of its own, or the budget it shares with other sinks. */
  constructor(capacity: number | BufferBudget) {
    this.budget = typeof capacity === 'number' ? new BufferBudget(capacity) : capacity;
  }

  /** How many more records the buffer takes before `reserve` waits (for shared room: the room left for all). */
  get room(): number {
    return this.budget.room;
  }

  /** Records written and not yet acknowledged, refused or dropped. */
  get buffered(): number {
    return this.unsettled;
  }

  /** Somebody waits for the buffer to empty (a flush): partial requests go at once. */
  get flushing(): boolean {
    return this.emptyWaiters.size > 0;
  }

  /**
   * Waits until the buffer has room for `count` more records (a request larger than the whole buffer
   * is let in once the buffer is empty), or the signal aborts.
   */
  reserve(count: number, signal?: AbortSignal): Promise<void> {
    return this.budget.reserve(count, signal);
  }

  /** Resolves when nothing is left unsettled, or when the signal aborts. */
  empty(signal?: AbortSignal): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return this.emptyWaiters.wait(signal);
  }

  /** New records of one write (already pushed onto `pending` by the writer, `bytes` their size). */
  added(count: number, bytes: number, owner: RecordOwner | undefined): void {
    if (owner) {
      this.abandoned.delete(owner);
      if (count > 0) this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + count);
    }
    this.pendingBytes += bytes;
    this.unsettled += count;
    this.budget.take(count);
  }

  /** Records the picker took out of `pending` for a request. */
  taken(batch: readonly SinkEntry[]): void {
    for (const entry of batch) {
      this.pendingBytes -= entry.size;
      if (!entry.owner) continue;
      const left = this.byOwner.get(entry.owner)! - 1;
      if (left === 0) this.byOwner.delete(entry.owner);
      else this.byOwner.set(entry.owner, left);
    }
  }

  /** Records to send again: back to the front, in their order. */
  requeue(entries: readonly SinkEntry[]): void {
    if (entries.length === 0) return;
    this.pending.unshift(...entries);
    for (const entry of entries) {
      this.pendingBytes += entry.size;
      if (entry.owner) this.byOwner.set(entry.owner, (this.byOwner.get(entry.owner) ?? 0) + 1);
    }
  }

  /** `count` records left the sink (acknowledged, refused or dropped): room for others. */
  settled(count: number): void {
    this.unsettled -= count;
    this.budget.give(count);
    this.wake();
  }

  /** As `settled`, for a caller that wakes the waiters once for a whole answer. */
  settledQuietly(count: number): void {
    this.unsettled -= count;
    this.budget.give(count);
  }

  isGone(owner: RecordOwner | undefined): boolean {
    return owner !== undefined && (owner.isLost || this.abandoned.has(owner));
  }

  /** The owner's lease was handed back: its unsent records leave at the next `dropGone`. */
  abandon(owner: RecordOwner): void {
    this.abandoned.add(owner);
  }

  /** Takes the unsent records of lost or handed-back leases out of `pending`; returns how many. */
  dropGone(): number {
    let anyGone = false;
    for (const owner of this.byOwner.keys()) {
      if (this.isGone(owner)) {
        anyGone = true;
        this.byOwner.delete(owner);
      }
    }
    if (!anyGone) return 0;
    const kept: SinkEntry[] = [];
    let dropped = 0;
    for (const entry of this.pending) {
      if (this.isGone(entry.owner)) {
        this.pendingBytes -= entry.size;
        dropped += 1;
      } else {
        kept.push(entry);
      }
    }
    this.pending = kept;
    this.settled(dropped);
    return dropped;
  }

  /** The most PutRecords attempts any pending record has had (for the failure log lines). */
  maxAttempts(): number {
    let max = 0;
    for (const entry of this.pending) if (entry.attempts > max) max = entry.attempts;
    return max;
  }

  /** Wakes writers waiting for room, and flushers once nothing is left. */
  wake(): void {
    this.budget.wake();
    if (this.unsettled === 0) this.emptyWaiters.wakeAll();
  }
}
