/** Stock records like the reference example's `stock.py`. Pure, no I/O. */
import { randomUUID } from 'node:crypto';

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

export type PartitionKeyMode = 'random' | 'ticker';

export function stockEntry(stock: StockRecord, mode: PartitionKeyMode): { PartitionKey: string; Data: Uint8Array } {
  return { PartitionKey: mode === 'ticker' ? stock.ticker : randomUUID(), Data: Buffer.from(JSON.stringify(stock), 'utf8') };
}
