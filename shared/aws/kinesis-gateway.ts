/**
 * The narrow set of Kinesis calls shardflow makes, on one client. Readers, the sink and the
 * coordinator depend on the slices of this interface they use, so tests can fake them.
 */
import {
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

export interface RecordPutter {
  putRecords(streamArn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult>;
}

export class KinesisGateway implements ShardLister, ShardFetcher, RecordPutter {
  constructor(readonly client: KinesisClient) {}

  static fromConfig(config: AwsClientConfig): KinesisGateway {
    return new KinesisGateway(createKinesisClient(config));
  }

  /** Every shard of the stream, open and closed, following NextToken pages. */
  async listShards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        // A paged call names only the token; the stream is implied by it.
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamARN: streamArn }),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async getShardIterator(streamArn: string, shardId: string, start: IteratorStart): Promise<string | undefined> {
    const out = await this.client.send(
      new GetShardIteratorCommand({
        StreamARN: streamArn,
        ShardId: shardId,
        ShardIteratorType: start.type,
        StartingSequenceNumber: start.sequenceNumber,
        Timestamp: start.timestamp,
      }),
    );
    return out.ShardIterator;
  }

  async getRecords(streamArn: string, iterator: string, limit: number): Promise<GetRecordsResult> {
    const out = await this.client.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator, Limit: limit }));
    return {
      records: out.Records ?? [],
      nextIterator: out.NextShardIterator ?? undefined,
      millisBehindLatest: out.MillisBehindLatest,
      childShards: out.ChildShards,
    };
  }

  async putRecords(streamArn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    const out = await this.client.send(new PutRecordsCommand({ StreamARN: streamArn, Records: records }));
    return { failedCount: out.FailedRecordCount ?? 0, entries: out.Records ?? [] };
  }

  destroy(): void {
    this.client.destroy();
  }
}
