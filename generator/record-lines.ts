/**
 * The JSON Lines record format that `shardflow transform --input` reads and `shardflow generate --from`
 * replays: a line is either the record's data as JSON (`{"ticker":"AAPL",…}`: the whole line, trimmed,
 * is the data, byte for byte), or a record as the AWS CLI prints it (`{"Data": "<base64>",
 * "PartitionKey": "…", "ExplicitHashKey": "…", "SequenceNumber": "…"}`). Blank lines are no record.
 * Pure, no I/O. It lives here, not under cli/, so the generator can use it without importing the CLI.
 */

/** One line's record; the key, hash key and sequence number only when the line gave them. */
export interface RecordLine {
  data: Buffer;
  partitionKey?: string;
  explicitHashKey?: string;
  sequenceNumber?: string;
}

/** A line that is not a record; the message names its line (1-based). */
export class RecordLineError extends Error {}

/** What a line may be, for the error messages. */
export const RECORD_LINE_FORMS = `a record's data as JSON, or {"Data": "<base64>", "PartitionKey": "..."}`;

function isAwsCliRecord(value: unknown): value is { Data: string; PartitionKey?: unknown; ExplicitHashKey?: unknown; SequenceNumber?: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { Data?: unknown }).Data === 'string';
}

/** The record of one line (`lineNumber` is 1-based, for messages), or undefined for a blank line. */
export function parseRecordLine(text: string, lineNumber: number): RecordLine | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new RecordLineError(`line ${lineNumber} is not JSON (${(err as Error).message}); each line is ${RECORD_LINE_FORMS}`);
  }
  if (!isAwsCliRecord(value)) return { data: Buffer.from(line, 'utf8') };
  if (value.PartitionKey !== undefined && typeof value.PartitionKey !== 'string') throw new RecordLineError(`line ${lineNumber}: "PartitionKey" must be a string`);
  // Buffer.from would skip what is not base64 and hand back other bytes than the capture held.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.Data) || value.Data.length % 4 !== 0) throw new RecordLineError(`line ${lineNumber}: "Data" is not base64`);
  const record: RecordLine = { data: Buffer.from(value.Data, 'base64') };
  if (value.PartitionKey !== undefined) record.partitionKey = value.PartitionKey;
  if (typeof value.ExplicitHashKey === 'string') record.explicitHashKey = value.ExplicitHashKey;
  if (typeof value.SequenceNumber === 'string') record.sequenceNumber = value.SequenceNumber;
  return record;
}
