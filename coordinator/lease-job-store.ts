/**
 * The coordinator's port to the lease jobs: exactly one per shard of each input stream (the job id is the
 * lease key, `<stream key>|<shard id>`), created by the leading coordinator's discovery and held by
 * workers (see worker/leases/lease-store.ts for theirs). `LeaseQueue` keeps them in BullMQ; the discovery
 * is unit-tested on an in-memory one (test/support/in-memory-lease-store.ts).
 */
import type { LeaseJobData } from '../shared/leases/lease-job';

/** A lease job no worker holds, as the round's tidy-up sees it. */
export interface UnheldLeaseJob {
  /** Its lease key (the job id). */
  id: string;
  /** Failed jobs are put back (a lease job should never stay failed); the others wait or are delayed. */
  failed: boolean;
}

/** What the tidy-up does with an unheld lease job. */
export type TidyVerdict = 'keep' | 'retry' | 'remove';

export interface LeaseJobStore {
  /** Creates the lease jobs (each with its `streamArn`) that do not exist yet; existing ones are left exactly as they are. Returns how many were created. */
  ensure(leases: readonly LeaseJobData[]): Promise<number>;
  /**
   * One pass over the lease jobs no worker holds: each is kept, put back to waiting (a failed one) or
   * removed, as `verdict` says. A job a worker takes meanwhile is left alone. Returns the ids removed.
   */
  tidy(verdict: (job: UnheldLeaseJob) => TidyVerdict): Promise<{ removed: string[]; retried: number }>;
}
