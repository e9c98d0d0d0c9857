/**
 * The state of the benchmark's in-memory Kinesis, without I/O: streams, shards with evenly split hash
 * ranges, records, iterators, stream consumers and an optional per-stream PutRecords throttle.
 *
 * Built for speed, since it is both the input and the output of the throughput benchmark: each record is
 * kept as the JSON fragment GetRecords returns (its base64 data exactly as PutRecords received it), so a
 * GetRecords response is one string join, with no per-record encoding.
 */
import { createHash } from 'node:crypto';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
const HASH_SPACE = 1n << 128n;

export class KinesisError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Shard {
  readonly id: string;
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
  /** GetRecords' JSON fragment per record, in sequence order. */
  readonly fragments: string[];
  readonly sequenceNumbers: string[];
  readonly arrivalMs: number[];
}

export interface Consumer {
  readonly name: string;
  readonly arn: string;
  readonly streamArn: string;
  readonly createdAt: number;
}

export interface Stream {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: number;
  readonly shards: Shard[];
  records: number;
  firstArrivalMs: number | null;
  lastArrivalMs: number | null;
  /** Records accepted per second; 0 is no limit. */
  maxRecordsPerSecond: number;
  throttleWindow: { second: number; count: number };
}

export interface PutEntry {
  Data: string;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

export type PutOutcome = { SequenceNumber: string; ShardId: string } | { ErrorCode: string; ErrorMessage: string };

export type IteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'AT_TIMESTAMP';

export interface StartingPosition {
  type: IteratorType;
  sequenceNumber?: string;
  /** Epoch milliseconds, with AT_TIMESTAMP. */
  timestampMs?: number;
}

/** Fixed width, so sequence numbers compare the same as numbers and as strings. */
function sequenceNumber(n: number): string {
  return `49${String(n).padStart(54, '0')}`;
}

export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** Kinesis maps a partition key to the 128-bit MD5 of its UTF-8 bytes. */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

export class StreamStore {
  private readonly streams = new Map<string, Stream>();
  private readonly consumers = new Map<string, Consumer>();
  private nextSequence = 1;
  /** Called after records land in a shard, for subscriptions waiting on it. */
  onAppend: (stream: Stream, shard: Shard) => void = () => undefined;

  constructor(private readonly now: () => number = Date.now) {}

  createStream(name: string, shardCount: number): Stream {
    if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(name)) throw new KinesisError('ValidationException', `invalid stream name ${name}`);
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 1000) throw new KinesisError('InvalidArgumentException', `invalid ShardCount ${shardCount}`);
    if (this.streams.has(name)) throw new KinesisError('ResourceInUseException', `Stream ${name} already exists`);
    const shards: Shard[] = [];
    for (let i = 0; i < shardCount; i++) {
      const start = (HASH_SPACE * BigInt(i)) / BigInt(shardCount);
      const end = (HASH_SPACE * BigInt(i + 1)) / BigInt(shardCount) - 1n;
      shards.push({ id: shardIdOf(i), startingHashKey: start, endingHashKey: end, fragments: [], sequenceNumbers: [], arrivalMs: [] });
    }
    const stream: Stream = {
      name,
      arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}`,
      createdAt: this.now(),
      shards,
      records: 0,
      firstArrivalMs: null,
      lastArrivalMs: null,
      maxRecordsPerSecond: 0,
      throttleWindow: { second: 0, count: 0 },
    };
    this.streams.set(name, stream);
    return stream;
  }

  /** By StreamName or StreamARN, as every Kinesis operation accepts. */
  stream(ref: { StreamName?: string; StreamARN?: string }): Stream {
    const name = ref.StreamName ?? ref.StreamARN?.split(':stream/')[1]?.split('/')[0];
    const stream = name === undefined ? undefined : this.streams.get(name);
    if (!stream) throw new KinesisError('ResourceNotFoundException', `Stream ${name ?? '(none given)'} under account ${ACCOUNT} not found.`);
    return stream;
  }

  shard(stream: Stream, shardId: string): Shard {
    const shard = stream.shards.find((s) => s.id === shardId);
    if (!shard) throw new KinesisError('ResourceNotFoundException', `Shard ${shardId} in stream ${stream.name} under account ${ACCOUNT} does not exist`);
    return shard;
  }

  private shardFor(stream: Stream, entry: PutEntry): Shard {
    const hash = entry.ExplicitHashKey !== undefined ? BigInt(entry.ExplicitHashKey) : hashKeyOf(entry.PartitionKey);
    const index = Number((hash * BigInt(stream.shards.length)) / HASH_SPACE);
    return stream.shards[Math.min(index, stream.shards.length - 1)];
  }

  /** Whether one more record fits this second's budget (always, without a throttle). */
  private admit(stream: Stream, nowMs: number): boolean {
    if (stream.maxRecordsPerSecond <= 0) return true;
    const second = Math.floor(nowMs / 1000);
    if (stream.throttleWindow.second !== second) stream.throttleWindow = { second, count: 0 };
    if (stream.throttleWindow.count >= stream.maxRecordsPerSecond) return false;
    stream.throttleWindow.count += 1;
    return true;
  }

  putRecords(stream: Stream, entries: readonly PutEntry[]): PutOutcome[] {
    const nowMs = this.now();
    const touched = new Set<Shard>();
    const outcomes = entries.map((entry): PutOutcome => {
      if (typeof entry.PartitionKey !== 'string' || entry.PartitionKey.length === 0 || entry.PartitionKey.length > 256) {
        throw new KinesisError('ValidationException', 'PartitionKey must be 1 to 256 characters');
      }
      if (!this.admit(stream, nowMs)) {
        return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: `Rate exceeded for stream ${stream.name} under account ${ACCOUNT}.` };
      }
      const shard = this.shardFor(stream, entry);
      const seq = sequenceNumber(this.nextSequence++);
      shard.fragments.push(`{"SequenceNumber":"${seq}","ApproximateArrivalTimestamp":${nowMs / 1000},"Data":${JSON.stringify(entry.Data)},"PartitionKey":${JSON.stringify(entry.PartitionKey)}}`);
      shard.sequenceNumbers.push(seq);
      shard.arrivalMs.push(nowMs);
      touched.add(shard);
      stream.records += 1;
      stream.firstArrivalMs ??= nowMs;
      stream.lastArrivalMs = nowMs;
      return { SequenceNumber: seq, ShardId: shard.id };
    });
    for (const shard of touched) this.onAppend(stream, shard);
    return outcomes;
  }

  /** The index of the first record a reader starting at `position` gets. */
  startIndex(shard: Shard, position: StartingPosition): number {
    switch (position.type) {
      case 'TRIM_HORIZON':
        return 0;
      case 'LATEST':
        return shard.fragments.length;
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        if (!position.sequenceNumber || !/^\d+$/.test(position.sequenceNumber)) throw new KinesisError('InvalidArgumentException', 'StartingSequenceNumber is required and must be numeric');
        const at = lowerBound(shard.sequenceNumbers, position.sequenceNumber.padStart(56, '0'));
        const exact = shard.sequenceNumbers[at] === position.sequenceNumber;
        return position.type === 'AFTER_SEQUENCE_NUMBER' && exact ? at + 1 : at;
      }
      case 'AT_TIMESTAMP': {
        if (position.timestampMs === undefined) throw new KinesisError('InvalidArgumentException', 'Timestamp is required with AT_TIMESTAMP');
        let i = 0;
        while (i < shard.arrivalMs.length && shard.arrivalMs[i] < position.timestampMs) i++;
        return i;
      }
      default:
        throw new KinesisError('InvalidArgumentException', `unknown ShardIteratorType ${String(position.type)}`);
    }
  }

  /** Records from `from` (at most `limit`) as a JSON array body, the next index and the lag. */
  read(shard: Shard, from: number, limit: number): { json: string; count: number; next: number; millisBehindLatest: number } {
    const end = Math.min(shard.fragments.length, from + limit);
    const count = Math.max(0, end - from);
    const json = count === 0 ? '[]' : `[${shard.fragments.slice(from, end).join(',')}]`;
    const millisBehindLatest = end < shard.fragments.length ? Math.max(0, this.now() - shard.arrivalMs[end]) : 0;
    return { json, count, next: from + count, millisBehindLatest };
  }

  encodeIterator(stream: Stream, shard: Shard, index: number): string {
    return Buffer.from(`${stream.name}|${shard.id}|${index}`).toString('base64');
  }

  decodeIterator(iterator: string): { stream: Stream; shard: Shard; index: number } {
    const [name, shardId, index] = Buffer.from(iterator ?? '', 'base64').toString().split('|');
    if (!name || !shardId || !/^\d+$/.test(index ?? '')) throw new KinesisError('InvalidArgumentException', 'invalid ShardIterator');
    const stream = this.stream({ StreamName: name });
    return { stream, shard: this.shard(stream, shardId), index: Number(index) };
  }

  registerConsumer(stream: Stream, name: string): Consumer {
    if ([...this.consumers.values()].some((c) => c.streamArn === stream.arn && c.name === name)) {
      throw new KinesisError('ResourceInUseException', `Consumer ${name} already exists`);
    }
    const createdAt = this.now();
    const consumer = { name, arn: `${stream.arn}/consumer/${name}:${Math.floor(createdAt / 1000)}`, streamArn: stream.arn, createdAt };
    this.consumers.set(consumer.arn, consumer);
    return consumer;
  }

  consumer(ref: { ConsumerARN?: string; StreamARN?: string; ConsumerName?: string }): Consumer {
    const found = ref.ConsumerARN ? this.consumers.get(ref.ConsumerARN) : [...this.consumers.values()].find((c) => c.streamArn === ref.StreamARN && c.name === ref.ConsumerName);
    if (!found) throw new KinesisError('ResourceNotFoundException', `Consumer ${ref.ConsumerARN ?? ref.ConsumerName} not found`);
    return found;
  }

  deregisterConsumer(consumer: Consumer): void {
    this.consumers.delete(consumer.arn);
  }

  consumersOf(stream: Stream): Consumer[] {
    return [...this.consumers.values()].filter((c) => c.streamArn === stream.arn);
  }
}

/** The first index whose value is ≥ `target` (equal-width decimal strings compare as numbers). */
function lowerBound(sorted: readonly string[], target: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
