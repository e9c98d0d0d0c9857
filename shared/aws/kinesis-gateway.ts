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
  type StartingPosition,
  type SubscribeToShardEventStream,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
  type Shard,
  type ShardIteratorType,
  type ChildShard,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { AwsClientConfig } from '../config/app-config';
import { createKinesisClient } from './kinesis-client';
import { classifyKinesisError } from './kinesis-errors';
import { metrics } from '../metrics';

export type { Shard, ChildShard };

export interface IteratorStart {
  type: ShardIteratorType;
  sequenceNumber?: string;
  timestamp?: Date;
}

export interface GetRecordsResult {
  records: _Record[];
  nextIterator?: string;
  millisBehindLatest?: number;
  childShards?: ChildShard[];
}

export interface PutRecordsResult {
  failedCount: number;
  entries: PutRecordsResultEntry[];
}

export interface ShardLister {
  listShards(streamArn: string): Promise<Shard[]>;
}

export interface ShardFetcher {
  getShardIterator(streamArn: string, shardId: string, start: IteratorStart): Promise<string | undefined>;
  getRecords(streamArn: string, iterator: string, limit: number): Promise<GetRecordsResult>;
}

export interface StreamConsumers {
  /** The consumer's description, or undefined when no consumer of that name exists. */
  describeConsumer(streamArn: string, consumerName: string): Promise<ConsumerDescription | undefined>;
  /** Registers the consumer; an existing one of that name is not an error. */
  registerConsumer(streamArn: string, consumerName: string): Promise<void>;
  deregisterConsumer(streamArn: string, consumerName: string): Promise<void>;
}

export interface ShardSubscriber {
  /** Opens a SubscribeToShard event stream; `signal` ends it. */
  subscribe(consumerArn: string, shardId: string, start: StartingPosition, signal: AbortSignal): Promise<AsyncIterable<SubscribeToShardEventStream>>;
}

export type { ConsumerDescription, StartingPosition, SubscribeToShardEventStream };

export interface RecordPutter {
  putRecords(streamArn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult>;
}

export class KinesisGateway implements ShardLister, ShardFetcher, RecordPutter, StreamConsumers, ShardSubscriber {
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

  async getShardIterator(streamArn: string, shardId: string, start: IteratorStart): Promise<string | undefined> {
    const out = await this.send('GetShardIterator', () => this.client.send(
      new GetShardIteratorCommand({
        StreamARN: streamArn,
        ShardId: shardId,
        ShardIteratorType: start.type,
        StartingSequenceNumber: start.sequenceNumber,
        Timestamp: start.timestamp,
      }),
    ));
    return out.ShardIterator;
  }

  async getRecords(streamArn: string, iterator: string, limit: number): Promise<GetRecordsResult> {
    const out = await this.send('GetRecords', () => this.client.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: limit })));
    return {
      records: out.Records ?? [],
      nextIterator: out.NextShardIterator ?? undefined,
      millisBehindLatest: out.MillisBehindLatest,
      childShards: out.ChildShards,
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

  async subscribe(consumerArn: string, shardId: string, start: StartingPosition, signal: AbortSignal): Promise<AsyncIterable<SubscribeToShardEventStream>> {
    const out = await this.send('SubscribeToShard', () => this.client.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: start }), { abortSignal: signal }));
    if (!out.EventStream) throw new Error('SubscribeToShard returned no event stream');
    return out.EventStream;
  }

  /** A cheap reachability probe (readiness): one ListShards page of one shard. */
  async ping(streamArn: string): Promise<void> {
    await this.send('ListShards', () => this.client.send(new ListShardsCommand({ StreamARN: streamArn, MaxResults: 1 })));
  }

  destroy(): void {
    this.client.destroy();
  }
}
