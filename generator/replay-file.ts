/**
 * Replays a captured JSON Lines file (generator/record-lines.ts's format, as `shardflow transform
 * --input` reads it) record by record, in file order; with `loop`, from the top again at the end. The
 * file is read as a stream, never whole, so a capture larger than memory replays too; it is checked
 * from end to end before the first record is sent, so a bad line stops the generator at start.
 */
import { createReadStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import type { UserRecord } from '../shared/kpl/aggregated-record';
import { parseRecordLine, RecordLineError, type RecordLine } from './record-lines';
import { dataPartitionKey, RecordKeyError, type RecordSource } from './record-sources';
import type { PartitionKeyMode } from './stock-records';

/** A line's record as the generator writes it: the line's PartitionKey when given, else one by `mode`. */
export function replayRecord(line: RecordLine, lineNumber: number, mode: PartitionKeyMode): UserRecord {
  let partitionKey = line.partitionKey;
  if (partitionKey === undefined || partitionKey === '') {
    try {
      partitionKey = dataPartitionKey(line.data, mode);
    } catch (err) {
      if (err instanceof RecordKeyError) throw new RecordLineError(`line ${lineNumber} has no "PartitionKey" and ${err.message}`);
      throw err;
    }
  }
  const record: UserRecord = { partitionKey, data: line.data };
  if (line.explicitHashKey !== undefined) record.explicitHashKey = line.explicitHashKey;
  return record;
}

/** The file's lines, numbered from 1, read as a stream. */
async function* numberedLines(file: string): AsyncGenerator<{ text: string; number: number }> {
  const lines: Interface = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of lines) yield { text, number: ++number };
  } finally {
    lines.close();
  }
}

/** Checks every line; returns how many records the file holds. Throws RecordLineError naming the first bad line. */
export async function checkReplayFile(file: string, mode: PartitionKeyMode): Promise<number> {
  let records = 0;
  for await (const { text, number } of numberedLines(file)) {
    const line = parseRecordLine(text, number);
    if (line === undefined) continue;
    replayRecord(line, number, mode);
    records++;
  }
  return records;
}

export interface ReplaySource extends RecordSource {
  /** Times the end of the file was reached. */
  readonly passes: number;
}

/** The file's records in order, once, or over and over with `loop`. The file must hold at least one record (checkReplayFile). */
export function replaySource(file: string, mode: PartitionKeyMode, loop: boolean): ReplaySource {
  let lines = numberedLines(file);
  let passes = 0;
  let ended = false;
  // A pass without a record (the file emptied under us) ends a loop that would otherwise spin.
  let inPass = 0;
  return {
    get passes() {
      return passes;
    },
    async next(n) {
      const out: UserRecord[] = [];
      while (out.length < n && !ended) {
        const step = await lines.next();
        if (step.done) {
          passes++;
          if (!loop || inPass === 0) ended = true;
          else lines = numberedLines(file);
          inPass = 0;
          continue;
        }
        const line = parseRecordLine(step.value.text, step.value.number);
        if (line === undefined) continue;
        out.push(replayRecord(line, step.value.number, mode));
        inPass++;
      }
      return out;
    },
    async close() {
      await lines.return(undefined);
    },
  };
}
