/**
 * The lease storage port: what a worker's lease loop needs from wherever leases live, and nothing about
 * how. A lease is one shard's lease job, held while the store's lock on it holds the token it was taken
 * with; every checkpoint write and renewal is fenced by that token.
 *
 * The operations are split by who needs them, as BullMQ states what each collaborator needs
 * (`LockManagerWorkerContext`) and KCL splits `LeaseTaker` / `LeaseRenewer` / `LeaseRefresher`:
 * taking (up to a capacity), renewing, ending (release, retry later, complete, fail, abandon) and
 * counting. `BullmqLeaseStore` is the production store; tests use an in-memory one on a fake clock
 * (test/support/in-memory-lease-store.ts).
 */
import type { LeaseJobData } from '../../shared/leases/lease-job';

/** A lease as the store handed it out. The store knows it by this object until the lease ends. */
export interface StoredLease {
  readonly leaseKey: string;
  /** The lock's token: the fencing token of every write for this lease. */
  readonly token: string;
  readonly data: LeaseJobData;
}

/** How many lease jobs are in each state, all workers together. */
export interface LeaseCounts {
  /** Held by a worker (BullMQ: active). */
  held: number;
  /** Held by nobody: the next worker with room takes them. */
  waiting: number;
  /** Put back to be taken again after a delay (a shard that failed). */
  delayed: number;
}

/** Takes leases as they become available, never more than the capacity held at once. */
export interface LeaseTaking {
  /**
   * Starts taking leases, up to the capacity set so far (none until `setCapacity` gives some), and
   * hands each to `onTaken` once. A lease counts against the capacity until one of `LeaseEnding`'s
   * calls ends it.
   */
  start(onTaken: (lease: StoredLease) => void): Promise<void>;
  /** How many leases may be held; 0 stops taking new ones (held ones stay held). */
  setCapacity(leases: number): Promise<void>;
  /** Stops taking leases for good (capacity changes do nothing from then on); `close` then waits for the held ones to end. */
  pause(): Promise<void>;
  /** Resolves once every lease taken has ended; the store takes nothing more. */
  close(): Promise<void>;
}

/** Renews held leases' locks. */
export interface LeaseRenewing {
  /**
   * Extends each lease's lock to `durationMs` from now, in one call, where it still holds the lease's
   * token; resolves with the shard ids whose lock was gone or another's (those leases are lost).
   * Rejects when the store could not be asked (nothing is known then).
   */
  renew(leases: readonly StoredLease[], durationMs: number): Promise<string[]>;
}

/**
 * Ends a lease: one of these per lease taken, after which it no longer counts against the capacity.
 * None rejects: a store that fails to record the end lets the lease's lock expire instead, and the
 * lease goes back to waiting after the lease timeout (the failover path).
 */
export interface LeaseEnding {
  /** Back to waiting at once, so another worker takes it without a lease timeout; its failure count starts over. */
  release(lease: StoredLease): Promise<void>;
  /** Back to waiting after `delayMs`, recording `failures` (consecutive failed holds) for the next holder's backoff. */
  retryLater(lease: StoredLease, delayMs: number, failures: number): Promise<void>;
  /** The shard is finished for good: the lease is never taken again. */
  complete(lease: StoredLease): Promise<void>;
  /** The holder failed unexpectedly: the lease job fails, and the coordinator puts it back at its next discovery. */
  fail(lease: StoredLease, err: Error): Promise<void>;
  /**
   * The lease was lost: leave it exactly as it is, since it may belong to another worker now; its
   * lock expires and the store's stalled check puts it back if nobody holds it.
   */
  abandon(lease: StoredLease): Promise<void>;
}

/** Counts the lease jobs (the balancer's fair share, the dashboard). */
export interface LeaseCounting {
  count(): Promise<LeaseCounts>;
}

/** Publishes a held lease's progress on its job (the dashboard shows it); best effort. */
export interface LeaseProgress {
  publishProgress(lease: StoredLease, progress: object): Promise<void>;
}

export interface LeaseStore extends LeaseTaking, LeaseRenewing, LeaseEnding, LeaseCounting, LeaseProgress {}

/** The lease jobs not finished: the shards to share out. */
export function unfinished(counts: LeaseCounts): number {
  return counts.held + counts.waiting + counts.delayed;
}
