/**
 * Packs user records, in arrival order, into one KPL aggregate of at most `maxBytes`, knowing the
 * exact encoded size after every record without encoding anything until build(). Pure, no I/O.
 */
import { encodeAggregate, KPL_OVERHEAD_BYTES, type UserRecord } from './aggregated-record';
import { isExplicitHashKey } from './hash-key';

/** Bytes of a protobuf varint holding `value` (a non-negative safe integer). */
function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

/** A length-delimited field with a one-byte tag (field numbers 1-15): tag + length + payload. */
function delimitedBytes(payloadBytes: number): number {
  return 1 + varintBytes(payloadBytes) + payloadBytes;
}

export class AggregateBuilder {
  private records: UserRecord[] = [];
  private partitionKeys = new Map<string, number>();
  private explicitHashKeys = new Map<string, number>();
  /** Size of the protobuf body so far; the aggregate adds the magic and the MD5. */
  private bodyBytes = 0;

  /** @param maxBytes the largest aggregate (magic + protobuf + MD5) build() may return. */
  constructor(private readonly maxBytes: number) {
    if (!(maxBytes > KPL_OVERHEAD_BYTES)) throw new RangeError(`maxBytes must exceed the ${KPL_OVERHEAD_BYTES} bytes of magic and MD5, got ${maxBytes}`);
  }

  /** User records added since the last build(). */
  get count(): number {
    return this.records.length;
  }

  /** The exact length build() would return now (0 when empty). */
  get size(): number {
    return this.records.length === 0 ? 0 : KPL_OVERHEAD_BYTES + this.bodyBytes;
  }

  /** The aggregate's own partition key, as the KPL chooses it: the first user record's. */
  get partitionKey(): string | undefined {
    return this.records[0]?.partitionKey;
  }

  /** The encoded size if `record` were added. */
  sizeWith(record: UserRecord): number {
    return KPL_OVERHEAD_BYTES + this.bodyBytes + this.growth(record);
  }

  /**
   * Adds `record` if the aggregate stays within maxBytes. False means: build() and send what is
   * here, then try again; false with count 0 means the record cannot fit in any aggregate of this
   * limit, and the caller should send it alone as a plain (not aggregated) record. An oversized
   * record is refused rather than accepted into an empty builder so that build() never exceeds
   * maxBytes, which callers use to stay under Kinesis's record size limit. Throws RangeError for an
   * explicit hash key that is not a decimal 128-bit integer, here rather than later in build().
   */
  tryAdd(record: UserRecord): boolean {
    if (record.explicitHashKey !== undefined && !this.explicitHashKeys.has(record.explicitHashKey) && !isExplicitHashKey(record.explicitHashKey)) {
      throw new RangeError(`explicit hash key ${JSON.stringify(record.explicitHashKey)} is not a 128-bit decimal integer`);
    }
    const growth = this.growth(record);
    if (KPL_OVERHEAD_BYTES + this.bodyBytes + growth > this.maxBytes) return false;
    this.bodyBytes += growth;
    if (!this.partitionKeys.has(record.partitionKey)) this.partitionKeys.set(record.partitionKey, this.partitionKeys.size);
    if (record.explicitHashKey !== undefined && !this.explicitHashKeys.has(record.explicitHashKey)) {
      this.explicitHashKeys.set(record.explicitHashKey, this.explicitHashKeys.size);
    }
    this.records.push(record);
    return true;
  }

  /** The aggregate of the records added so far; empties the builder. Throws RangeError when empty. */
  build(): Uint8Array {
    const encoded = encodeAggregate(this.records);
    this.records = [];
    this.partitionKeys = new Map();
    this.explicitHashKeys = new Map();
    this.bodyBytes = 0;
    return encoded;
  }

  /**
   * How many bytes `record` adds to the protobuf body: a new key adds its table entry, and the
   * record adds its Record message with the index it would get. This mirrors encodeAggregate's
   * field layout field by field.
   */
  private growth(record: UserRecord): number {
    let bytes = 0;
    let pkIndex = this.partitionKeys.get(record.partitionKey);
    if (pkIndex === undefined) {
      pkIndex = this.partitionKeys.size;
      bytes += delimitedBytes(Buffer.byteLength(record.partitionKey, 'utf8'));
    }
    let inner = 1 + varintBytes(pkIndex);
    if (record.explicitHashKey !== undefined) {
      let ehkIndex = this.explicitHashKeys.get(record.explicitHashKey);
      if (ehkIndex === undefined) {
        ehkIndex = this.explicitHashKeys.size;
        bytes += delimitedBytes(Buffer.byteLength(record.explicitHashKey, 'utf8'));
      }
      inner += 1 + varintBytes(ehkIndex);
    }
    inner += delimitedBytes(record.data.length);
    return bytes + delimitedBytes(inner);
  }
}
