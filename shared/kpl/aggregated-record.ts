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
import { isExplicitHashKey } from './hash-key';

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

export type DecodeResult = { ok: true; records: UserRecord[] } | { ok: false; reason: string };

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
 * Decodes an aggregated record (caller checked isAggregated). Never throws: bad MD5, bad protobuf,
 * truncated input, an index outside its table, a missing required field -> { ok:false, reason } with
 * a short human reason starting with "corrupt aggregate: ".
 *
 * An aggregate whose records list is empty decodes to ok with no records, as the KCL does (it emits
 * nothing for it); the caller checkpoints past it. Unknown fields are skipped and tags ignored, as a
 * protobuf parser does. The returned `data` are views into `data` (no copy): copy them before
 * changing the input buffer.
 */
export function decodeAggregate(data: Uint8Array): DecodeResult {
  if (!isAggregated(data)) return { ok: false, reason: 'corrupt aggregate: no magic prefix or too short' };
  const body = data.subarray(KPL_MAGIC.length, data.length - KPL_DIGEST_BYTES);
  const digest = md5(body);
  for (let i = 0; i < KPL_DIGEST_BYTES; i++) {
    if (digest[i] !== data[data.length - KPL_DIGEST_BYTES + i]) return { ok: false, reason: 'corrupt aggregate: MD5 mismatch' };
  }
  try {
    return { ok: true, records: decodeBody(body) };
  } catch (err) {
    const message = err instanceof CorruptAggregate ? err.message : `bad protobuf (${err instanceof Error ? err.message : String(err)})`;
    return { ok: false, reason: `corrupt aggregate: ${message}` };
  }
}

/**
 * Parses the AggregatedRecord in one pass. The tables may in principle follow the records (protobuf
 * does not order fields), so records are collected as indexes first and resolved at the end; the
 * nested Record messages are read in place with the same reader, without a reader per record.
 */
function decodeBody(body: Uint8Array): UserRecord[] {
  const reader = new BinaryReader(body);
  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const pkIndexes: number[] = [];
  const ehkIndexes: number[] = [];
  const datas: Uint8Array[] = [];
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
      readRecord(reader, end, pkIndexes, ehkIndexes, datas);
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  for (let i = 0; i < explicitHashKeys.length; i++) {
    if (!isExplicitHashKey(explicitHashKeys[i])) throw new CorruptAggregate(`explicit hash key ${i} is not a 128-bit decimal integer`);
  }
  const records: UserRecord[] = new Array(datas.length);
  for (let i = 0; i < datas.length; i++) {
    const pk = pkIndexes[i];
    if (pk >= partitionKeys.length) throw new CorruptAggregate(`record ${i}: partition key index ${pk} outside its table of ${partitionKeys.length}`);
    const ehk = ehkIndexes[i];
    if (ehk < 0) {
      records[i] = { partitionKey: partitionKeys[pk], data: datas[i] };
    } else if (ehk >= explicitHashKeys.length) {
      throw new CorruptAggregate(`record ${i}: explicit hash key index ${ehk} outside its table of ${explicitHashKeys.length}`);
    } else {
      records[i] = { partitionKey: partitionKeys[pk], explicitHashKey: explicitHashKeys[ehk], data: datas[i] };
    }
  }
  return records;
}

/** Reads one Record message ending at `end`; pushes its fields (-1: absent) onto the column arrays. */
function readRecord(reader: BinaryReader, end: number, pkIndexes: number[], ehkIndexes: number[], datas: Uint8Array[]): void {
  const n = datas.length;
  let pk = -1;
  let ehk = -1;
  let data: Uint8Array | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 0) throw new CorruptAggregate(`record ${n}: bad protobuf (field number 0)`);
    if (wireType === WireType.Varint && fieldNo === REC_PARTITION_KEY_INDEX) pk = readIndex(reader);
    else if (wireType === WireType.Varint && fieldNo === REC_EXPLICIT_HASH_KEY_INDEX) ehk = readIndex(reader);
    else if (wireType === WireType.LengthDelimited && fieldNo === REC_DATA) data = reader.bytes();
    else reader.skip(wireType, fieldNo); // tags (4) and unknown fields
  }
  if (reader.pos !== end) throw new CorruptAggregate(`record ${n}: a field runs past the end of its record`);
  if (pk < 0) throw new CorruptAggregate(`record ${n}: required partition_key_index missing`);
  if (data === undefined) throw new CorruptAggregate(`record ${n}: required data missing`);
  pkIndexes.push(pk);
  ehkIndexes.push(ehk);
  datas.push(data);
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
