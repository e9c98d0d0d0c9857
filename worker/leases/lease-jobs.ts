/**
 * The BullMQ side of leases, and nothing else: a lease is an active lease job, its lock is the lease.
 * This adapter takes lease jobs up to the capacity it is given, hands each to `hold` as a `Lease`, and
 * ends the job as the outcome says:
 *
 * - finished: the job completes (the shard is done for good);
 * - released: the job goes back to wait at once, so another worker takes it without a lease timeout;
 * - retry: the job goes back after a delay, with its failure count (a shard that keeps failing);
 * - lost: the job is left alone: it belongs to another worker now, and moving it would touch their lease.
 *
 * Lock renewals are stamped with the time they *started* (see `Lease`): BullMQ's own event arrives
 * after the answer, and counting from it would let a worker send past the lock's real expiry.
 */
import { Worker, WaitingError, DelayedError, type Job } from 'bullmq';
import type { RedisClient } from '../../shared/redis/connection';
import type { Logger } from '../../shared/logging';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import { LEASE_QUEUE, type AppKeys } from '../../shared/redis/keys';
import { Lease, monotonicClock, type Clock } from './lease';
import { LockRenewal } from './lock-renewal';

export type LeaseOutcome =
  | { type: 'finished' }
  | { type: 'released' }
  | { type: 'retry'; delayMs: number; failures: number }
  | { type: 'lost' };

/** What a worker does with a lease while it holds it. */
export type LeaseHandler = (lease: Lease, data: LeaseJobData) => Promise<LeaseOutcome>;

export interface LeaseJobsOptions {
  /** For BullMQ's blocking calls. */
  connection: RedisClient;
  /** For the lock renewals (non-blocking); default `connection`. */
  redis?: RedisClient;
  keys: AppKeys;
  workerId: string;
  leaseTimeoutMs: number;
  hold: LeaseHandler;
  log: Logger;
  clock?: Clock;
}

/**
 * A BullMQ worker that tells when each lock renewal started, not only when it answered, and renews its
 * locks with `LockRenewal` (fewer Redis commands per lock than BullMQ's script; same fencing).
 */
class LockStampingWorker extends Worker<LeaseJobData> {
  onRenewed: (jobIds: string[], startedAt: number) => void = () => undefined;
  clock: Clock = monotonicClock;
  renewal: LockRenewal | undefined;

  override async extendJobLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    const startedAt = this.clock();
    const failed = this.renewal ? await this.renewal.extend(this.keys.stalled, this.toKey(''), jobIds, tokens, duration) : await super.extendJobLocks(jobIds, tokens, duration);
    const renewed = failed.length === 0 ? jobIds : jobIds.filter((id) => !failed.includes(id));
    if (renewed.length > 0) this.onRenewed(renewed, startedAt);
    return failed;
  }
}

export class LeaseJobs {
  private readonly worker: LockStampingWorker;
  private readonly clock: Clock;
  /** The leases held now, by job id (the shard id). */
  readonly held = new Map<string, { lease: Lease; job: Job<LeaseJobData> }>();
  private capacity = 0;
  private started = false;
  private closing = false;

  constructor(private readonly opts: LeaseJobsOptions) {
    this.clock = opts.clock ?? monotonicClock;
    const timeout = opts.leaseTimeoutMs;
    this.worker = new LockStampingWorker(LEASE_QUEUE, (job, token) => this.run(job, token!), {
      connection: opts.connection,
      prefix: opts.keys.bullPrefix,
      name: opts.workerId,
      autorun: false,
      concurrency: 1,
      lockDuration: timeout,
      // Renewal every sixth to third of the timeout: a renewal then has over 40% of the timeout to answer
      // before the lease's send deadline (timeout minus the safety margin) passes.
      lockRenewTime: Math.floor(timeout / 3),
      // An expired lease is noticed within a quarter of the timeout, so failover takes at most ~1.25x it.
      stalledInterval: Math.max(250, Math.floor(timeout / 4)),
      // A stalled lease job is the normal failover path after a crash: it must go back to wait, never fail.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 1,
      removeOnComplete: { count: 100_000 },
    });
    this.worker.clock = this.clock;
    this.worker.renewal = new LockRenewal(opts.redis ?? opts.connection);
    this.worker.onRenewed = (jobIds, startedAt) => {
      for (const id of jobIds) this.held.get(id)?.lease.renewed(startedAt);
    };
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.held.get(id)?.lease.lose('lock renewal failed: another worker may own the shard');
    });
    this.worker.on('error', (err) => opts.log.warn({ err: err.message }, 'lease worker error'));
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  /** Starts taking leases, up to the capacity set so far (none until `setCapacity` gives some). */
  async start(): Promise<void> {
    this.started = true;
    if (this.capacity > 0) {
      this.worker.concurrency = this.capacity;
      void this.worker.run().catch((err) => this.opts.log.error({ err: (err as Error).message }, 'lease worker loop failed'));
    } else {
      // resume() starts the loop once there is a share to take.
      await this.worker.pause(true);
    }
  }

  /** How many leases may be held; 0 stops taking new ones. */
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

  /** Stops taking leases; `close` then waits for the held ones to end. */
  async pause(): Promise<void> {
    this.closing = true;
    await this.worker.pause(true);
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  /** Publishes a lease's progress on its job (the dashboard shows it); best effort. */
  async publishProgress(jobId: string, progress: object): Promise<void> {
    await this.held.get(jobId)?.job.updateProgress(progress).catch(() => undefined);
  }

  private async run(job: Job<LeaseJobData>, token: string): Promise<string> {
    // The fetch that set the lock may have been queued for long (a Redis outage): one renewal now gives
    // the lease a start it can count from, and finds out at once whether the lock is still ours.
    const acquiredAt = this.clock();
    const renewed = await job.extendLock(token, this.opts.leaseTimeoutMs).catch(() => 0);
    const lease = new Lease(job.data.shardId, token, { timeoutMs: this.opts.leaseTimeoutMs, clock: this.clock, acquiredAt });
    if (renewed !== 1) lease.lose('the lock was gone before the lease started');
    if (this.closing || lease.isLost) {
      lease.close();
      return this.end(job, token, lease, lease.isLost ? { type: 'lost' } : { type: 'released' });
    }
    this.held.set(job.id!, { lease, job });
    let outcome: LeaseOutcome;
    try {
      outcome = await this.opts.hold(lease, job.data);
    } finally {
      this.held.delete(job.id!);
      lease.close();
    }
    return this.end(job, token, lease, outcome);
  }

  private async end(job: Job<LeaseJobData>, token: string, lease: Lease, outcome: LeaseOutcome): Promise<string> {
    switch (outcome.type) {
      case 'finished':
        return 'finished';
      case 'lost':
        throw new WaitingError();
      case 'retry':
        await job.updateData({ ...job.data, failures: outcome.failures }).catch(() => undefined);
        await job.moveToDelayed(Date.now() + outcome.delayMs, token);
        throw new DelayedError();
      case 'released':
        // A lease that ran to a release read the shard fine: its failure count starts over.
        if (job.data.failures) await job.updateData({ ...job.data, failures: 0 }).catch(() => undefined);
        if (lease.isLost) throw new WaitingError();
        await job.moveToWait(token);
        throw new WaitingError();
    }
  }
}
