/**
 * The coordinator's port to the lease jobs: exactly one per shard, created by the leading coordinator's
 * discovery and held by workers (see worker/leases/lease-store.ts for theirs). `LeaseQueue` keeps them in
 * BullMQ; the discovery is unit-tested on an in-memory one (test/support/in-memory-lease-store.ts).
 */
import type { LeaseJobData } from '../shared/leases/lease-job';

export interface LeaseJobStore {
  /** Creates the lease jobs that do not exist yet; existing ones are left exactly as they are. Returns how many were created. */
  ensure(leases: readonly LeaseJobData[]): Promise<number>;
  /** Adds the hash-key range to existing lease jobs that have none (created by earlier versions). Returns how many were updated. */
  addHashKeyRanges(leases: readonly LeaseJobData[]): Promise<number>;
  /** Puts failed lease jobs of unfinished shards back to waiting (a lease job should never stay failed). Returns how many. */
  retryFailed(isFinished: (shardId: string) => boolean): Promise<number>;
  /** Removes the lease jobs of shards not in `listed` that no worker holds. Returns the removed shard ids. */
  removeUnlisted(listed: ReadonlySet<string>): Promise<string[]>;
}
