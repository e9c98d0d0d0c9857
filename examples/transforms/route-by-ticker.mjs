// A route: AMZN trades go to a second stream (the OutputStream1 group of
// route-by-ticker.properties.json), every other ticker to the default output, OutputStream0.
export default function transform(record) {
  const trade = record.json();
  return trade.ticker === 'AMZN' ? { data: record.data, output: 'OutputStream1' } : record.data;
}
