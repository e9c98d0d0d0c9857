import { ProgressGate } from '../../worker/progress-gate';

describe('ProgressGate', () => {
  const idle = { owner: 'w1', checkpoint: '49…01', recordsRead: 10, millisBehindLatest: 0 };

  it('publishes a lease at once, then again only when its progress changed or the refresh interval passed', () => {
    const gate = new ProgressGate(60_000);
    expect(gate.due('s1', idle, 0)).toBe(true);
    // An idle shard: the same progress every 5 s goes out once a minute, not twelve times.
    const sent = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65].map((s) => gate.due('s1', { ...idle }, s * 1000));
    expect(sent.filter(Boolean)).toHaveLength(1);
    expect(sent[11]).toBe(true); // at 60 s
    // Any change goes out at the next tick.
    expect(gate.due('s1', { ...idle, recordsRead: 11 }, 70_000)).toBe(true);
    expect(gate.due('s1', { ...idle, recordsRead: 11 }, 75_000)).toBe(false);
    expect(gate.due('s1', { ...idle, recordsRead: 11, millisBehindLatest: 5 }, 80_000)).toBe(true);
  });

  it('keeps shards apart, and a lease taken again after a release publishes at once', () => {
    const gate = new ProgressGate(60_000);
    expect(gate.due('s1', idle, 0)).toBe(true);
    expect(gate.due('s2', idle, 0)).toBe(true);
    expect(gate.due('s2', idle, 5000)).toBe(false);
    gate.retain(new Set(['s1']));
    expect(gate.due('s1', idle, 10_000)).toBe(false);
    expect(gate.due('s2', idle, 10_000)).toBe(true);
  });
});
