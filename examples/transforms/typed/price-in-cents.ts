// A typed module: compiled by `tsc -p examples/transforms/typed` against shardflow's own types
// (`import type … from 'shardflow'`), then loaded like any CommonJS module (Transform.module =
// examples/transforms/typed/dist/price-in-cents.js). Its own setting comes from a property group of
// its own, read once in open().
import type { TransformContext, TransformRecord, TransformResult } from 'shardflow';

interface Trade {
  event_time: string;
  ticker: string;
  price: number;
}

let minimum = 0;

export function open(context: TransformContext): void {
  minimum = Number(context.properties.PriceInCents?.['min-price'] ?? 0);
  context.log.info({ minimum }, 'price-in-cents opened');
}

export default function transform(record: TransformRecord): TransformResult {
  const trade = record.json<Trade>();
  if (trade.price < minimum) return null;
  return { data: { ...trade, cents: Math.round(trade.price * 100) }, partitionKey: trade.ticker };
}
