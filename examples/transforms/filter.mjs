// A filter: only trades priced above 50 go on. Answering null filters a record out: it is
// acknowledged and checkpointed, never written, and counted in shardflow_records_filtered_total.
export default function transform(record) {
  const trade = record.json();
  return trade.price > 50 ? record.data : null;
}
