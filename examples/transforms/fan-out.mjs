// A fan-out: each trade becomes two output records, written in this order: the trade keyed by its
// ticker, and an audit line that says where it came from, all audit lines under one key.
export default function transform(record) {
  const trade = record.json();
  return [
    { data: trade, partitionKey: trade.ticker },
    { data: { audit: trade.ticker, shardId: record.shardId, sequenceNumber: record.sequenceNumber }, partitionKey: 'audit' },
  ];
}
