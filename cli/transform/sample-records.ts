/**
 * The records `shardflow transform` runs a module over: lines of a file (or stdin), or stock records
 * like the reference `stock.py` writes when no file is given. A line is either the record's data as
 * JSON (`{"ticker":"AAPL",…}`: the whole line is the data, keyed `partitionkey` as stock.py keys
 * every record), or a record as the AWS CLI writes it (`{"Data": "<base64>", "PartitionKey": "…",
 * "ExplicitHashKey": "…"}`, what `aws kinesis get-records` prints per record). The line format is
 * generator/record-lines.ts's, which `shardflow generate --from` replays too. Pure, no I/O.
 */
import type { SourceRecord } from '../../shared/records';
import { parseRecordLine } from '../../generator/record-lines';
import { CONSTANT_PARTITION_KEY, randomStock, stockUserRecord } from '../../generator/stock-records';

export const SAMPLE_SHARD = 'shardId-000000000000';

/** A Kinesis-looking sequence number for the n-th sample (1-based), ordered like real ones. */
export function sampleSequenceNumber(n: number): string {
  return `4959033827149025660855969253836157109592157598913${String(n).padStart(7, '0')}`;
}

/** A line that is not a record: the generator's line format error, under the name this command always used. */
export { RecordLineError as SampleInputError } from '../../generator/record-lines';

/** The records of a JSON Lines text; throws SampleInputError naming the line of a bad one. */
export function parseSampleLines(text: string, arrival = new Date()): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = parseRecordLine(lines[i], i + 1);
    if (line === undefined) continue;
    const record: SourceRecord = {
      shardId: SAMPLE_SHARD,
      sequenceNumber: line.sequenceNumber ?? sampleSequenceNumber(records.length + 1),
      approximateArrivalTimestamp: arrival,
      partitionKey: line.partitionKey ?? CONSTANT_PARTITION_KEY,
      data: line.data,
    };
    if (line.explicitHashKey !== undefined) record.explicitHashKey = line.explicitHashKey;
    records.push(record);
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
