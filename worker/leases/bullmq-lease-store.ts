/**
 * The lease store on BullMQ (the port is lease-store.ts): a lease is an active job of the `leases`
 * queue, the job's lock is the lease and the lock's token the fencing token. The only code on the
 * worker's side that knows BullMQ.
 *
 * - Taking: BullMQ's manual fetching (a Worker without a processor, `getNextJob`), driven by
 *   `LeaseTaker`, which asks for several waiting jobs at once (one pipelined round trip) up to the
 *   capacity, and blocks on the queue's marker when none wait. BullMQ's stalled check runs as in its
 *   own loop (`startStalledCheckTimer`).
 * - Renewing: `LockRenewal`, one script for all the leases of a round. BullMQ's own lock manager is off:
 *   the lease loop decides when to renew (`LeaseRenewer`) and stamps each renewal with its start.
 * - Ending: release moves the job back to wait (`moveToWait`); retry moves it to delayed with its
 *   failure count; complete and fail move it to completed or failed (with the Worker's options, as its
 *   own loop would); abandon leaves it exactly as it is.
 * - A stalled lease job (its worker died) goes back to wait and never fails (`maxStalledCount`): a stall
 *   is the normal failover path.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import type { RedisClient } from '../../shared/redis/connection';
import { LEASE_QUEUE, type AppKeys } from '../../shared/redis/keys';
import type { LeaseCounts, LeaseStore, StoredLease } from './lease-store';
import { LeaseTaker, type LeaseSource } from './lease-taker';
import { LockRenewal } from './lock-renewal';

export interface BullmqLeaseStoreOptions {
  /** For BullMQ's blocking calls. */
  connection: RedisClient;
  /** For lock renewals and counts (non-blocking). */
  redis: RedisClient;
  keys: AppKeys;
  workerId: string;
  leaseTimeoutMs: number;
  /** Wall-clock time: BullMQ's delays are dates. */
  wallClock: Clock;
  log: Logger;
}

export class BullmqLeaseStore implements LeaseStore, LeaseSource {
  private readonly worker: Worker<LeaseJobData, string>;
  private readonly queue: Queue<LeaseJobData>;
  private readonly renewal: LockRenewal;
  private readonly taker: LeaseTaker;
  /** The jobs taken and not ended yet. */
  private readonly taken = new Map<StoredLease, Job<LeaseJobData>>();
  /** Leases whose end is being written: they count against the capacity until it is. */
  private ending = 0;
  /** Resolved when no lease is held or ending (close waits for it). */
  private allEnded: (() => void) | undefined;
  private onTaken: (lease: StoredLease) => void = () => undefined;
  private closing = false;
  private tokens = 0;

  constructor(private readonly opts: BullmqLeaseStoreOptions) {
    const timeout = opts.leaseTimeoutMs;
    // No processor: jobs are fetched by `getNextJob` (BullMQ's manual fetching pattern).
    this.worker = new Worker<LeaseJobData, string>(LEASE_QUEUE, null, {
      connection: opts.connection,
      prefix: opts.keys.bullPrefix,
      name: opts.workerId,
      lockDuration: timeout,
      // The lease loop renews the locks (LeaseRenewer, through `renew` below).
      skipLockRenewal: true,
      // An expired lease is noticed within a quarter of the timeout, so failover takes at most ~1.25x it.
      stalledInterval: Math.max(250, Math.floor(timeout / 4)),
      // A stalled lease job is the normal failover path after a crash: it must go back to wait, never fail.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      // The longest block on the queue's marker when no lease job waits (seconds).
      drainDelay: 1,
      removeOnComplete: { count: 100_000 },
    });
    this.worker.on('error', (err) => opts.log.warn({ err: err.message }, 'lease worker error'));
    this.queue = new Queue<LeaseJobData>(LEASE_QUEUE, { connection: opts.redis, prefix: opts.keys.bullPrefix });
    this.renewal = new LockRenewal(opts.redis, opts.keys);
    this.taker = new LeaseTaker({ source: this, held: () => this.taken.size + this.ending, onTaken: (lease) => this.onTaken(lease), log: opts.log });
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  async start(onTaken: (lease: StoredLease) => void): Promise<void> {
    this.onTaken = onTaken;
    await this.worker.startStalledCheckTimer();
    this.taker.start();
  }

  async setCapacity(leases: number): Promise<void> {
    if (!this.closing) this.taker.setCapacity(leases);
  }

  async pause(): Promise<void> {
    this.closing = true;
    this.taker.setCapacity(0);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.taker.setCapacity(0);
    await this.heldEnded();
    // Closing the Worker ends a fetch blocked on the queue's marker; a job such a fetch took just
    // before is handed on like any (the lease loop releases it when closing), so wait for it too.
    await this.worker.close();
    await this.taker.stop();
    await this.heldEnded();
    await this.queue.close();
  }

  private heldEnded(): Promise<void> {
    if (this.taken.size + this.ending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.allEnded = resolve));
  }

  async takeWaiting(count: number): Promise<StoredLease[]> {
    // Issued together, the calls share one write and one read on the connection (ioredis pipelines them).
    const fetched = await Promise.allSettled(Array.from({ length: count }, () => this.fetch(false)));
    const leases = fetched.flatMap((f) => (f.status === 'fulfilled' && f.value ? [f.value] : []));
    const failed = fetched.find((f): f is PromiseRejectedResult => f.status === 'rejected');
    // A partial failure hands on what was taken; the next call finds out whether Redis still answers.
    if (failed && leases.length === 0) throw failed.reason;
    return leases;
  }

  awaitOne(): Promise<StoredLease | undefined> {
    return this.fetch(true);
  }

  renew(leases: readonly StoredLease[], durationMs: number): Promise<string[]> {
    return this.renewal.extend(
      leases.map((lease) => lease.leaseKey),
      leases.map((lease) => lease.token),
      durationMs,
    );
  }

  release(lease: StoredLease): Promise<void> {
    return this.end(lease, async (job) => {
      if (job.data.failures) await job.updateData({ ...job.data, failures: 0 }).catch(() => undefined);
      await job.moveToWait(lease.token);
    });
  }

  retryLater(lease: StoredLease, delayMs: number, failures: number): Promise<void> {
    return this.end(lease, async (job) => {
      await job.updateData({ ...job.data, failures }).catch(() => undefined);
      await job.moveToDelayed(this.opts.wallClock() + delayMs, lease.token);
    });
  }

  complete(lease: StoredLease): Promise<void> {
    return this.end(lease, (job) => job.moveToCompleted('finished', lease.token, false));
  }

  fail(lease: StoredLease, err: Error): Promise<void> {
    return this.end(lease, (job) => job.moveToFailed(err, lease.token, false));
  }

  abandon(lease: StoredLease): Promise<void> {
    return this.end(lease, () => undefined);
  }

  async count(): Promise<LeaseCounts> {
    const counts = await this.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    return { held: counts.active ?? 0, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts['waiting-children'] ?? 0), delayed: counts.delayed ?? 0 };
  }

  async publishProgress(lease: StoredLease, progress: object): Promise<void> {
    await this.taken.get(lease)?.updateProgress(progress).catch(() => undefined);
  }

  /** Takes the next waiting job with a fresh token (blocking on the queue's marker when asked to wait). */
  private async fetch(block: boolean): Promise<StoredLease | undefined> {
    const token = `${this.worker.id}:${this.tokens++}`;
    const job = await this.worker.getNextJob(token, { block });
    if (!job) return undefined;
    // The job id is the lease key, `<stream key>|<shard id>` (coordinator/lease-queue.ts).
    const lease: StoredLease = { leaseKey: job.id!, token, data: job.data };
    this.taken.set(lease, job);
    return lease;
  }

  /**
   * Ends a taken lease as `how` says. A move that fails is logged and left: the lease's lock expires
   * and the stalled check puts it back to waiting (the port's failover path).
   */
  private async end(lease: StoredLease, how: (job: Job<LeaseJobData>) => Promise<unknown> | void): Promise<void> {
    const job = this.taken.get(lease);
    if (!job) return;
    this.taken.delete(lease);
    this.ending++;
    try {
      await how(job);
    } catch (err) {
      this.opts.log.warn({ leaseKey: lease.leaseKey, err: (err as Error).message }, 'ending the lease in Redis failed; its lock expires and the lease goes back to waiting');
    } finally {
      this.ending--;
      this.taker.ended();
      if (this.taken.size + this.ending === 0) this.allEnded?.();
    }
  }
}
