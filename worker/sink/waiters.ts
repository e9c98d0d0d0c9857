/**
 * Callers waiting for something their owner announces with `wakeAll()` (room in the buffer, an empty
 * buffer, a healthy output); each wait also ends, and leaves the list, when its signal aborts.
 */
export class Waiters {
  private list: Array<() => void> = [];

  get size(): number {
    return this.list.length;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.list = this.list.filter((w) => w !== wake);
        resolve();
      };
      this.list.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  wakeAll(): void {
    const list = this.list;
    this.list = [];
    for (const wake of list) wake();
  }
}
