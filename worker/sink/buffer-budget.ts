/**
 * The worker's room for buffered records, shared by the sinks of every output: `sink.requests.max-buffered`
 * (of `OutputStream0`) bounds what all of them hold together, so routing records to several outputs
 * does not multiply the memory a worker may use. A sink's buffer counts its records here as they are
 * written and gives them back as they settle (acknowledged, refused or dropped). No I/O, no timers.
 */
import { Waiters } from './waiters';

export class BufferBudget {
  private used = 0;
  private readonly waiters = new Waiters();

  constructor(readonly capacity: number) {}

  /** How many more records fit before `reserve` waits. */
  get room(): number {
    return Math.max(0, this.capacity - this.used);
  }

  /**
   * Waits until there is room for `count` more records (a request larger than the whole budget is let
   * in once nothing is held), or the signal aborts.
   */
  async reserve(count: number, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted && !(this.used === 0 || this.used + count <= this.capacity)) await this.waiters.wait(signal);
  }

  take(count: number): void {
    this.used += count;
  }

  /** Gives `count` records' room back; `wake` lets the waiters in (once per answer, not per record). */
  give(count: number): void {
    this.used -= count;
  }

  wake(): void {
    this.waiters.wakeAll();
  }
}
