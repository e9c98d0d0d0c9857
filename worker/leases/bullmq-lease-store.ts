/**
 * The lease store on BullMQ (the port is lease-store.ts): a lease is an active job of the `leases`
 * queue, the job's lock is the lease and the lock's token the fencing token. The only code on the
 * worker's side that knows BullMQ.
 *
 * - Taking: a BullMQ Worker whose concurrency is the capacity. Its processor hands each job over and
 *   stays pending until the lease ends, so BullMQ counts the job against the concurrency until then.
 * - Renewing: `LockRenewal`, one script for all the leases of a round. BullMQ's own lock manager is off:
 *   the lease loop decides when to renew (`LeaseRenewer`) and stamps each renewal with its start.
 * - Ending: release moves the job back to wait (`moveToWait`) and ends the processor with a
 *   `WaitingError`; retry moves it to delayed with its failure count and ends with a `DelayedError`;
 *   complete returns from the processor (BullMQ completes the job); fail throws the holder's error
 *   (BullMQ fails the job); abandon ends with a `WaitingError` and no move, which BullMQ leaves alone.
 * - A stalled lease job (its worker died) goes back to wait and never fails (`maxStalledCount`): a stall
 *   is the normal failover path.
 */
import { Queue, Worker, WaitingError, DelayedError, type Job } from 'bullmq';
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import type { RedisClient } from '../../shared/redis/connection';
import { LEASE_QUEUE, type AppKeys } from '../../shared/redis/keys';
import type { LeaseCounts, LeaseStore, StoredLease } from './lease-store';
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

/** A job taken and not ended yet: its pending processor call, to settle when the lease ends. */
interface Taken {
  job: Job<LeaseJobData>;
  resolve: (result: string) => void;
  reject: (err: Error) => void;
}

export class BullmqLeaseStore implements LeaseStore {
  private readonly worker: Worker<LeaseJobData, string>;
  private readonly queue: Queue<LeaseJobData>;
  private readonly renewal: LockRenewal;
  private readonly taken = new Map<StoredLease, Taken>();
  private onTaken: (lease: StoredLease) => void = () => undefined;
  private capacity = 0;
  private started = false;
  private closing = false;

  constructor(private readonly opts: BullmqLeaseStoreOptions) {
    const timeout = opts.leaseTimeoutMs;
    this.worker = new Worker<LeaseJobData, string>(LEASE_QUEUE, (job, token) => this.process(job, token!), {
      connection: opts.connection,
      prefix: opts.keys.bullPrefix,
      name: opts.workerId,
      autorun: false,
      concurrency: 1,
      lockDuration: timeout,
      // The lease loop renews the locks (LeaseRenewer, through `renew` below).
      skipLockRenewal: true,
      // An expired lease is noticed within a quarter of the timeout, so failover takes at most ~1.25x it.
      stalledInterval: Math.max(250, Math.floor(timeout / 4)),
      // A stalled lease job is the normal failover path after a crash: it must go back to wait, never fail.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 1,
      removeOnComplete: { count: 100_000 },
    });
    this.worker.on('error', (err) => opts.log.warn({ err: err.message }, 'lease worker error'));
    this.queue = new Queue<LeaseJobData>(LEASE_QUEUE, { connection: opts.redis, prefix: opts.keys.bullPrefix });
    this.renewal = new LockRenewal(opts.redis, opts.keys);
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  async start(onTaken: (lease: StoredLease) => void): Promise<void> {
    this.onTaken = onTaken;
    this.started = true;
    if (this.capacity > 0) {
      this.worker.concurrency = this.capacity;
      void this.worker.run().catch((err) => this.opts.log.error({ err: (err as Error).message }, 'lease worker loop failed'));
    } else {
      // resume() starts the loop once there is a share to take.
      await this.worker.pause(true);
    }
  }

  async setCapacity(leases: number): Promise<void> {
    if (this.closing || leases === this.capacity) return;
    const grow = leases > this.capacity;
    this.capacity = leases;
    if (!this.started) return; // start() applies the first share
    if (leases === 0) {
      await this.worker.pause(true);
      return;
    }
    this.worker.concurrency = leases;
    // BullMQ's fetch loop only sees a higher concurrency once it wakes up; pause+resume wakes it.
    if (grow || this.worker.isPaused()) {
      await this.worker.pause(true);
      await this.worker.resume();
    }
  }

  async pause(): Promise<void> {
    this.closing = true;
    await this.worker.pause(true);
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }

  renew(leases: readonly StoredLease[], durationMs: number): Promise<string[]> {
    return this.renewal.extend(
      leases.map((lease) => lease.leaseKey),
      leases.map((lease) => lease.token),
      durationMs,
    );
  }

  async release(lease: StoredLease): Promise<void> {
    await this.end(lease, async ({ job, reject }) => {
      if (job.data.failures) await job.updateData({ ...job.data, failures: 0 }).catch(() => undefined);
      await job.moveToWait(lease.token);
      reject(new WaitingError());
    });
  }

  async retryLater(lease: StoredLease, delayMs: number, failures: number): Promise<void> {
    await this.end(lease, async ({ job, reject }) => {
      await job.updateData({ ...job.data, failures }).catch(() => undefined);
      await job.moveToDelayed(this.opts.wallClock() + delayMs, lease.token);
      reject(new DelayedError());
    });
  }

  async complete(lease: StoredLease): Promise<void> {
    await this.end(lease, ({ resolve }) => resolve('finished'));
  }

  async fail(lease: StoredLease, err: Error): Promise<void> {
    await this.end(lease, ({ reject }) => reject(err));
  }

  async abandon(lease: StoredLease): Promise<void> {
    await this.end(lease, ({ reject }) => reject(new WaitingError()));
  }

  async count(): Promise<LeaseCounts> {
    const counts = await this.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    return { held: counts.active ?? 0, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts['waiting-children'] ?? 0), delayed: counts.delayed ?? 0 };
  }

  async publishProgress(lease: StoredLease, progress: object): Promise<void> {
    await this.taken.get(lease)?.job.updateProgress(progress).catch(() => undefined);
  }

  private process(job: Job<LeaseJobData>, token: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      // The job id is the lease key, `<stream key>|<shard id>` (coordinator/lease-queue.ts).
      const lease: StoredLease = { leaseKey: job.id!, token, data: job.data };
      this.taken.set(lease, { job, resolve, reject });
      this.onTaken(lease);
    });
  }

  /**
   * Ends a taken lease's processor call as `how` says. A move that fails ends it with that error, which
   * BullMQ takes as the job's failure (as it did when the processor itself awaited the move).
   */
  private async end(lease: StoredLease, how: (taken: Taken) => Promise<void> | void): Promise<void> {
    const taken = this.taken.get(lease);
    if (!taken) return;
    this.taken.delete(lease);
    try {
      await how(taken);
    } catch (err) {
      taken.reject(err as Error);
    }
  }
}
