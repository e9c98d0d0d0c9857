/**
 * The narrow set of Kinesis calls shardflow makes, on one client. Readers, the sink and the
 * coordinator depend on the slices of this interface they use, so tests can fake them.
 */
import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type ConsumerDescription,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { AwsClientConfig } from '../config/app-config';
import type { StartPosition } from '../position';
import { childShardIds, iteratorRequest, shardEventPages, sourceRecords, startingPosition, type RecordPage } from './record-mapping';
import { createKinesisClient } from './kinesis-client';
import { classifyKinesisError } from './kinesis-errors';
import { metrics } from '../metrics';

export type { Shard, RecordPage };

export interface PutRecordsResult {
  failedCount: number;
  entries: PutRecordsResultEntry[];
}

export interface ShardLister {
  listShards(streamArn: string): Promise<Shard[]>;
}

/** One cheap call that succeeds when a stream exists and answers. */
export interface StreamPing {
  ping(streamArn: string): Promise<void>;
}

export interface ShardFetcher {
  getShardIterator(streamArn: string, shardId: string, start: StartPosition): Promise<string | undefined>;
  /** One page of the shard as SourceRecords; `nextIterator` undefined means the shard is closed and fully read. */
  getRecords(streamArn: string, shardId: string, iterator: string, limit: number): Promise<RecordPage>;
}

export interface StreamConsumers {
  /** The consumer's description, or undefined when no consumer of that name exists. */
  describeConsumer(streamArn: string, consumerName: string): Promise<ConsumerDescription | undefined>;
  /** Registers the consumer; an existing one of that name is not an error. */
  registerConsumer(streamArn: string, consumerName: string): Promise<void>;
  deregisterConsumer(streamArn: string, consumerName: string): Promise<void>;
}

export interface ShardSubscriber {
  /**
   * Opens a SubscribeToShard event stream, as pages; `signal` ends it. An error the service sends as
   * an event is thrown by the iterator, named as the exception.
   */
  subscribe(consumerArn: string, shardId: string, start: StartPosition, signal: AbortSignal): Promise<AsyncIterable<RecordPage>>;
}

export type { ConsumerDescription };

export interface RecordPutter {
  putRecords(streamArn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult>;
}

export class KinesisGateway implements ShardLister, ShardFetcher, RecordPutter, StreamConsumers, ShardSubscriber, StreamPing {
  constructor(readonly client: KinesisClient) {}

  /** Every call goes through here, so errors are counted by operation and kind in one place. */
  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      metrics().kinesisErrors.inc({ operation, kind: classifyKinesisError(err) });
      throw err;
    }
  }

  static fromConfig(config: AwsClientConfig, options: { streaming?: boolean } = {}): KinesisGateway {
    return new KinesisGateway(createKinesisClient(config, options));
  }

  /** Every shard of the stream, open and closed, following NextToken pages. */
  async listShards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      // A paged call names only the token; the stream is implied by it.
      const request = nextToken ? { NextToken: nextToken } : { StreamARN: streamArn };
      const page = await this.send('ListShards', () => this.client.send(new ListShardsCommand(request)));
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async getShardIterator(streamArn: string, shardId: string, start: StartPosition): Promise<string | undefined> {
    const out = await this.send('GetShardIterator', () => this.client.send(new GetShardIteratorCommand({ StreamARN: streamArn, ShardId: shardId, ...iteratorRequest(start) })));
    return out.ShardIterator;
  }

  async getRecords(streamArn: string, shardId: string, iterator: string, limit: number): Promise<RecordPage> {
    const out = await this.send('GetRecords', () => this.client.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: limit })));
    const nextIterator = out.NextShardIterator ?? undefined;
    return {
      records: sourceRecords(shardId, out.Records),
      nextIterator,
      millisBehindLatest: out.MillisBehindLatest,
      childShardIds: nextIterator === undefined ? childShardIds(out.ChildShards) : [],
    };
  }

  async putRecords(streamArn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    const out = await this.send('PutRecords', () => this.client.send(new PutRecordsCommand({ StreamARN: streamArn, Records: records })));
    return { failedCount: out.FailedRecordCount ?? 0, entries: out.Records ?? [] };
  }

  async describeConsumer(streamArn: string, consumerName: string): Promise<ConsumerDescription | undefined> {
    try {
      const out = await this.send('DescribeStreamConsumer', () => this.client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName })));
      return out.ConsumerDescription;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  async registerConsumer(streamArn: string, consumerName: string): Promise<void> {
    try {
      await this.send('RegisterStreamConsumer', () => this.client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName })));
    } catch (err) {
      // The consumer exists already (perhaps registered by an earlier coordinator): reuse it.
      if ((err as Error).name !== 'ResourceInUseException') throw err;
    }
  }

  async deregisterConsumer(streamArn: string, consumerName: string): Promise<void> {
    try {
      await this.send('DeregisterStreamConsumer', () => this.client.send(new DeregisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName })));
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    }
  }

  async subscribe(consumerArn: string, shardId: string, start: StartPosition, signal: AbortSignal): Promise<AsyncIterable<RecordPage>> {
    const out = await this.send('SubscribeToShard', () =>
      this.client.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: startingPosition(start) }), { abortSignal: signal }),
    );
    if (!out.EventStream) throw new Error('SubscribeToShard returned no event stream');
    return shardEventPages(shardId, out.EventStream);
  }

  /** A cheap reachability probe (readiness): one ListShards page of one shard. */
  async ping(streamArn: string): Promise<void> {
    await this.send('ListShards', () => this.client.send(new ListShardsCommand({ StreamARN: streamArn, MaxResults: 1 })));
  }

  destroy(): void {
    this.client.destroy();
  }
}
