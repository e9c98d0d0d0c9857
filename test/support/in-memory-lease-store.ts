/**
 * Lease storage in memory, on an injected clock, for unit tests without Redis: the lease table every
 * process shares (what Redis holds), the coordinator's port to it (the table is a `LeaseJobStore`), a
 * worker's port (`table.worker(id, timeout)`, a `LeaseStore`). The published lease loads are in
 * in-memory-lease-loads.ts.
 *
 * It keeps the rules shardflow relies on in BullMQ: one job per shard of each stream, keyed by its lease
 * key (a bare shard id for a job of the single-stream layout, which has no `streamArn`), created once;
 * the tidy-up passes over the jobs no worker holds (neither active nor completed); a job taken is
 * locked with a fresh token for the lease timeout; a renewal extends only a lock that still holds its
 * token and has not expired; a lease ends in the store only with its lock's token; a lock that expired
 * leaves its job active until the stalled check (`checkStalled`) puts it back to waiting, never to
 * failed. Taking is immediate: whatever frees room or a job hands the next waiting job to the first
 * worker with room.
 */
import type { Clock } from '../../shared/clock';
import type { LeaseJobData } from '../../shared/leases/lease-job';
import type { LeaseJobStore, TidyVerdict, UnheldLeaseJob } from '../../coordinator/lease-job-store';
import { leaseKey } from '../../shared/redis/keys';
import type { LeaseCounts, LeaseStore, StoredLease } from '../../worker/leases/lease-store';

export type LeaseJobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed';

export interface LeaseJob {
  data: LeaseJobData;
  state: LeaseJobState;
  /** The lock's token, while a lock was set (it may have expired: see `lock`). */
  token?: string;
  lockExpiresAt?: number;
  /** When a delayed job may be taken again. */
  availableAt?: number;
  failedReason?: string;
  progress?: object;
}

export class InMemoryLeaseTable implements LeaseJobStore {
  readonly jobs = new Map<string, LeaseJob>();
  /** Waiting job ids, the next one to take first. */
  private waiting: string[] = [];
  private readonly workers: InMemoryLeaseStore[] = [];
  private tokens = 0;
  /** Every renewal call, in order: who, which leases (lease keys), and when it was asked. */
  readonly renewals: Array<{ worker: string; leaseKeys: string[]; at: number }> = [];
  /** How long a renewal takes to answer (a timer: jest's fake timers move it). */
  renewalLatencyMs = 0;
  /** Renewals reject, as when Redis is unreachable. */
  renewalsFail = false;

  constructor(readonly clock: Clock) {}

  /** A worker's port to the table (BullMQ: a Worker of the lease queue). */
  worker(id: string, leaseTimeoutMs: number): InMemoryLeaseStore {
    const store = new InMemoryLeaseStore(this, id, leaseTimeoutMs);
    this.workers.push(store);
    return store;
  }

  /** A job's key: its lease key when it names its stream, else (a job of the single-stream layout) its bare shard id. */
  static keyOf(data: LeaseJobData): string {
    return data.streamArn === undefined ? data.shardId : leaseKey(data.streamArn, data.shardId);
  }

  async ensure(leases: readonly LeaseJobData[]): Promise<number> {
    let created = 0;
    for (const data of leases) {
      const key = InMemoryLeaseTable.keyOf(data);
      if (this.jobs.has(key)) continue;
      this.jobs.set(key, { data: { ...data }, state: 'waiting' });
      this.waiting.push(key);
      created += 1;
    }
    this.offer();
    return created;
  }

  /** One pass over the jobs no worker holds (neither active nor completed): a failed one put back to waiting on 'retry', any removed on 'remove'. */
  async tidy(verdict: (job: UnheldLeaseJob) => TidyVerdict): Promise<{ removed: string[]; retried: number }> {
    const removed: string[] = [];
    let retried = 0;
    for (const [key, job] of [...this.jobs]) {
      if (job.state === 'active' || job.state === 'completed') continue;
      const decision = verdict({ id: key, failed: job.state === 'failed' });
      if (decision === 'retry' && job.state === 'failed') {
        this.toWaiting(key, job, 'back');
        retried += 1;
      } else if (decision === 'remove') {
        this.jobs.delete(key);
        this.waiting = this.waiting.filter((id) => id !== key);
        removed.push(key);
      }
    }
    this.offer();
    return { removed, retried };
  }

  /** The job's lock as a fencing script reads it: its token while the lock has not expired. */
  lock(key: string): string | undefined {
    const job = this.jobs.get(key);
    return job?.token !== undefined && job.lockExpiresAt !== undefined && this.clock() < job.lockExpiresAt ? job.token : undefined;
  }

  /** Another worker's token on the lock of a held lease (it took the shard after the lock expired). */
  steal(key: string): void {
    const job = this.jobs.get(key)!;
    job.token = `thief:${++this.tokens}`;
    job.lockExpiresAt = this.clock() + 60_000;
  }

  /** Puts a waiting job off for `ms` (as a worker's retry later does). */
  delay(key: string, ms: number): void {
    const job = this.jobs.get(key)!;
    this.waiting = this.waiting.filter((id) => id !== key);
    job.state = 'delayed';
    job.availableAt = this.clock() + ms;
  }

  /** BullMQ's stalled check: an active job whose lock expired goes back to waiting (never to failed). */
  checkStalled(): string[] {
    const stalled = [...this.jobs].filter(([key, job]) => job.state === 'active' && this.lock(key) === undefined).map(([key]) => key);
    for (const key of stalled) this.toWaiting(key, this.jobs.get(key)!, 'back');
    this.offer();
    return stalled;
  }

  /** Delayed jobs whose time has come wait again, and waiting jobs go to workers with room. */
  offer(): void {
    for (const [key, job] of this.jobs) if (job.state === 'delayed' && job.availableAt! <= this.clock()) this.toWaiting(key, job, 'back');
    for (const worker of this.workers) {
      while (worker.room > 0 && this.waiting.length > 0) {
        const key = this.waiting.shift()!;
        const job = this.jobs.get(key)!;
        job.state = 'active';
        job.token = `${worker.id}:${++this.tokens}`;
        job.lockExpiresAt = this.clock() + worker.leaseTimeoutMs;
        worker.hand({ leaseKey: key, token: job.token, data: job.data });
      }
    }
  }

  count(): LeaseCounts {
    const states = [...this.jobs.values()].map((job) => job.state);
    return { held: states.filter((s) => s === 'active').length, waiting: this.waiting.length, delayed: states.filter((s) => s === 'delayed').length };
  }

  /** Renews the locks that still hold their tokens; returns the lease keys of the others. */
  renew(leases: readonly StoredLease[], durationMs: number): string[] {
    const failed: string[] = [];
    for (const lease of leases) {
      const job = this.jobs.get(lease.leaseKey);
      if (job && this.lock(lease.leaseKey) === lease.token) job.lockExpiresAt = this.clock() + durationMs;
      else failed.push(lease.leaseKey);
    }
    return failed;
  }

  /** Applies an end to a held job, only with its lock's token (as BullMQ's scripts check it). */
  end(lease: StoredLease, change: (job: LeaseJob) => void): void {
    const job = this.jobs.get(lease.leaseKey);
    if (job?.state === 'active' && this.lock(lease.leaseKey) === lease.token) {
      job.token = undefined;
      job.lockExpiresAt = undefined;
      change(job);
    }
    this.offer();
  }

  toWaiting(key: string, job: LeaseJob, where: 'front' | 'back'): void {
    job.state = 'waiting';
    job.token = undefined;
    job.lockExpiresAt = undefined;
    if (where === 'front') this.waiting.unshift(key);
    else this.waiting.push(key);
  }
}

/** One worker's port to the table. */
export class InMemoryLeaseStore implements LeaseStore {
  /** The leases handed out and not ended yet. */
  readonly taken = new Set<StoredLease>();
  private capacity = 0;
  private started = false;
  private paused = false;
  private onTaken: (lease: StoredLease) => void = () => undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly table: InMemoryLeaseTable,
    readonly id: string,
    readonly leaseTimeoutMs: number,
  ) {}

  /** How many more leases this worker takes now. */
  get room(): number {
    return this.started && !this.paused ? this.capacity - this.taken.size : 0;
  }

  hand(lease: StoredLease): void {
    this.taken.add(lease);
    this.onTaken(lease);
  }

  async start(onTaken: (lease: StoredLease) => void): Promise<void> {
    this.onTaken = onTaken;
    this.started = true;
    this.table.offer();
  }

  async setCapacity(leases: number): Promise<void> {
    if (this.paused) return;
    this.capacity = leases;
    this.table.offer();
  }

  async pause(): Promise<void> {
    this.paused = true;
  }

  async close(): Promise<void> {
    this.paused = true;
    if (this.taken.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  async renew(leases: readonly StoredLease[], durationMs: number): Promise<string[]> {
    const { table } = this;
    table.renewals.push({ worker: this.id, leaseKeys: leases.map((l) => l.leaseKey), at: table.clock() });
    if (table.renewalLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, table.renewalLatencyMs));
    if (table.renewalsFail) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return table.renew(leases, durationMs);
  }

  async release(lease: StoredLease): Promise<void> {
    this.ended(lease, (job) => {
      if (job.data.failures) job.data = { ...job.data, failures: 0 };
      this.table.toWaiting(lease.leaseKey, job, 'front');
    });
  }

  async retryLater(lease: StoredLease, delayMs: number, failures: number): Promise<void> {
    this.ended(lease, (job) => {
      job.data = { ...job.data, failures };
      job.state = 'delayed';
      job.availableAt = this.table.clock() + delayMs;
    });
  }

  async complete(lease: StoredLease): Promise<void> {
    this.ended(lease, (job) => (job.state = 'completed'));
  }

  async fail(lease: StoredLease, err: Error): Promise<void> {
    this.ended(lease, (job) => {
      job.state = 'failed';
      job.failedReason = err.message;
    });
  }

  async abandon(lease: StoredLease): Promise<void> {
    // A lost lease is left exactly as it is, whoever holds its lock now.
    this.ended(lease);
  }

  async count(): Promise<LeaseCounts> {
    return this.table.count();
  }

  async publishProgress(lease: StoredLease, progress: object): Promise<void> {
    const job = this.table.jobs.get(lease.leaseKey);
    if (job) job.progress = progress;
  }

  private ended(lease: StoredLease, change?: (job: LeaseJob) => void): void {
    if (!this.taken.delete(lease)) return;
    if (change) this.table.end(lease, change);
    else this.table.offer();
    if (this.taken.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }
}
