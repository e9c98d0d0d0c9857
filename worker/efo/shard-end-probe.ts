/**
 * Confirms a shard's end through the polling API. AWS ends a closed shard's subscription with an
 * event whose ContinuationSequenceNumber is null and which names the child shards; kinesis-local
 * instead keeps sending empty events. So while a subscription is idle, the EFO reader asks, now and
 * then: is there anything after the last continuation sequence number, and is there a next iterator?
 * An empty answer without one means the shard is finished (GetRecords names the children).
 */
import type { ShardFetcher } from '../../shared/aws/kinesis-gateway';
import type { Clock } from '../../shared/clock';

export interface ShardEnd {
  ended: boolean;
  childShardIds: string[];
}

export class ShardEndProbe {
  private nextProbeAt = 0;
  private idleProbes = 0;

  constructor(
    private readonly fetcher: ShardFetcher,
    private readonly streamArn: string,
    private readonly shardId: string,
    /** Monotonic time, for the probes' intervals. */
    private readonly clock: Clock,
    /** The first probe of an idle spell, then doubling up to the maximum. */
    private readonly minIntervalMs = 2000,
    private readonly maxIntervalMs = 30_000,
  ) {}

  /** Records arrived: the shard is busy; the next idle spell starts probing from the minimum again. */
  busy(): void {
    this.idleProbes = 0;
    this.nextProbeAt = this.clock() + this.minIntervalMs;
  }

  /** Probes when one is due; returns undefined when it is not. */
  async maybeProbe(afterSequence: string | undefined): Promise<ShardEnd | undefined> {
    if (afterSequence === undefined) return undefined;
    const now = this.clock();
    if (this.nextProbeAt === 0) this.nextProbeAt = now + this.minIntervalMs;
    if (now < this.nextProbeAt) return undefined;
    this.idleProbes += 1;
    this.nextProbeAt = now + Math.min(this.maxIntervalMs, this.minIntervalMs * 2 ** Math.min(this.idleProbes, 20));
    const iterator = await this.fetcher.getShardIterator(this.streamArn, this.shardId, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: afterSequence });
    if (!iterator) return { ended: true, childShardIds: [] };
    const result = await this.fetcher.getRecords(this.streamArn, this.shardId, iterator, 1);
    if (result.records.length > 0 || result.nextIterator) return { ended: false, childShardIds: [] };
    return { ended: true, childShardIds: result.childShardIds };
  }
}
