/** Stock records like the reference example's `stock.py`. Pure, no I/O. */
import { randomUUID } from 'node:crypto';
import type { UserRecord } from '../shared/kpl/aggregated-record';

export const TICKERS = ['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV'] as const;

export interface StockRecord {
  event_time: string;
  ticker: string;
  price: number;
}

export function randomStock(now = new Date(), random: () => number = Math.random): StockRecord {
  return {
    event_time: now.toISOString(),
    ticker: TICKERS[Math.floor(random() * TICKERS.length)],
    price: Math.round(random() * 100 * 100) / 100,
  };
}

/**
 * How records are keyed: `random` spreads them over all shards, `ticker` keeps each ticker's records
 * in order on one shard, `constant` is `stock.py`'s single key (every record on one shard).
 */
export const PARTITION_KEY_MODES = ['random', 'ticker', 'constant'] as const;
export type PartitionKeyMode = (typeof PARTITION_KEY_MODES)[number];

/** The one key the reference `stock.py` writes every record with. */
export const CONSTANT_PARTITION_KEY = 'partitionkey';

export function isPartitionKeyMode(value: string): value is PartitionKeyMode {
  return (PARTITION_KEY_MODES as readonly string[]).includes(value);
}

export function stockPartitionKey(stock: StockRecord, mode: PartitionKeyMode): string {
  switch (mode) {
    case 'ticker':
      return stock.ticker;
    case 'constant':
      return CONSTANT_PARTITION_KEY;
    case 'random':
      return randomUUID();
  }
}

/** A stock record as a user record, the unit the generator counts and may aggregate. */
export function stockUserRecord(stock: StockRecord, mode: PartitionKeyMode): UserRecord {
  return { partitionKey: stockPartitionKey(stock, mode), data: Buffer.from(JSON.stringify(stock), 'utf8') };
}

export function stockEntry(stock: StockRecord, mode: PartitionKeyMode): { PartitionKey: string; Data: Uint8Array } {
  const record = stockUserRecord(stock, mode);
  return { PartitionKey: record.partitionKey, Data: record.data };
}
