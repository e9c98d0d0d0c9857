/**
 * The state of the benchmark's in-memory Kinesis, without I/O: streams, shards with evenly split hash
 * ranges, records, iterators, stream consumers, an optional per-stream PutRecords throttle, a
 * per-stream fault plan (scripted refusals of chosen entries of the next requests, for tests), stream
 * deletion, shard expiry and a log of PutRecords requests per stream name. Request-level faults (errors,
 * resets, delays) are the server's, planned by chaos.ts.
 *
 * Built for speed, since it is both the input and the output of the throughput benchmark: each record is
 * kept as the JSON fragment GetRecords returns (its base64 data exactly as PutRecords received it), so a
 * GetRecords response or a SubscribeToShard event is one string join, with no per-record encoding. A
 * record costs one flat string and two numbers, which keeps the garbage collector's work small when a
 * benchmark holds millions of them.
 *
 * Sequence numbers are 56 decimal digits wide like real ones, so they compare the same as BigInts and
 * as (length, lexicographic) strings; shardflow's checkpoint ordering relies on the latter.
 */
import { hash } from 'node:crypto';
import { decodeAggregate, KPL_MAGIC } from '../../shared/kpl/aggregated-record';

export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';
const HASH_SPACE = 1n << 128n;
const MAX_HASH_KEY = HASH_SPACE - 1n;
/** Kinesis' limits, so a client that breaks them fails here as it would against AWS. */
export const LIMITS = {
  putRecordsEntries: 500,
  recordBytes: 1024 * 1024,
  partitionKeyChars: 256,
  getRecords: 10_000,
  /** GetRecords returns at most 10 MiB; fragments are measured in characters, close enough for a cap. */
  readChars: 10 * 1024 * 1024,
  listShardsDefault: 1000,
  listShardsMax: 10_000,
  /** Real Kinesis' default quota is lower; benchmarks of thousands of shards need more than its 1,000 of old. */
  shardsPerStream: 10_000,
} as const;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SEQUENCE_PREFIX = '49';
const SEQUENCE_DIGITS = 56;
const COUNTER_DIGITS = SEQUENCE_DIGITS - SEQUENCE_PREFIX.length;
/** What a shard's first record would follow: resuming AFTER it reads the shard from its start. */
export const SHARD_START_SEQUENCE = SEQUENCE_PREFIX + '0'.repeat(COUNTER_DIGITS);

/** A Kinesis error; `type` becomes the response's `__type`. */
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
  /** Each record's sequence number as its counter (see sequenceNumberOf), increasing. */
  readonly counters: number[];
  /** Never decreasing, so AT_TIMESTAMP can binary-search it. */
  readonly arrivalMs: number[];
  /** Gone as a shard trimmed past retention is: records dropped, not listed, every operation on it ResourceNotFoundException. */
  expired: boolean;
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
  /** Tells a stream from an earlier one of the same name, so a deleted stream's iterators stay dead. */
  readonly generation: number;
  /** Every shard ever, expired ones too (routing keeps their hash ranges); see liveShards. */
  readonly shards: readonly Shard[];
  /** The same shards by id: GetRecords looks its shard up on every call, so a scan would be O(shards) a call. */
  readonly shardsById: ReadonlyMap<string, Shard>;
  deleted: boolean;
  records: number;
  /** Records counting each user record of a KPL aggregate, so a benchmark of the aggregating sink knows when all arrived. */
  userRecords: number;
  firstArrivalMs: number | null;
  lastArrivalMs: number | null;
  /** Records accepted per second; 0 is no limit. */
  maxRecordsPerSecond: number;
  throttleWindow: { second: number; count: number };
  /** What the next PutRecords requests into the stream suffer, one element per request, oldest first. */
  readonly faults: RequestFault[];
}

/** The per-record error codes PutRecords answers with. */
export const RECORD_ERROR_CODES = ['ProvisionedThroughputExceededException', 'InternalFailure'] as const;
export type RecordErrorCode = (typeof RECORD_ERROR_CODES)[number];

/** The entry at `index` of a request (or every entry, with '*') is refused with `code`. */
export interface RecordFault {
  index: number | '*';
  code: RecordErrorCode;
}

/**
 * What one PutRecords request suffers. Only per-record refusals for now; request-level faults (an
 * error for the whole call, a delay) belong here as further optional fields.
 */
export interface RequestFault {
  records: RecordFault[];
}

/** A PutRecords entry as the JSON 1.1 protocol carries it: `Data` is base64. */
export interface PutEntry {
  Data: string;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

/** One PutRecords request into a stream, for `GET /_bench/puts`: who wrote when. */
export interface PutLogEntry {
  /** Epoch milliseconds the request was carried out (or failed by the fault plan). */
  at: number;
  userAgent: string;
  records: number;
  accepted: number;
  /** The fault-plan effect the request suffered, if any: 'error', 'reset' (nothing written) or 'reset-after' (written, never answered). */
  fault?: 'error' | 'reset' | 'reset-after';
  /** `<shardId>/<sequenceNumber>` of each accepted record, so a test can tell which process wrote which output record. */
  written?: string[];
}

/** How many PutRecords requests each stream name's log keeps (the newest). */
export const PUT_LOG_CAP = 100_000;

export type PutOutcome = { SequenceNumber: string; ShardId: string } | { ErrorCode: string; ErrorMessage: string };

export type IteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'AT_TIMESTAMP';

export interface StartingPosition {
  type: IteratorType;
  sequenceNumber?: string;
  /** Epoch milliseconds, with AT_TIMESTAMP. */
  timestampMs?: number;
}

export interface ReadPage {
  /** The records as a JSON array, ready to embed in a response. */
  json: string;
  count: number;
  /** The index to read from next. */
  next: number;
  millisBehindLatest: number;
}

/** The sequence number of counter `n`: "49" and `n`, zero-padded to 56 digits. */
export function sequenceNumberOf(n: number): string {
  const digits = String(n);
  return SEQUENCE_PREFIX + '0'.repeat(COUNTER_DIGITS - digits.length) + digits;
}

/**
 * Where a client-given sequence number falls among counters: its counter when it is one of ours, or
 * -1 below all of them, or Infinity above. Numbers above 2^53 are above every counter this process can
 * reach, so Number's rounding there does not matter.
 */
function counterOf(sequenceNumber: string): number {
  const digits = sequenceNumber.replace(/^0+(?=\d)/, '');
  if (digits.length !== SEQUENCE_DIGITS) return digits.length < SEQUENCE_DIGITS ? -1 : Infinity;
  const prefix = digits.slice(0, SEQUENCE_PREFIX.length);
  if (prefix !== SEQUENCE_PREFIX) return prefix < SEQUENCE_PREFIX ? -1 : Infinity;
  return Number(digits.slice(SEQUENCE_PREFIX.length));
}

export function shardIdOf(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** Kinesis maps a partition key to the 128-bit MD5 of its UTF-8 bytes. */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${hash('md5', partitionKey, 'hex')}`);
}

function parseHashKey(text: unknown): bigint {
  if (typeof text !== 'string' || !/^\d{1,39}$/.test(text) || BigInt(text) > MAX_HASH_KEY) {
    throw new KinesisError('InvalidArgumentException', `ExplicitHashKey ${String(text)} is not a decimal number between 0 and 2^128 - 1`);
  }
  return BigInt(text);
}

/** Bytes a base64 string decodes to, without decoding it. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - padding;
}

export class StreamStore {
  private readonly streams = new Map<string, Stream>();
  private readonly consumers = new Map<string, Consumer>();
  /** One counter for every shard: simpler than one per shard and still strictly increasing in each. */
  private nextCounter = 1;
  private lastNowMs = 0;
  private generations = 0;
  /** By stream name, so the log of a stream outlives its deletion and goes on with a recreated one. */
  private readonly putLogs = new Map<string, PutLogEntry[]>();
  /** Called after records land in a shard, or the shard (or its stream) is gone, for subscriptions waiting on it. */
  onAppend: (stream: Stream, shard: Shard) => void = () => undefined;

  constructor(private readonly now: () => number = Date.now) {}

  createStream(name: string, shardCount: number): Stream {
    if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(name)) throw new KinesisError('ValidationException', `invalid stream name ${name}`);
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > LIMITS.shardsPerStream) throw new KinesisError('InvalidArgumentException', `invalid ShardCount ${shardCount}`);
    if (this.streams.has(name)) throw new KinesisError('ResourceInUseException', `Stream ${name} under account ${ACCOUNT} already exists.`);
    const shards: Shard[] = [];
    for (let i = 0; i < shardCount; i++) {
      // Real Kinesis' even split: shard i starts at floor(2^128 * i / n).
      const start = (HASH_SPACE * BigInt(i)) / BigInt(shardCount);
      const end = (HASH_SPACE * BigInt(i + 1)) / BigInt(shardCount) - 1n;
      shards.push({ id: shardIdOf(i), startingHashKey: start, endingHashKey: end, fragments: [], counters: [], arrivalMs: [], expired: false });
    }
    const stream: Stream = {
      name,
      arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}`,
      createdAt: this.now(),
      generation: ++this.generations,
      shards,
      shardsById: new Map(shards.map((s) => [s.id, s])),
      deleted: false,
      records: 0,
      userRecords: 0,
      firstArrivalMs: null,
      lastArrivalMs: null,
      maxRecordsPerSecond: 0,
      throttleWindow: { second: 0, count: 0 },
      faults: [],
    };
    this.streams.set(name, stream);
    return stream;
  }

  /** By StreamName or StreamARN, as every Kinesis operation accepts. */
  stream(ref: { StreamName?: unknown; StreamARN?: unknown }): Stream {
    const name = typeof ref.StreamName === 'string' ? ref.StreamName : typeof ref.StreamARN === 'string' ? ref.StreamARN.split(':stream/')[1]?.split('/')[0] : undefined;
    const stream = name === undefined ? undefined : this.streams.get(name);
    if (!stream) throw new KinesisError('ResourceNotFoundException', `Stream ${name ?? '(none given)'} under account ${ACCOUNT} not found.`);
    return stream;
  }

  /**
   * Deletes the stream at once (AWS takes a while in DELETING): every operation on it answers
   * ResourceNotFoundException from now on, its iterators and consumers included, and CreateStream of
   * the name makes a fresh, empty stream. Subscriptions on its shards are woken to end.
   */
  deleteStream(stream: Stream): void {
    stream.deleted = true;
    this.streams.delete(stream.name);
    for (const c of this.consumersOf(stream)) this.consumers.delete(c.arn);
    for (const shard of stream.shards) this.onAppend(stream, shard);
  }

  /**
   * Makes the shard gone as one trimmed past retention is: its records dropped, not listed, and
   * GetShardIterator, GetRecords (old iterators too) and SubscribeToShard on it ResourceNotFoundException.
   * Real Kinesis only ever loses closed shards; a put into an expired open shard's hash range fails
   * the request with ResourceNotFoundException, so expire a shard nothing writes to any more.
   */
  expireShard(stream: Stream, shardId: unknown): Shard {
    const shard = this.shard(stream, shardId);
    shard.expired = true;
    shard.fragments.length = 0;
    shard.counters.length = 0;
    shard.arrivalMs.length = 0;
    this.onAppend(stream, shard);
    return shard;
  }

  /** The shards not expired, as ListShards and DescribeStream show them. */
  liveShards(stream: Stream): Shard[] {
    return stream.shards.filter((s) => !s.expired);
  }

  /** Records one PutRecords request into the log of its stream name, keeping the newest PUT_LOG_CAP. */
  logPut(streamName: string, entry: PutLogEntry): void {
    let log = this.putLogs.get(streamName);
    if (!log) this.putLogs.set(streamName, (log = []));
    log.push(entry);
    if (log.length > PUT_LOG_CAP) log.splice(0, log.length - PUT_LOG_CAP);
  }

  /** The PutRecords requests into streams of this name, oldest first (empty for a name never written). */
  puts(streamName: string): readonly PutLogEntry[] {
    return this.putLogs.get(streamName) ?? [];
  }

  shard(stream: Stream, shardId: unknown): Shard {
    const shard = typeof shardId === 'string' ? stream.shardsById.get(shardId) : undefined;
    if (!shard || shard.expired) throw new KinesisError('ResourceNotFoundException', `Shard ${String(shardId)} in stream ${stream.name} under account ${ACCOUNT} does not exist`);
    return shard;
  }

  /** One ListShards page: up to `maxResults` shards from index `from` (or after `exclusiveStartShardId`), and where the next page starts. */
  listShards(stream: Stream, from: number, maxResults?: number, exclusiveStartShardId?: string): { shards: readonly Shard[]; next: number | null } {
    const max = maxResults ?? LIMITS.listShardsDefault;
    if (!Number.isInteger(max) || max < 1 || max > LIMITS.listShardsMax) throw new KinesisError('InvalidArgumentException', `MaxResults ${max} is not between 1 and ${LIMITS.listShardsMax}`);
    const shards = this.liveShards(stream);
    let start = from;
    if (exclusiveStartShardId !== undefined) {
      // Shard ids sort in creation order, and an id that is not there still names a place.
      const after = shards.findIndex((s) => s.id > exclusiveStartShardId);
      start = Math.max(start, after < 0 ? shards.length : after);
    }
    // Kinesis accepts MaxResults up to 10,000 but returns at most 1,000 shards a page.
    const end = Math.min(shards.length, start + Math.min(max, LIMITS.listShardsDefault));
    return { shards: shards.slice(start, end), next: end < shards.length ? end : null };
  }

  /** ListShards' NextToken names the stream itself, because a request that carries one may not name it. */
  encodeListToken(stream: Stream, next: number): string {
    return Buffer.from(`list|${stream.name}|${next}`).toString('base64');
  }

  /** The stream name a ListShards NextToken names, without checking it exists (for the fault plan). */
  static peekListToken(token: unknown): string | undefined {
    const [kind, name] = typeof token === 'string' ? Buffer.from(token, 'base64').toString().split('|') : [];
    return kind === 'list' && name ? name : undefined;
  }

  decodeListToken(token: unknown): { stream: Stream; next: number } {
    const [kind, name, next] = typeof token === 'string' ? Buffer.from(token, 'base64').toString().split('|') : [];
    if (kind !== 'list' || !name || !/^\d+$/.test(next ?? '')) throw new KinesisError('InvalidArgumentException', 'invalid NextToken');
    return { stream: this.stream({ StreamName: name }), next: Number(next) };
  }

  /** The shard whose hash key range holds the entry's hash key. */
  shardFor(stream: Stream, entry: Pick<PutEntry, 'PartitionKey' | 'ExplicitHashKey'>): Shard {
    const key = entry.ExplicitHashKey !== undefined ? parseHashKey(entry.ExplicitHashKey) : hashKeyOf(entry.PartitionKey);
    const shards = stream.shards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (shards[mid].startingHashKey <= key) lo = mid;
      else hi = mid - 1;
    }
    return shards[lo];
  }

  /** Caps PutRecords into the stream (0 lifts the cap); the budget renews every wall-clock second. */
  setThrottle(stream: Stream, maxRecordsPerSecond: number): void {
    if (!Number.isFinite(maxRecordsPerSecond) || maxRecordsPerSecond < 0) throw new KinesisError('InvalidArgumentException', `maxRecordsPerSecond ${maxRecordsPerSecond} must be a number ≥ 0`);
    stream.maxRecordsPerSecond = Math.floor(maxRecordsPerSecond);
    stream.throttleWindow = { second: 0, count: 0 };
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

  /**
   * Queues faults for the stream's next PutRecords requests (a valid request takes the next one; a
   * malformed one fails before it and takes none). Checked here so a bad plan fails the caller, not a
   * later request.
   */
  scriptFaults(stream: Stream, faults: unknown): void {
    if (!Array.isArray(faults)) throw new KinesisError('InvalidArgumentException', 'faults must be an array with one element per request');
    for (const fault of faults as RequestFault[]) {
      if (fault === null || typeof fault !== 'object' || !Array.isArray(fault.records)) throw new KinesisError('InvalidArgumentException', 'a request fault must have a records array');
      for (const r of fault.records) {
        const index = r?.index;
        if (!(index === '*' || (Number.isInteger(index) && (index as number) >= 0 && (index as number) < LIMITS.putRecordsEntries))) {
          throw new KinesisError('InvalidArgumentException', `a record fault's index must be '*' or 0 to ${LIMITS.putRecordsEntries - 1}, not ${JSON.stringify(index)}`);
        }
        if (!RECORD_ERROR_CODES.includes(r.code)) throw new KinesisError('InvalidArgumentException', `a record fault's code must be one of ${RECORD_ERROR_CODES.join(', ')}`);
      }
    }
    stream.faults.push(...(faults as RequestFault[]));
  }

  /** The error code a request's fault gives entry `index`, if any. */
  private static faultAt(fault: RequestFault | undefined, index: number): RecordErrorCode | undefined {
    return fault?.records.find((r) => r.index === index || r.index === '*')?.code;
  }

  /**
   * Appends the entries that fit the throttle, each to its shard, and returns one outcome per entry in
   * order. A malformed entry fails the whole request before anything is written, as in Kinesis. An
   * entry the fault plan refuses is refused without using the throttle's budget; later entries go on.
   */
  putRecords(stream: Stream, entries: unknown): PutOutcome[] {
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > LIMITS.putRecordsEntries) {
      throw new KinesisError('ValidationException', `Records must hold 1 to ${LIMITS.putRecordsEntries} entries`);
    }
    const valid = entries as PutEntry[];
    const targets = valid.map((entry) => {
      if (entry === null || typeof entry !== 'object') throw new KinesisError('ValidationException', 'a record must be an object');
      const { Data, PartitionKey } = entry;
      if (typeof PartitionKey !== 'string' || PartitionKey.length === 0 || PartitionKey.length > LIMITS.partitionKeyChars) {
        throw new KinesisError('ValidationException', `PartitionKey must be 1 to ${LIMITS.partitionKeyChars} characters`);
      }
      // The fragment embeds Data unescaped, so it must really be base64.
      if (typeof Data !== 'string' || Data.length % 4 !== 0 || !BASE64.test(Data)) throw new KinesisError('SerializationException', 'Data must be a base64 string');
      if (base64Bytes(Data) + Buffer.byteLength(PartitionKey) > LIMITS.recordBytes) {
        throw new KinesisError('ValidationException', `a record's data and partition key exceed ${LIMITS.recordBytes} bytes`);
      }
      const shard = this.shardFor(stream, entry);
      if (shard.expired) throw new KinesisError('ResourceNotFoundException', `Shard ${shard.id} in stream ${stream.name} under account ${ACCOUNT} does not exist`);
      return shard;
    });
    // Arrival times never go back, even if the wall clock does, so AT_TIMESTAMP can binary-search them.
    const nowMs = (this.lastNowMs = Math.max(this.lastNowMs, this.now()));
    const arrival = String(nowMs / 1000);
    const touched = new Set<Shard>();
    const outcomes = new Array<PutOutcome>(targets.length);
    const fault = stream.faults.shift();
    for (let i = 0; i < targets.length; i++) {
      const injected = StreamStore.faultAt(fault, i);
      if (injected !== undefined) {
        outcomes[i] = { ErrorCode: injected, ErrorMessage: injected === 'InternalFailure' ? 'Internal service failure.' : `Rate exceeded for shard ${targets[i].id} in stream ${stream.name} under account ${ACCOUNT}.` };
        continue;
      }
      if (!this.admit(stream, nowMs)) {
        outcomes[i] = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: `Rate exceeded for stream ${stream.name} under account ${ACCOUNT}.` };
        continue;
      }
      const entry = valid[i];
      const shard = targets[i];
      const counter = this.nextCounter++;
      const seq = sequenceNumberOf(counter);
      // join, unlike + or a template, gives one flat string instead of a tree of pieces to keep alive.
      const fragment = ['{"SequenceNumber":"', seq, '","ApproximateArrivalTimestamp":', arrival, ',"Data":"', entry.Data, '","PartitionKey":', JSON.stringify(entry.PartitionKey), '}'].join('');
      shard.fragments.push(fragment);
      shard.counters.push(counter);
      shard.arrivalMs.push(nowMs);
      touched.add(shard);
      stream.records += 1;
      stream.userRecords += userRecordsIn(entry.Data);
      stream.firstArrivalMs ??= nowMs;
      stream.lastArrivalMs = nowMs;
      outcomes[i] = { SequenceNumber: seq, ShardId: shard.id };
    }
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
        const given = position.sequenceNumber;
        if (typeof given !== 'string' || !/^\d{1,128}$/.test(given)) throw new KinesisError('InvalidArgumentException', `StartingSequenceNumber ${String(given)} must be a decimal number`);
        const counter = counterOf(given);
        const at = lowerBound(shard.counters, counter);
        return position.type === 'AFTER_SEQUENCE_NUMBER' && shard.counters[at] === counter ? at + 1 : at;
      }
      case 'AT_TIMESTAMP': {
        const t = position.timestampMs;
        if (typeof t !== 'number' || !Number.isFinite(t)) throw new KinesisError('InvalidArgumentException', 'Timestamp is required with AT_TIMESTAMP');
        return lowerBound(shard.arrivalMs, t);
      }
      default:
        throw new KinesisError('InvalidArgumentException', `unknown ShardIteratorType ${String(position.type)}`);
    }
  }

  /**
   * Records from index `from`: at most `limit` of them and about 10 MiB, like GetRecords. The lag is
   * the age of the oldest record not returned, 0 once the reader is at the tip.
   */
  read(shard: Shard, from: number, limit: number): ReadPage {
    const fragments = shard.fragments;
    const last = Math.min(fragments.length, from + limit);
    let end = from;
    let chars = 0;
    while (end < last) {
      chars += fragments[end].length;
      if (chars > LIMITS.readChars && end > from) break;
      end++;
    }
    const count = Math.max(0, end - from);
    const json = count === 0 ? '[]' : `[${fragments.slice(from, end).join(',')}]`;
    const millisBehindLatest = end < fragments.length ? Math.max(0, this.now() - shard.arrivalMs[end]) : 0;
    return { json, count, next: Math.max(from, end), millisBehindLatest };
  }

  /** The sequence number of the record at `index`. */
  sequenceNumberAt(shard: Shard, index: number): string {
    return sequenceNumberOf(shard.counters[index]);
  }

  /** The sequence number to resume AFTER so that reading continues at `index`. */
  continuationBefore(shard: Shard, index: number): string {
    return index > 0 ? sequenceNumberOf(shard.counters[index - 1]) : SHARD_START_SEQUENCE;
  }

  encodeIterator(stream: Stream, shard: Shard, index: number): string {
    return Buffer.from(`${stream.name}|${stream.generation}|${shard.id}|${index}`).toString('base64');
  }

  /** The stream name and shard id an iterator names, without checking they exist (for the fault plan); undefined for garbage. */
  static peekIterator(iterator: unknown): { stream: string; shard: string } | undefined {
    const [name, , shardId] = typeof iterator === 'string' ? Buffer.from(iterator, 'base64').toString().split('|') : [];
    return name && shardId ? { stream: name, shard: shardId } : undefined;
  }

  decodeIterator(iterator: unknown): { stream: Stream; shard: Shard; index: number } {
    const [name, generation, shardId, index] = typeof iterator === 'string' ? Buffer.from(iterator, 'base64').toString().split('|') : [];
    if (!name || !/^\d+$/.test(generation ?? '') || !shardId || !/^\d+$/.test(index ?? '')) throw new KinesisError('InvalidArgumentException', 'invalid ShardIterator');
    const stream = this.stream({ StreamName: name });
    // An iterator of a deleted stream names nothing, even once a stream of that name exists again.
    if (stream.generation !== Number(generation)) throw new KinesisError('ResourceNotFoundException', `Stream ${name} under account ${ACCOUNT} not found.`);
    return { stream, shard: this.shard(stream, shardId), index: Number(index) };
  }

  /** Registers a consumer, ACTIVE at once: benchmarks have no reason to wait the real few seconds. */
  registerConsumer(stream: Stream, name: unknown): Consumer {
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(name)) throw new KinesisError('ValidationException', `invalid ConsumerName ${String(name)}`);
    if (this.consumersOf(stream).some((c) => c.name === name)) {
      throw new KinesisError('ResourceInUseException', `Consumer ${name} under stream ${stream.name} already exists for account ${ACCOUNT}.`);
    }
    const createdAt = this.now();
    const consumer = { name, arn: `${stream.arn}/consumer/${name}:${Math.floor(createdAt / 1000)}`, streamArn: stream.arn, createdAt };
    this.consumers.set(consumer.arn, consumer);
    return consumer;
  }

  /** By ConsumerARN, or by StreamARN and ConsumerName. */
  consumer(ref: { ConsumerARN?: unknown; StreamARN?: unknown; ConsumerName?: unknown }): Consumer {
    const found =
      typeof ref.ConsumerARN === 'string'
        ? this.consumers.get(ref.ConsumerARN)
        : [...this.consumers.values()].find((c) => c.streamArn === ref.StreamARN && c.name === ref.ConsumerName);
    if (!found) throw new KinesisError('ResourceNotFoundException', `Consumer ${String(ref.ConsumerARN ?? ref.ConsumerName)} under account ${ACCOUNT} not found.`);
    return found;
  }

  deregisterConsumer(consumer: Consumer): void {
    this.consumers.delete(consumer.arn);
  }

  consumersOf(stream: Stream): Consumer[] {
    return [...this.consumers.values()].filter((c) => c.streamArn === stream.arn);
  }
}

/** Base64 of the KPL magic's first three bytes: a cheap test before decoding. */
const KPL_PREFIX = Buffer.from(KPL_MAGIC.subarray(0, 3)).toString('base64');

/** 1 for a plain record; a KPL aggregate's user records (an undecodable one counts as 1, as a plain record). */
function userRecordsIn(data: string): number {
  if (!data.startsWith(KPL_PREFIX)) return 1;
  const decoded = decodeAggregate(Buffer.from(data, 'base64'));
  return decoded.ok ? decoded.records.length : 1;
}

/** The first index whose value is not below `target`. */
function lowerBound(sorted: readonly number[], target: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
