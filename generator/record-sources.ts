/**
 * Where the generator's records come from: stock records like `stock.py`'s, or a record template's
 * rendered text (a file's replayed lines are generator/replay-file.ts). Each is keyed by
 * `--partition-key`; for records that are not stock records, `ticker` means the data's JSON `ticker`
 * field. Pure, no I/O.
 */
import { randomUUID } from 'node:crypto';
import type { UserRecord } from '../shared/kpl/aggregated-record';
import { CONSTANT_PARTITION_KEY, randomStock, stockUserRecord, type PartitionKeyMode } from './stock-records';

export interface RecordSource {
  /** Up to `n` next records, in order; fewer only when the source has no more, and then none ever after. */
  next(n: number): Promise<UserRecord[]>;
  /** Lets go of what the source holds (an open file); called once the generator stops. */
  close?(): Promise<void>;
}

/** A record's data has no key for the mode (`ticker` on data without a "ticker" field). */
export class RecordKeyError extends Error {}

/** The `ticker` field of JSON data (an object's string or number), or undefined. */
export function tickerOf(data: Uint8Array): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const ticker = (value as { ticker?: unknown }).ticker;
  return typeof ticker === 'string' || typeof ticker === 'number' ? String(ticker) : undefined;
}

/** The partition key of data that is not a stock record, by --partition-key mode; throws RecordKeyError. */
export function dataPartitionKey(data: Uint8Array, mode: PartitionKeyMode): string {
  switch (mode) {
    case 'random':
      return randomUUID();
    case 'constant':
      return CONSTANT_PARTITION_KEY;
    case 'ticker': {
      const ticker = tickerOf(data);
      // An empty key is no key to Kinesis.
      if (ticker === undefined || ticker === '') throw new RecordKeyError('its data is not a JSON object with a "ticker" field, which --partition-key ticker keys by');
      return ticker;
    }
  }
}

export function stockSource(mode: PartitionKeyMode): RecordSource {
  return { next: async (n) => Array.from({ length: n }, () => stockUserRecord(randomStock(), mode)) };
}

/**
 * Records rendered from a template. Each ends in a line break, as the Kinesis Data Generator writes
 * them (so records written to a file or S3 by Firehose stay one per line).
 */
export function templateSource(render: () => string, mode: PartitionKeyMode): RecordSource {
  const record = (): UserRecord => {
    const data = Buffer.from(`${render()}\n`, 'utf8');
    return { partitionKey: dataPartitionKey(data, mode), data };
  };
  return { next: async (n) => Array.from({ length: n }, record) };
}
