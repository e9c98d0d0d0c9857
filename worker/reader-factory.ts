/**
 * Makes the reader of one lease: POLLING or EFO as configured, always behind the de-aggregating
 * reader, starting where the checkpoint (or the lease's initial position) says.
 *
 * The shard-end probe is a workaround for emulators (kinesis-local keeps sending empty events on a
 * closed shard instead of the end event AWS sends); it is used only with a custom endpoint.
 */
import type { InputStreamConfig } from '../shared/config/app-config';
import type { KinesisGateway } from '../shared/aws/kinesis-gateway';
import type { Logger } from '../shared/logging';
import type { LeaseJobData } from '../shared/leases/lease-job';
import { DeaggregatingReader } from './deaggregation/deaggregating-reader';
import { hashKeyRangeOf } from './deaggregation/deaggregate';
import type { ConsumerArnSource } from './efo/efo-reader';
import { EfoReader } from './efo/efo-reader';
import { ShardEndProbe } from './efo/shard-end-probe';
import { PollingReader } from './polling/polling-reader';
import type { Resume, ShardReader } from './shard-reader';
import { monotonicClock } from '../shared/clock';

export interface ReaderFactoryDeps {
  input: InputStreamConfig;
  /** GetShardIterator/GetRecords (polling, and the shard-end probe). */
  fetcher: KinesisGateway;
  /** With EFO: the SubscribeToShard client and the consumer ARN. */
  efo?: { subscriber: KinesisGateway; consumerArn: ConsumerArnSource };
}

export class ReaderFactory {
  private readonly probeShardEnds: boolean;

  constructor(private readonly deps: ReaderFactoryDeps) {
    this.probeShardEnds = Boolean(deps.input.client.endpoint);
  }

  create(lease: Pick<LeaseJobData, 'shardId' | 'hashKeyRange'>, resume: Resume, log: Logger): ShardReader {
    return new DeaggregatingReader(this.inner(lease.shardId, resume, log), {
      streamArn: this.deps.input.stream.arn,
      shardId: lease.shardId,
      hashKeyRange: hashKeyRangeOf(lease.hashKeyRange),
      skipThrough: resume.skipThrough,
      log,
    });
  }

  private inner(shardId: string, resume: Resume, log: Logger): ShardReader {
    const { input, fetcher, efo } = this.deps;
    if (efo) {
      return new EfoReader(
        efo.subscriber,
        efo.consumerArn,
        input.stream.arn,
        shardId,
        resume.start,
        { subscriptionTimeoutMs: input.efo.subscriptionTimeoutMs, maxSubscriptionMs: input.efo.maxSubscriptionMs, minSubscribeGapMs: 1000 },
        log,
        monotonicClock,
        this.probeShardEnds ? new ShardEndProbe(fetcher, input.stream.arn, shardId, monotonicClock) : undefined,
      );
    }
    return new PollingReader(
      fetcher,
      input.stream.arn,
      shardId,
      resume.start,
      { maxRecords: input.getRecordsMaxCount, intervalMs: input.getRecordsIntervalMs, emptyIntervalMs: input.emptyFetchIntervalMs, idleIntervalMs: input.idleIntervalMs },
      log,
      monotonicClock,
    );
  }
}
