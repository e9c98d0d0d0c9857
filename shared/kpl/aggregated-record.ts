/**
 * The KPL aggregated record format: one Kinesis record that carries many user records.
 *
 *   magic (F3 89 9A C2) | protobuf AggregatedRecord | MD5 of the protobuf bytes (16 bytes)
 *
 * The three messages of the KPL's `messages.proto` are mapped by hand onto the protobuf wire
 * format of `@bufbuild/protobuf/wire`, so there is no code generation step:
 *
 *   AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                      repeated Record records = 3; }
 *   Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *            required bytes data = 3; repeated Tag tags = 4; }
 *   Tag    { required string key = 1; optional string value = 2; }   (never read: tags are skipped)
 *
 * Pure, no I/O.
 */
import { createHash } from 'node:crypto';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { isExplicitHashKey, partitionKeyHash } from './hash-key';

export const KPL_MAGIC: Uint8Array = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
export const KPL_DIGEST_BYTES = 16;
/** Bytes an aggregate adds around its protobuf body: the magic in front, the MD5 behind. */
export const KPL_OVERHEAD_BYTES = KPL_MAGIC.length + KPL_DIGEST_BYTES;

/** A user record inside (or to be put inside) an aggregate. */
export interface UserRecord {
  partitionKey: string;
  /** A decimal 128-bit integer that chooses the shard instead of the partition key's MD5. */
  explicitHashKey?: string;
  data: Uint8Array;
}

export type DecodeResult = { ok: true; records: DecodedUserRecord[] } | { ok: false; reason: string };

// Field numbers of messages.proto.
const AGG_PARTITION_KEY_TABLE = 1;
const AGG_EXPLICIT_HASH_KEY_TABLE = 2;
const AGG_RECORDS = 3;
const REC_PARTITION_KEY_INDEX = 1;
const REC_EXPLICIT_HASH_KEY_INDEX = 2;
const REC_DATA = 3;

/**
 * True when `data` starts with the magic and has at least one protobuf byte between the magic and
 * the MD5. Like the KCL (`AggregatorUtil`): magic + digest alone can carry no user record, so such a
 * record is treated as a plain one.
 */
export function isAggregated(data: Uint8Array): boolean {
  return (
    data.length > KPL_OVERHEAD_BYTES &&
    data[0] === KPL_MAGIC[0] &&
    data[1] === KPL_MAGIC[1] &&
    data[2] === KPL_MAGIC[2] &&
    data[3] === KPL_MAGIC[3]
  );
}

/** Thrown inside the decoder only; decodeAggregate turns it into { ok: false }. */
class CorruptAggregate extends Error {}

function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

/**
 * Reads an index varint exactly. The 32-bit fast path covers every real index; a longer varint is
 * re-read as uint64 so that a huge index is reported as outside its table instead of wrapping to a
 * small valid one (BinaryReader.uint32 keeps only the low 32 bits).
 */
function readIndex(reader: BinaryReader): number {
  const start = reader.pos;
  const value = reader.uint32();
  if (reader.pos - start <= 4) return value;
  reader.pos = start;
  const wide = BigInt(reader.uint64());
  return wide <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(wide) : Number.POSITIVE_INFINITY;
}

/**
 * A user record read from an aggregate: with `problem` when it cannot be used as it is (its explicit
 * hash key is not a decimal 128-bit integer), while its siblings can.
 */
export interface DecodedUserRecord extends UserRecord {
  problem?: string;
}

/**
 * The user records of a checked aggregate, made one at a time on demand (`at`), so a 1 MiB aggregate
 * of 170,000 records costs a few number arrays until its records are asked for, not 170,000 objects
 * at once. The data are views into the aggregate's bytes (no copy).
 */
export class AggregateRecords {
  constructor(
    private readonly body: Uint8Array,
    private readonly partitionKeys: readonly string[],
    private readonly explicitHashKeys: readonly string[],
    /** Per explicit hash key: why it cannot be used, or undefined. */
    private readonly hashKeyProblems: ReadonlyArray<string | undefined>,
    private readonly columns: Columns,
  ) {}

  /** The partition keys' hash keys, worked out once per key of the table (an aggregate repeats its keys). */
  private keyHashes: Array<bigint | undefined> | undefined;

  get count(): number {
    return this.columns.count;
  }

  /** The hash key that places user record `i` (0 ≤ i < count) on a shard; call only for a record without `problem`. */
  hashKeyAt(i: number): bigint {
    const ehk = this.columns.ehkIndexes[i];
    if (ehk >= 0) return BigInt(this.explicitHashKeys[ehk]);
    const pk = this.columns.pkIndexes[i];
    this.keyHashes ??= new Array<bigint | undefined>(this.partitionKeys.length);
    return (this.keyHashes[pk] ??= partitionKeyHash(this.partitionKeys[pk]));
  }

  /** User record `i` (0 ≤ i < count). */
  at(i: number): DecodedUserRecord {
    const { pkIndexes, ehkIndexes, dataStarts, dataEnds } = this.columns;
    const data = this.body.subarray(dataStarts[i], dataEnds[i]);
    const partitionKey = this.partitionKeys[pkIndexes[i]];
    const ehk = ehkIndexes[i];
    if (ehk < 0) return { partitionKey, data };
    const problem = this.hashKeyProblems[ehk];
    return problem === undefined ? { partitionKey, explicitHashKey: this.explicitHashKeys[ehk], data } : { partitionKey, explicitHashKey: this.explicitHashKeys[ehk], data, problem };
  }
}

export type OpenResult = { ok: true; records: AggregateRecords } | { ok: false; reason: string };

/**
 * Checks an aggregated record (caller checked isAggregated) and indexes its user records without
 * making them. Never throws: bad MD5, bad protobuf, truncated input, an index outside its table, a
 * missing required field -> { ok:false, reason } with a short human reason starting with "corrupt
 * aggregate: ". An explicit hash key that is not a decimal 128-bit integer spoils only the user records
 * that use it (their `problem`), not the aggregate.
 *
 * An aggregate whose records list is empty opens to ok with no records, as the KCL does (it emits
 * nothing for it); the caller checkpoints past it. Unknown fields are skipped and tags ignored, as a
 * protobuf parser does.
 */
export function openAggregate(data: Uint8Array): OpenResult {
  if (!isAggregated(data)) return { ok: false, reason: 'corrupt aggregate: no magic prefix or too short' };
  const body = data.subarray(KPL_MAGIC.length, data.length - KPL_DIGEST_BYTES);
  const digest = md5(body);
  for (let i = 0; i < KPL_DIGEST_BYTES; i++) {
    if (digest[i] !== data[data.length - KPL_DIGEST_BYTES + i]) return { ok: false, reason: 'corrupt aggregate: MD5 mismatch' };
  }
  try {
    return { ok: true, records: indexBody(body) };
  } catch (err) {
    const message = err instanceof CorruptAggregate ? err.message : `bad protobuf (${err instanceof Error ? err.message : String(err)})`;
    return { ok: false, reason: `corrupt aggregate: ${message}` };
  }
}

/** Every user record of an aggregate at once (see `openAggregate`); the data are views into `data`. */
export function decodeAggregate(data: Uint8Array): DecodeResult {
  const opened = openAggregate(data);
  if (!opened.ok) return opened;
  const records: DecodedUserRecord[] = new Array(opened.records.count);
  for (let i = 0; i < records.length; i++) records[i] = opened.records.at(i);
  return { ok: true, records };
}

/**
 * Columns of the user records as the scan finds them: indexes (-1: absent; exact up to 2^53, or
 * Infinity) and where each one's data lies. Typed arrays sized for the most records the body can hold
 * (a Record message takes at least 6 bytes), outside the JS heap: for 170,000 records 5 MiB at most,
 * where four growing JS arrays took up to twice that in the old generation.
 */
interface Columns {
  count: number;
  pkIndexes: Float64Array;
  ehkIndexes: Float64Array;
  dataStarts: Uint32Array;
  dataEnds: Uint32Array;
}

/** The fewest bytes a Record message takes inside an AggregatedRecord (its tag and length included). */
const MIN_RECORD_BYTES = 6;

function columnsFor(bodyBytes: number): Columns {
  const capacity = Math.floor(bodyBytes / MIN_RECORD_BYTES) + 1;
  return { count: 0, pkIndexes: new Float64Array(capacity), ehkIndexes: new Float64Array(capacity), dataStarts: new Uint32Array(capacity), dataEnds: new Uint32Array(capacity) };
}

/**
 * Scans the AggregatedRecord in one pass. The tables may in principle follow the records (protobuf
 * does not order fields), so records are collected as indexes first and checked at the end; the nested
 * Record messages are read in place with the same reader, without an object per record.
 */
function indexBody(body: Uint8Array): AggregateRecords {
  const reader = new BinaryReader(body);
  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const columns = columnsFor(body.length);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 0) throw new CorruptAggregate('bad protobuf (field number 0)');
    if (wireType === WireType.LengthDelimited && fieldNo === AGG_PARTITION_KEY_TABLE) {
      partitionKeys.push(reader.string());
    } else if (wireType === WireType.LengthDelimited && fieldNo === AGG_EXPLICIT_HASH_KEY_TABLE) {
      explicitHashKeys.push(reader.string());
    } else if (wireType === WireType.LengthDelimited && fieldNo === AGG_RECORDS) {
      const length = reader.uint32();
      const end = reader.pos + length;
      if (end > reader.len) throw new CorruptAggregate('truncated record');
      readRecord(reader, end, columns);
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  const { pkIndexes, ehkIndexes } = columns;
  for (let i = 0; i < columns.count; i++) {
    const pk = pkIndexes[i];
    if (pk >= partitionKeys.length) throw new CorruptAggregate(`record ${i}: partition key index ${pk} outside its table of ${partitionKeys.length}`);
    const ehk = ehkIndexes[i];
    if (ehk >= explicitHashKeys.length) throw new CorruptAggregate(`record ${i}: explicit hash key index ${ehk} outside its table of ${explicitHashKeys.length}`);
  }
  const problems = explicitHashKeys.map((key) => (isExplicitHashKey(key) ? undefined : `invalid explicit hash key: ${JSON.stringify(key.length > 48 ? `${key.slice(0, 45)}...` : key)} is not a decimal integer in [0, 2^128)`));
  return new AggregateRecords(body, partitionKeys, explicitHashKeys, problems, columns);
}

/** Reads one Record message ending at `end`; pushes its fields (-1: absent) onto the columns. */
function readRecord(reader: BinaryReader, end: number, columns: Columns): void {
  const n = columns.count;
  let pk = -1;
  let ehk = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 0) throw new CorruptAggregate(`record ${n}: bad protobuf (field number 0)`);
    if (wireType === WireType.Varint && fieldNo === REC_PARTITION_KEY_INDEX) pk = readIndex(reader);
    else if (wireType === WireType.Varint && fieldNo === REC_EXPLICIT_HASH_KEY_INDEX) ehk = readIndex(reader);
    else if (wireType === WireType.LengthDelimited && fieldNo === REC_DATA) {
      const length = reader.uint32();
      dataStart = reader.pos;
      dataEnd = dataStart + length;
      if (dataEnd > end) throw new CorruptAggregate(`record ${n}: a field runs past the end of its record`);
      reader.pos = dataEnd;
    } else reader.skip(wireType, fieldNo); // tags (4) and unknown fields
  }
  if (reader.pos !== end) throw new CorruptAggregate(`record ${n}: a field runs past the end of its record`);
  if (pk < 0) throw new CorruptAggregate(`record ${n}: required partition_key_index missing`);
  if (dataStart < 0) throw new CorruptAggregate(`record ${n}: required data missing`);
  if (n >= columns.pkIndexes.length) throw new CorruptAggregate(`record ${n}: more records than the body can hold`);
  columns.pkIndexes[n] = pk;
  columns.ehkIndexes[n] = ehk;
  columns.dataStarts[n] = dataStart;
  columns.dataEnds[n] = dataEnd;
  columns.count = n + 1;
}

/**
 * Encodes user records as one aggregated record (magic + protobuf AggregatedRecord + MD5 of the
 * protobuf bytes). Partition keys and explicit hash keys are de-duplicated into the tables; order is
 * preserved. Throws RangeError for no records (an aggregate of nothing is not a valid aggregate for
 * the KCL) or an explicit hash key that is not a decimal 128-bit integer (Kinesis would reject it).
 */
export function encodeAggregate(records: readonly UserRecord[]): Uint8Array {
  if (records.length === 0) throw new RangeError('an aggregate needs at least one user record');
  const pkIndex = new Map<string, number>();
  const ehkIndex = new Map<string, number>();
  for (const r of records) {
    if (!pkIndex.has(r.partitionKey)) pkIndex.set(r.partitionKey, pkIndex.size);
    if (r.explicitHashKey !== undefined && !ehkIndex.has(r.explicitHashKey)) {
      if (!isExplicitHashKey(r.explicitHashKey)) throw new RangeError(`explicit hash key ${JSON.stringify(r.explicitHashKey)} is not a 128-bit decimal integer`);
      ehkIndex.set(r.explicitHashKey, ehkIndex.size);
    }
  }
  const writer = new BinaryWriter();
  // Maps iterate in insertion order, which is the index order.
  for (const key of pkIndex.keys()) writer.tag(AGG_PARTITION_KEY_TABLE, WireType.LengthDelimited).string(key);
  for (const key of ehkIndex.keys()) writer.tag(AGG_EXPLICIT_HASH_KEY_TABLE, WireType.LengthDelimited).string(key);
  for (const r of records) {
    writer.tag(AGG_RECORDS, WireType.LengthDelimited).fork();
    writer.tag(REC_PARTITION_KEY_INDEX, WireType.Varint).uint32(pkIndex.get(r.partitionKey) as number);
    if (r.explicitHashKey !== undefined) writer.tag(REC_EXPLICIT_HASH_KEY_INDEX, WireType.Varint).uint32(ehkIndex.get(r.explicitHashKey) as number);
    writer.tag(REC_DATA, WireType.LengthDelimited).bytes(r.data);
    writer.join();
  }
  const body = writer.finish();
  const out = new Uint8Array(KPL_OVERHEAD_BYTES + body.length);
  out.set(KPL_MAGIC, 0);
  out.set(body, KPL_MAGIC.length);
  out.set(md5(body), KPL_MAGIC.length + body.length);
  return out;
}
