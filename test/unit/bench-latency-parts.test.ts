/** The own-latency benchmark's pure parts: the worker's PutRecords histogram, the output's requests and batches. */
import { histogramTotals, meanBetween, outputBatches, requestFigures } from '../../bench/support/latency-parts';

const METRICS = [
  '# HELP shardflow_put_records_duration_seconds PutRecords request latency.',
  '# TYPE shardflow_put_records_duration_seconds histogram',
  'shardflow_put_records_duration_seconds_bucket{le="0.005"} 3',
  'shardflow_put_records_duration_seconds_bucket{le="+Inf"} 4',
  'shardflow_put_records_duration_seconds_sum 0.042',
  'shardflow_put_records_duration_seconds_count 4',
  'shardflow_put_records_duration_seconds_other_sum 9',
  'shardflow_records_written_total{stream="out"} 12',
].join('\n');

describe('histogramTotals', () => {
  it('reads the _sum and _count of the named histogram only', () => {
    expect(histogramTotals(METRICS, 'shardflow_put_records_duration_seconds')).toEqual({ sum: 0.042, count: 4 });
  });

  it('adds up its label sets, as a process with default labels writes them', () => {
    const labelled = [
      'shardflow_put_records_duration_seconds_sum{app="a",role="worker",process="w-1"} 0.5',
      'shardflow_put_records_duration_seconds_count{app="a",role="worker",process="w-1"} 10',
      'shardflow_put_records_duration_seconds_sum{app="a",role="worker",process="w-2"} 0.25',
      'shardflow_put_records_duration_seconds_count{app="a",role="worker",process="w-2"} 5',
    ].join('\n');
    expect(histogramTotals(labelled, 'shardflow_put_records_duration_seconds')).toEqual({ sum: 0.75, count: 15 });
  });

  it('is zero for a histogram that is not there', () => {
    expect(histogramTotals(METRICS, 'shardflow_missing_seconds')).toEqual({ sum: 0, count: 0 });
    expect(histogramTotals('', 'shardflow_put_records_duration_seconds')).toEqual({ sum: 0, count: 0 });
  });
});

describe('meanBetween', () => {
  it('is the mean of the observations between two readings', () => {
    expect(meanBetween({ sum: 1, count: 10 }, { sum: 1.5, count: 20 })).toBeCloseTo(0.05);
  });

  it('has no value when nothing was observed in between', () => {
    expect(meanBetween({ sum: 1, count: 10 }, { sum: 1, count: 10 })).toBeNaN();
  });
});

describe('requestFigures', () => {
  const log = [
    { at: 1300, records: 30, accepted: 30 },
    { at: 1000, records: 10, accepted: 10 },
    { at: 1100, records: 20, accepted: 20 },
    { at: 900, records: 500, accepted: 500 },
    { at: 2000, records: 500, accepted: 500 },
  ];

  it('keeps the requests in [from, to), in time order, with the gaps between them', () => {
    expect(requestFigures(log, 1000, 2000)).toEqual({ requests: 3, recordsPerRequestP50: 20, recordsPerRequestMax: 30, gapP50Ms: 100, gapP99Ms: 200 });
  });

  it('has no values for an empty window', () => {
    const none = requestFigures(log, 5000, 6000);
    expect(none.requests).toBe(0);
    expect(none.recordsPerRequestP50).toBeNaN();
    expect(none.recordsPerRequestMax).toBeNaN();
    expect(none.gapP50Ms).toBeNaN();
  });
});

describe('outputBatches', () => {
  it('groups records by arrival stamp, in arrival order, with the oldest and newest record age', () => {
    const batches = outputBatches([
      { sentAt: 950, arrivedAt: 1200 },
      { sentAt: 1000, arrivedAt: 1000 + 10 },
      { sentAt: 1100, arrivedAt: 1200 },
      { sentAt: 1000, arrivedAt: 1200 },
    ]);
    expect(batches).toEqual([
      { records: 1, oldestAgeMs: 10, newestAgeMs: 10 },
      { records: 3, oldestAgeMs: 250, newestAgeMs: 100 },
    ]);
  });

  it('is empty for no records', () => {
    expect(outputBatches([])).toEqual([]);
  });
});
