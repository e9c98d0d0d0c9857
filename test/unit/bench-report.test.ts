/** The benchmark's pure parts: percentiles, target checks and the printed table. */
import { atLeast, atMost, percentile } from '../../bench/scenario';
import { table } from '../../bench/run';

describe('percentile (nearest rank)', () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];

  it('picks the sample at ceil(p/100 × n) in sorted order', () => {
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 10)).toBe(1);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile(samples, 100)).toBe(10);
  });

  it('does not reorder the caller\'s samples, and has no value for none', () => {
    percentile(samples, 50);
    expect(samples).toEqual([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('targets', () => {
  it('atMost and atLeast include the limit itself', () => {
    expect(atMost('p99', 300, 'ms', 300)).toEqual({ name: 'p99', value: 300, unit: 'ms', target: '≤ 300', met: true });
    expect(atMost('p99', 301, 'ms', 300).met).toBe(false);
    expect(atLeast('ratio', 0.8, 'x', 0.8).met).toBe(true);
    expect(atLeast('ratio', 0.79, 'x', 0.8).met).toBe(false);
  });
});

describe('table', () => {
  it('prints one row per figure with its unit, target and whether it was met', () => {
    const text = table([
      { scenario: 'throughput', figures: [atLeast('POLLING / floor', 0.6912, 'x', 0.8), { name: 'records/s', value: 93458.2, unit: 'records/s' }, { name: 'CPU', value: 0.01274, unit: 'CPU s' }] },
      { scenario: 'broken', figures: [{ name: 'p50', value: Number.NaN, unit: 'ms' }] },
    ]);
    const rows = text.split('\n');
    expect(rows).toHaveLength(6);
    expect(rows[2]).toMatch(/^\| throughput +\| POLLING \/ floor +\| +0\.69 \| x +\| ≥ 0\.8 +\| NO +\|$/);
    expect(rows[3]).toContain('93,458');
    expect(rows[4]).toContain('0.0127');
    expect(rows[5]).toContain('n/a');
    // Every row has the same width, so the table lines up.
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
  });
});
