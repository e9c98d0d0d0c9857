// An async enrichment: each trade gains its company's name from a lookup (simulated here: 5 ms, as a
// nearby cache or service would take). Up to Transform.concurrency records of a shard wait at once;
// a key's records still leave in their input order.
const COMPANIES = { AAPL: 'Apple', AMZN: 'Amazon', MSFT: 'Microsoft', INTC: 'Intel', TBV: 'Tangible Book Value' };

async function lookup(ticker) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return COMPANIES[ticker] ?? 'unknown';
}

export async function transform(record) {
  const trade = record.json();
  return { data: { ...trade, company: await lookup(trade.ticker) } };
}
