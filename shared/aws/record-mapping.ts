/**
 * The SDK's shapes turned into shardflow's, at the AWS boundary only: Kinesis records into
 * SourceRecords, start positions into iterator types and starting positions, ChildShards into ids,
 * and SubscribeToShard events into record pages (an error delivered as an event becomes a thrown
 * error named like the exception). Nothing past the gateway sees an SDK type.
 */
import type { ChildShard, ShardIteratorType, StartingPosition, SubscribeToShardEventStream, _Record } from '@aws-sdk/client-kinesis';
import type { StartPosition } from '../position';
import type { SourceRecord } from '../records';

/** One page of a shard: a GetRecords answer or a SubscribeToShard event. */
export interface RecordPage {
  records: SourceRecord[];
  millisBehindLatest?: number;
  /** Polling: where to read next; undefined when the shard is closed and fully read. */
  nextIterator?: string;
  /** EFO: the position to re-subscribe after; undefined when the shard is closed and fully read. */
  continuation?: string;
  /** At the shard's end: the shards that continue its hash range. */
  childShardIds: string[];
}

export function sourceRecords(shardId: string, records: readonly _Record[] | undefined): SourceRecord[] {
  if (!records || records.length === 0) return [];
  const out = new Array<SourceRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    out[i] = {
      shardId,
      sequenceNumber: r.SequenceNumber!,
      partitionKey: r.PartitionKey!,
      data: r.Data ?? new Uint8Array(),
      approximateArrivalTimestamp: r.ApproximateArrivalTimestamp,
    };
  }
  return out;
}

export function childShardIds(children: readonly ChildShard[] | undefined): string[] {
  return (children ?? []).map((c) => c.ShardId).filter((id): id is string => Boolean(id));
}

export function iteratorRequest(start: StartPosition): { ShardIteratorType: ShardIteratorType; StartingSequenceNumber?: string; Timestamp?: Date } {
  switch (start.type) {
    case 'AFTER_SEQUENCE_NUMBER':
    case 'AT_SEQUENCE_NUMBER':
      return { ShardIteratorType: start.type, StartingSequenceNumber: start.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: start.timestamp };
    default:
      return { ShardIteratorType: start.type };
  }
}

export function startingPosition(start: StartPosition): StartingPosition {
  switch (start.type) {
    case 'AFTER_SEQUENCE_NUMBER':
    case 'AT_SEQUENCE_NUMBER':
      return { Type: start.type, SequenceNumber: start.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: start.timestamp };
    default:
      return { Type: start.type };
  }
}

/** An error the service delivered inside the event stream, named as the exception would be. */
export class StreamEventError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export function shardEventPage(shardId: string, event: SubscribeToShardEventStream): RecordPage {
  const e = event.SubscribeToShardEvent;
  if (!e) {
    const name = Object.keys(event).find((k) => k !== '$unknown') ?? 'UnknownEvent';
    throw new StreamEventError(name, (event as unknown as Record<string, { message?: string }>)[name]?.message ?? name);
  }
  const continuation = e.ContinuationSequenceNumber || undefined;
  return {
    records: sourceRecords(shardId, e.Records),
    millisBehindLatest: e.MillisBehindLatest,
    continuation,
    childShardIds: continuation === undefined ? childShardIds(e.ChildShards) : [],
  };
}

/**
 * Maps an SDK event stream lazily, one event per pull, so HTTP flow control still holds the service
 * back; `return()` reaches the SDK's stream at once (a generator would hold it behind a pending pull).
 */
export function shardEventPages(shardId: string, events: AsyncIterable<SubscribeToShardEventStream>): AsyncIterable<RecordPage> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<RecordPage> {
      const inner = events[Symbol.asyncIterator]();
      return {
        async next() {
          const result = await inner.next();
          return result.done ? { done: true, value: undefined } : { done: false, value: shardEventPage(shardId, result.value) };
        },
        async return() {
          await inner.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
