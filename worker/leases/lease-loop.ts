/**
 * A worker's lease loop: takes leases from the lease store (up to the capacity the balancer sets),
 * starts each with a renewal of its own, hands it to `hold` as a `Lease`, keeps its lock renewed
 * (`LeaseRenewer`), and ends it in the store as the holder's outcome says:
 *
 * - finished: complete (the shard is done for good);
 * - released: back to waiting at once, so another worker takes it without a lease timeout;
 * - retry: back to waiting after a delay, with its failure count (a shard that keeps failing);
 * - lost: left alone: it belongs to another worker now, and moving it would touch their lease (a lease
 *   released after it was lost is left alone too).
 *
 * It knows no storage: `LeaseStore` (lease-store.ts) is the port, BullMQ is behind `BullmqLeaseStore`.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { Lease } from './lease';
import { LeaseRenewer, type HeldLease } from './lease-renewer';
import type { LeaseStore, StoredLease } from './lease-store';

export type LeaseOutcome =
  | { type: 'finished' }
  | { type: 'released' }
  | { type: 'retry'; delayMs: number; failures: number }
  | { type: 'lost' };

/** What a worker does with a lease while it holds it. */
export type LeaseHandler = (lease: Lease, data: LeaseJobData) => Promise<LeaseOutcome>;

export interface LeaseLoopDeps {
  store: LeaseStore;
  leaseTimeoutMs: number;
  hold: LeaseHandler;
  /** Monotonic time, for the leases' deadlines and the renewals' stamps. */
  clock: Clock;
  log: Logger;
}

export class LeaseLoop {
  /** The leases held now, by shard id, oldest first. */
  private readonly held = new Map<string, HeldLease>();
  private readonly renewer: LeaseRenewer;
  private closing = false;

  constructor(private readonly deps: LeaseLoopDeps) {
    this.renewer = new LeaseRenewer({
      store: deps.store,
      held: () => this.held.values(),
      isHeld: (held) => this.held.get(held.stored.leaseKey) === held,
      timeoutMs: deps.leaseTimeoutMs,
      clock: deps.clock,
      log: deps.log,
    });
  }

  /** The leases held now, oldest first. */
  get leases(): Lease[] {
    return [...this.held.values()].map((held) => held.lease);
  }

  /** Starts renewing and taking leases, up to the capacity set so far. */
  async start(): Promise<void> {
    this.renewer.start();
    await this.deps.store.start((lease) => {
      this.take(lease).catch((err) => this.deps.log.error({ leaseKey: lease.leaseKey, err: (err as Error).message }, 'ending the lease failed'));
    });
  }

  /** How many leases may be held; 0 stops taking new ones. */
  setCapacity(leases: number): Promise<void> {
    return this.deps.store.setCapacity(leases);
  }

  /** Stops taking leases; a lease the store hands over after this is released at once. */
  async pause(): Promise<void> {
    this.closing = true;
    await this.deps.store.pause();
  }

  /** Waits for every held lease to end (stop them first), then stops renewing. */
  async close(): Promise<void> {
    await this.deps.store.close();
    this.renewer.stop();
  }

  /** Publishes a held lease's progress (the dashboard shows it); best effort. */
  async publishProgress(leaseKey: string, progress: object): Promise<void> {
    const held = this.held.get(leaseKey);
    if (held) await this.deps.store.publishProgress(held.stored, progress);
  }

  private async take(stored: StoredLease): Promise<void> {
    const { store, clock, leaseTimeoutMs } = this.deps;
    // The call that took the lock may have waited long (a Redis outage): one renewal now gives the
    // lease a start it can count from, and finds out at once whether the lock is still ours.
    const acquiredAt = clock();
    const failed = await store.renew([stored], leaseTimeoutMs).catch(() => [stored.leaseKey]);
    const lease = new Lease(stored.leaseKey, stored.token, { timeoutMs: leaseTimeoutMs, clock, acquiredAt });
    if (failed.length > 0) lease.lose('the lock was gone before the lease started');
    if (this.closing || lease.isLost) {
      lease.close();
      return this.end(stored, lease, lease.isLost ? { type: 'lost' } : { type: 'released' });
    }
    const held: HeldLease = { lease, stored, renewedAt: acquiredAt };
    this.held.set(stored.leaseKey, held);
    let outcome: LeaseOutcome | Error;
    try {
      outcome = await this.deps.hold(lease, stored.data);
    } catch (err) {
      outcome = err instanceof Error ? err : new Error(String(err));
    } finally {
      if (this.held.get(stored.leaseKey) === held) this.held.delete(stored.leaseKey);
      lease.close();
    }
    if (outcome instanceof Error) {
      this.deps.log.error({ leaseKey: stored.leaseKey, err: outcome.message }, 'holding the lease failed; its lease job fails, and the coordinator puts it back at its next discovery');
      return store.fail(stored, outcome);
    }
    return this.end(stored, lease, outcome);
  }

  private end(stored: StoredLease, lease: Lease, outcome: LeaseOutcome): Promise<void> {
    const { store } = this.deps;
    switch (outcome.type) {
      case 'finished':
        return store.complete(stored);
      case 'retry':
        return store.retryLater(stored, outcome.delayMs, outcome.failures);
      case 'released':
        return lease.isLost ? store.abandon(stored) : store.release(stored);
      case 'lost':
        return store.abandon(stored);
    }
  }
}
