/**
 * The records `shardflow transform` runs a module over: lines of a file (or stdin), or stock records
 * like the reference `stock.py` writes when no file is given. A line is either the record's data as
 * JSON (`{"ticker":"AAPL",…}`: the whole line is the data, keyed `partitionkey` as stock.py keys
 * every record), or a record as the AWS CLI writes it (`{"Data": "<base64>", "PartitionKey": "…",
 * "ExplicitHashKey": "…"}`, what `aws kinesis get-records` prints per record). Pure, no I/O.
 */
import type { SourceRecord } from '../../shared/records';
import { CONSTANT_PARTITION_KEY, randomStock, stockUserRecord } from '../../generator/stock-records';

export const SAMPLE_SHARD = 'shardId-000000000000';

/** A Kinesis-looking sequence number for the n-th sample (1-based), ordered like real ones. */
export function sampleSequenceNumber(n: number): string {
  return `4959033827149025660855969253836157109592157598913${String(n).padStart(7, '0')}`;
}

export class SampleInputError extends Error {}

function isAwsCliRecord(value: unknown): value is { Data: string; PartitionKey?: unknown; ExplicitHashKey?: unknown; SequenceNumber?: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { Data?: unknown }).Data === 'string';
}

/** The records of a JSON Lines text; throws SampleInputError naming the line of a bad one. */
export function parseSampleLines(text: string, arrival = new Date()): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new SampleInputError(`line ${i + 1} is not JSON (${(err as Error).message}); each line is a record's data as JSON, or {"Data": "<base64>", "PartitionKey": "..."}`);
    }
    const n = records.length + 1;
    const base = { shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(n), approximateArrivalTimestamp: arrival };
    if (isAwsCliRecord(value)) {
      if (value.PartitionKey !== undefined && typeof value.PartitionKey !== 'string') throw new SampleInputError(`line ${i + 1}: "PartitionKey" must be a string`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.Data) || value.Data.length % 4 !== 0) throw new SampleInputError(`line ${i + 1}: "Data" is not base64`);
      const record: SourceRecord = { ...base, partitionKey: value.PartitionKey ?? CONSTANT_PARTITION_KEY, data: Buffer.from(value.Data, 'base64') };
      if (typeof value.SequenceNumber === 'string') record.sequenceNumber = value.SequenceNumber;
      if (typeof value.ExplicitHashKey === 'string') record.explicitHashKey = value.ExplicitHashKey;
      records.push(record);
    } else {
      records.push({ ...base, partitionKey: CONSTANT_PARTITION_KEY, data: Buffer.from(line, 'utf8') });
    }
  }
  return records;
}

/** `count` stock records as stock.py writes them: one key, `partitionkey`, for all. */
export function sampleStockRecords(count: number, now = new Date(), random: () => number = Math.random): SourceRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const user = stockUserRecord(randomStock(now, random), 'constant');
    return { shardId: SAMPLE_SHARD, sequenceNumber: sampleSequenceNumber(i + 1), partitionKey: user.partitionKey, data: user.data, approximateArrivalTimestamp: now };
  });
}
