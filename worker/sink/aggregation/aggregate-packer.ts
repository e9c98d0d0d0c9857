/**
 * Packs pending user records into the entries of one PutRecords request with KPL aggregation: each
 * aggregate holds records of one output shard only (by the shard map's hash ranges), stays within the
 * aggregate size limit, and is placed on its shard by an ExplicitHashKey inside that shard's range (its
 * first record's hash key), so readers that drop user records outside their shard (the KCL family) lose
 * none. Pure, no I/O.
 *
 * Per-key order (`perKey`): a key not in flight brings its pending run in order, and all of a key's
 * records in one request sit in one entry. Kinesis writes or refuses an entry whole, and a key has one
 * request in flight, so no partial failure can put a newer record of a key before an older one. Several
 * keys share an aggregate, and a shard may get several aggregates per request.
 *
 * An aggregate of one record is sent as that plain record (no overhead, readable by anyone), as the KPL
 * does; so is a record too large to share an aggregate.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AggregateBuilder } from '../../../shared/kpl/aggregate-builder';
import type { BatchLimits } from '../batch-packer';
import type { ShardRange, ShardRanges } from './shard-ranges';

export interface AggregationLimits extends BatchLimits {
  /** Largest aggregate, magic and MD5 included. */
  maxAggregateBytes: number;
}

/** A pending user record as the packer needs it. */
export interface Packable {
  readonly key: string;
  /** The partition key's hash key (MD5), computed once when the record is written. */
  readonly hashKey: bigint;
  readonly data: Uint8Array;
  /** Data plus UTF-8 partition key bytes. */
  readonly size: number;
}

export interface PackedEntry {
  readonly request: PutRecordsRequestEntry;
  /** Positions in `pending` of the user records it carries, in order. */
  readonly positions: number[];
  /** Where it should land. */
  readonly shard: ShardRange;
}

/** An entry being filled. */
interface Open {
  builder: AggregateBuilder | undefined;
  positions: number[];
  shard: ShardRange;
}

/** The longest partition key Kinesis accepts, in UTF-8 bytes (256 characters, at most 4 bytes each). */
const MAX_KEY_BYTES = 1024;

export function packAggregates(pending: readonly Packable[], shards: ShardRanges, limits: AggregationLimits, perKey: boolean, inFlightKeys: ReadonlySet<string>): PackedEntry[] {
  const entries: Open[] = [];
  /** The aggregate still taking records, per shard id. */
  const filling = new Map<string, Open>();
  /** With perKey: the entry that holds the key in this request. */
  const keyEntry = new Map<string, Open>();
  /** With perKey: keys whose run ends here for this request. */
  const cut = new Set<string>();
  // An entry's bytes are only known when it is built; reserving its ceiling keeps the request in bounds.
  let reserved = 0;
  for (let i = 0; i < pending.length; i++) {
    const record = pending[i];
    if (perKey && (inFlightKeys.has(record.key) || cut.has(record.key))) continue;
    const user = { partitionKey: record.key, data: record.data };
    const own = perKey ? keyEntry.get(record.key) : undefined;
    if (own) {
      if (own.builder?.tryAdd(user)) own.positions.push(i);
      else cut.add(record.key);
      continue;
    }
    const shard = shards.shardFor(record.hashKey);
    const open = filling.get(shard.shardId);
    if (open?.builder?.tryAdd(user)) {
      open.positions.push(i);
      if (perKey) keyEntry.set(record.key, open);
      continue;
    }
    // A new entry: an aggregate if the record fits one, else the record alone.
    const builder = new AggregateBuilder(limits.maxAggregateBytes);
    const aggregated = builder.tryAdd(user);
    const ceiling = aggregated ? limits.maxAggregateBytes + MAX_KEY_BYTES : record.size;
    if (entries.length > 0 && (entries.length >= limits.maxRecords || reserved + ceiling > limits.maxBytes)) {
      if (perKey) cut.add(record.key);
      continue;
    }
    reserved += ceiling;
    const entry: Open = { builder: aggregated ? builder : undefined, positions: [i], shard };
    entries.push(entry);
    if (aggregated) filling.set(shard.shardId, entry);
    if (perKey) keyEntry.set(record.key, entry);
  }
  return entries.map((e) => ({ request: requestOf(e, pending), positions: e.positions, shard: e.shard }));
}

function requestOf(entry: Open, pending: readonly Packable[]): PutRecordsRequestEntry {
  const first = pending[entry.positions[0]];
  if (!entry.builder || entry.positions.length === 1) return { Data: first.data, PartitionKey: first.key };
  // The KPL's choice of partition key; the explicit hash key, inside the shard's range, decides the shard.
  return { Data: entry.builder.build(), PartitionKey: first.key, ExplicitHashKey: first.hashKey.toString() };
}
