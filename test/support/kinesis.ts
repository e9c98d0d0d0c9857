/** kinesis-local for integration tests: one per test file, fresh streams per test. */
import { Agent } from 'node:http';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKinesisLocal, type KinesisLocal } from '../../cli/local/kinesis-local';
import { ensureStream } from '../../shared/aws/stream-admin';

export const REGION = 'us-east-1';
export const DEFAULT_ACCOUNT = '000000000000';

export { startKinesisLocal, type KinesisLocal };

/** A client on kinesis-local; the 12-digit access key id selects the account. */
export function localClient(endpoint: string, account = DEFAULT_ACCOUNT): KinesisClient {
  return new KinesisClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: account, secretAccessKey: 'test-secret' },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 20 }) }),
    maxAttempts: 5,
  });
}

export function streamArn(name: string, account = DEFAULT_ACCOUNT): string {
  return `arn:aws:kinesis:${REGION}:${account}:stream/${name}`;
}

export async function createStream(client: KinesisClient, name: string, shards: number): Promise<string> {
  await ensureStream(client, name, shards);
  const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
  return summary.StreamDescriptionSummary!.StreamARN!;
}

/** Writes the entries, re-sending failed ones, in batches of at most 500. */
export async function putAll(client: KinesisClient, arn: string, entries: PutRecordsRequestEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 500) {
    let batch = entries.slice(i, i + 500);
    while (batch.length > 0) {
      const out = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: batch }));
      batch = batch.filter((_, j) => out.Records?.[j]?.ErrorCode);
    }
  }
}

export interface ReadRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
}

/** Every record of every shard, from TRIM_HORIZON, in shard order. */
export async function readAll(client: KinesisClient, arn: string): Promise<ReadRecord[]> {
  const shards = (await client.send(new ListShardsCommand({ StreamARN: arn }))).Shards ?? [];
  const out: ReadRecord[] = [];
  for (const shard of shards) {
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamARN: arn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ StreamARN: arn, ShardIterator: iterator, Limit: 10000 }));
      for (const r of page.Records ?? []) {
        out.push({ shardId: shard.ShardId!, sequenceNumber: r.SequenceNumber!, partitionKey: r.PartitionKey!, data: Buffer.from(r.Data!) });
      }
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

export function json(record: { data: Buffer }): Record<string, unknown> {
  return JSON.parse(record.data.toString('utf8')) as Record<string, unknown>;
}
