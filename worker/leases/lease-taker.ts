/**
 * Takes leases up to a capacity, several per round trip (KCL's `LeaseTaker` takes every lease it
 * needs in one pass; BullMQ's own worker loop fetches one job per round trip and starts none until its
 * concurrency is reached). Asking for `min(room, batch)` leases at once matters on a busy machine: each
 * round trip waits for this process to be scheduled again, so a worker growing to 64 leases one at a
 * time spent seconds on its own wake-ups (the 2,048-shard, 32-worker start above a load average of 30).
 *
 * It knows no storage: a `LeaseSource` takes waiting leases. When fewer than asked were waiting, it
 * waits for the next one to be put back (the source's bounded block, one call) instead of polling, and
 * asks for several again once one came. When it has no room, it sleeps until the capacity changes or a
 * lease ends. A lease taken is always handed on, even after `stop()`: its holder releases it (a lease
 * dropped here would sit locked until its timeout).
 */
import type { Logger } from '../../shared/logging';
import { backoffDelay, sleep, type BackoffPolicy } from '../../shared/backoff';
import type { StoredLease } from './lease-store';

/** Where waiting leases are taken from. */
export interface LeaseSource {
  /** Takes up to `count` waiting leases at once, without blocking: fewer, or none, when fewer wait. */
  takeWaiting(count: number): Promise<StoredLease[]>;
  /** Waits a bounded time (about a second) for a lease to be put in waiting and takes it; undefined when none came. */
  awaitOne(): Promise<StoredLease | undefined>;
}

export interface LeaseTakerDeps {
  source: LeaseSource;
  /** Leases taken and not ended yet (they count against the capacity). */
  held: () => number;
  onTaken: (lease: StoredLease) => void;
  log: Logger;
  /** Most leases asked for in one round trip. */
  batch?: number;
}

/** Leases asked for at once: a step of the share ramp (fair-share.ts) in one or two round trips. */
export const TAKE_BATCH = 32;
/** The pause after a failed take (Redis unreachable), by consecutive failures. */
const RETRY: BackoffPolicy = { baseMs: 250, maxMs: 5_000 };

export class LeaseTaker {
  private capacity = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Aborted to end a sleep early: the capacity changed, a lease ended, or stop. */
  private poked = new AbortController();

  constructor(private readonly deps: LeaseTakerDeps) {}

  /** How many leases may be held; taking starts or resumes at once when it grows. */
  setCapacity(leases: number): void {
    if (leases === this.capacity) return;
    this.capacity = leases;
    this.poke();
  }

  /** A taken lease ended: there may be room again. */
  ended(): void {
    this.poke();
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Takes nothing more; resolves when the loop has returned (after at most the source's bounded wait). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.running;
  }

  private poke(): void {
    this.poked.abort();
  }

  private async loop(): Promise<void> {
    const { source, log } = this.deps;
    let failures = 0;
    /** The last take found fewer waiting than asked: block for the next one before asking for several. */
    let drained = false;
    while (!this.stopped) {
      const signal = (this.poked = new AbortController()).signal;
      const room = this.capacity - this.deps.held();
      if (room <= 0) {
        // A capacity change or a lease's end pokes; the minute is only a backstop.
        await sleep(60_000, signal);
        continue;
      }
      const asked = Math.min(room, this.deps.batch ?? TAKE_BATCH);
      try {
        if (drained) {
          // One blocking call a bounded wait, as BullMQ's own loop: not `asked` calls a second for nothing.
          const one = await source.awaitOne();
          this.handOn([one]);
          // A lease came: others may have come with it (a release, a stalled worker's leases, new shards).
          drained = one === undefined;
        } else {
          const taken = await source.takeWaiting(asked);
          this.handOn(taken);
          drained = taken.length < asked;
        }
        if (failures > 0) log.info({ failures }, 'taking leases works again');
        failures = 0;
      } catch (err) {
        if (failures === 0) log.warn({ err: (err as Error).message }, 'taking leases failed; retrying with backoff (held leases are not affected)');
        await sleep(backoffDelay(failures++, RETRY), signal);
      }
    }
  }

  private handOn(leases: ReadonlyArray<StoredLease | undefined>): void {
    for (const lease of leases) if (lease) this.deps.onTaken(lease);
  }
}
