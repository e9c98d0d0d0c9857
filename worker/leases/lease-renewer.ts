/**
 * Renews the locks of the leases a worker holds (KCL's `LeaseRenewer`), on the schedule BullMQ's lock
 * manager used, so the store sees the same calls: every half renewal interval, one store call renews
 * each lease not renewed for more than half the interval. The interval is a third of the lease timeout:
 * a lease is renewed every sixth to third of it, and a renewal has over 40% of the timeout to answer
 * before the lease's send deadline (the timeout minus the safety margin) passes.
 *
 * Each renewal is stamped with the time it *started* (see `Lease`): the answer arrives after the lock
 * was set, and counting from the answer would let a worker send past the lock's real expiry. A lease
 * whose lock was gone or another's is lost at once. At most one renewal call is in flight.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import type { Lease } from './lease';
import type { LeaseRenewing, StoredLease } from './lease-store';

/** A held lease as the renewer tracks it. */
export interface HeldLease {
  readonly lease: Lease;
  readonly stored: StoredLease;
  /** When (clock time) the last renewal round that included it started. */
  renewedAt: number;
}

/** How often a held lease's lock is renewed at the most: a third of the lease timeout. */
export function renewalInterval(timeoutMs: number): number {
  return Math.floor(timeoutMs / 3);
}

export interface LeaseRenewerDeps {
  store: LeaseRenewing;
  /** The leases held now. */
  held(): Iterable<HeldLease>;
  /** Whether the lease is still held (an answer may come after its lease ended). */
  isHeld(lease: HeldLease): boolean;
  timeoutMs: number;
  clock: Clock;
  log: Logger;
}

export class LeaseRenewer {
  private readonly halfIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: LeaseRenewerDeps) {
    this.halfIntervalMs = renewalInterval(deps.timeoutMs) / 2;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renewDue().finally(() => this.schedule()), this.halfIntervalMs);
  }

  /** One round: renews, in one store call, every held lease not renewed for more than half the interval. */
  async renewDue(): Promise<void> {
    const { clock, store, log } = this.deps;
    const now = clock();
    const due: HeldLease[] = [];
    for (const held of this.deps.held()) {
      if (held.renewedAt + this.halfIntervalMs >= now) continue;
      held.renewedAt = now;
      due.push(held);
    }
    if (due.length === 0) return;
    const startedAt = clock();
    let failed: string[];
    try {
      failed = await store.renew(
        due.map((held) => held.stored),
        this.deps.timeoutMs,
      );
    } catch (err) {
      // Nothing is known: the leases' send deadlines decide.
      log.warn({ err: (err as Error).message, leases: due.length }, 'lock renewal failed; will try again');
      return;
    }
    const lost = new Set(failed);
    for (const held of due) {
      if (!lost.has(held.stored.leaseKey)) held.lease.renewed(startedAt);
      else if (this.deps.isHeld(held)) held.lease.lose('lock renewal failed: another worker may own the shard');
    }
  }
}
