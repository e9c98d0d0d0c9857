/**
 * The discovery round's tidy-up of the lease jobs no worker holds, in one pass over the queue for every
 * stream (lease-job-store.ts `tidy`): a failed job of an unfinished shard goes back to waiting; a job is
 * removed when its stream is not read any more (removed from the configuration, or deleted in Kinesis),
 * when it is a lease job of the single-stream layout (its id is a bare shard id: the layout upgrade made
 * new ones), or when its stream was listed in this round without its shard (trimmed past retention, which
 * is reported: records after the shard's checkpoint may have been lost). Jobs of streams not discovered
 * this round are kept. Pure decisions, I/O through the store and the checkpoint lookup.
 */
import type { Logger } from '../shared/logging';
import { metrics } from '../shared/metrics';
import { parseLeaseKey, streamKey } from '../shared/redis/keys';
import type { LeaseJobStore, TidyVerdict, UnheldLeaseJob } from './lease-job-store';
import type { DiscoveryRound } from './input-streams';

export interface TidyDeps {
  leases: Pick<LeaseJobStore, 'tidy'>;
  /** The shard's checkpoint, for the report of a trimmed shard. */
  checkpoint(streamArn: string, shardId: string): Promise<string | undefined>;
  log: Logger;
}

export async function tidyLeaseJobs(round: Pick<DiscoveryRound, 'listings' | 'readable'>, deps: TidyDeps): Promise<{ removed: number; retried: number }> {
  const listings = new Map(round.listings.map((l) => [streamKey(l.streamArn), l]));
  const trimmed = new Map<string, { streamArn: string; shardId: string }>();
  const verdict = (job: UnheldLeaseJob): TidyVerdict => {
    const parsed = parseLeaseKey(job.id);
    if (!parsed || !round.readable.has(parsed.streamKey)) return 'remove';
    const listing = listings.get(parsed.streamKey);
    if (!listing) return 'keep';
    if (!listing.listed.has(parsed.shardId)) {
      if (!listing.finished.has(parsed.shardId)) trimmed.set(job.id, { streamArn: listing.streamArn, shardId: parsed.shardId });
      return 'remove';
    }
    return job.failed && !listing.finished.has(parsed.shardId) ? 'retry' : 'keep';
  };
  const { removed, retried } = await deps.leases.tidy(verdict);
  for (const id of removed) {
    const shard = trimmed.get(id);
    if (!shard) continue;
    metrics().shardsTrimmed.inc({ stream: shard.streamArn });
    const checkpoint = await deps.checkpoint(shard.streamArn, shard.shardId);
    deps.log.error({ stream: shard.streamArn, shardId: shard.shardId, checkpoint: checkpoint ?? null }, "shard no longer listed (trimmed past the stream's retention period before it was read to its end): removed its lease; records after its checkpoint may have been lost");
  }
  return { removed: removed.length, retried };
}
