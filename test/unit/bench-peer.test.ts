/**
 * The throughput benchmark's peer contender and its measuring, without processes of their own: the stock
 * transform as the lifion-kinesis copier applies it, the median the rounds are compared by, and a
 * process group's CPU and RSS as the sums of its members'.
 */
import { spawn } from 'node:child_process';
import { transformConsumed } from '../../bench/peer/consumed-transform';
import { median } from '../../bench/scenario';
import { ProcessMonitor, readProcess } from '../../bench/support/process-stats';
import { stockTransform } from '../../worker/transform/stock-transform';

const stock = { event_time: '2026-11-28T04:00:00.000Z', ticker: 'MSFT', price: 12.5 };
const record = (data: unknown) => ({ data, partitionKey: 'k', sequenceNumber: '1' });

describe('transformConsumed: the stock transform on what lifion hands over', () => {
  it('maps a record lifion already parsed as JSON, keeping every other field', () => {
    expect(transformConsumed(record({ ...stock, volume: 3 }), 'shardId-000000000000')).toEqual({ ok: true, data: { ...stock, ticker: 'AMZN', volume: 3 } });
  });

  it('runs the whole transform on bytes lifion left unparsed, with the same output bytes as shardflow', () => {
    const bytes = Buffer.from(JSON.stringify(stock, null, 2)); // multi-line: lifion's JSON test does not match it
    const expected = stockTransform.transform({ shardId: 's', sequenceNumber: '1', partitionKey: 'k', data: bytes });
    const got = transformConsumed(record(bytes), 's');
    expect(got.ok && expected.ok && got.data === Buffer.from(expected.data).toString('utf8')).toBe(true);
  });

  it('turns away what the stock transform turns away, parsed or not', () => {
    expect(transformConsumed(record({ ticker: 'MSFT', price: 1 }), 's')).toEqual({ ok: false, reason: 'not a stock record: field "event_time" must be a string' });
    expect(transformConsumed(record([1, 2]), 's').ok).toBe(false);
    expect(transformConsumed(record(Buffer.from('not json')), 's')).toMatchObject({ ok: false, reason: expect.stringContaining('not valid JSON') });
    expect(transformConsumed(record(Buffer.from([0xff, 0xfe])), 's')).toEqual({ ok: false, reason: 'not valid UTF-8' });
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, without reordering the input', () => {
    const values = [3, 1, 2];
    expect(median(values)).toBe(2);
    expect(values).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([1.7])).toBe(1.7);
    expect(median([])).toBeNaN();
  });
});

describe('ProcessMonitor over a group', () => {
  it('adds up the members\' CPU and RSS, counts a process once, and ignores one that is not there', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const group = new ProcessMonitor([process.pid, child.pid!, process.pid, 2 ** 22 + 1], 60_000);
      group.stop();
      const own = readProcess(process.pid)!;
      const other = readProcess(child.pid!)!;
      expect(group.pids).toEqual([process.pid, child.pid!, 2 ** 22 + 1]);
      expect(group.cpuSeconds).toBeLessThanOrEqual(own.cpuSeconds + other.cpuSeconds);
      expect(group.cpuSeconds).toBeGreaterThan(own.cpuSeconds - 0.5);
      // RSS moves between readings; the child's is small against the test process's.
      expect(group.peakRssBytes).toBeGreaterThan(0.8 * (own.rssBytes + other.rssBytes));
      expect(group.peakRssBytes).toBeLessThan(1.2 * (own.rssBytes + other.rssBytes));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('with PSS: two Node processes share the binary\'s pages, so their summed PSS is well below their summed RSS', async () => {
    // A second Node process idling: most of its RSS is the binary's file pages, which this one maps too.
    // It says so once its runtime is up (its pages mapped), instead of the test sleeping for that.
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready"); setTimeout(() => undefined, 30_000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve, reject) => {
        child.stdout!.once('data', resolve);
        child.once('error', reject);
      });
      const group = new ProcessMonitor([process.pid, child.pid!], 60_000, true);
      group.stop();
      const other = readProcess(child.pid!, true)!;
      expect(other.pssBytes).toBeGreaterThan(0);
      expect(other.pssBytes).toBeLessThan(other.rssBytes);
      expect(group.peakPssBytes).toBeGreaterThan(0);
      expect(group.peakPssBytes).toBeLessThan(group.peakRssBytes - 10 * 1024 ** 2);
      // Without `pss` nothing is read from smaps_rollup.
      expect(readProcess(process.pid)!.pssBytes).toBeUndefined();
      const plain = new ProcessMonitor(process.pid, 60_000);
      plain.stop();
      expect(plain.peakPssBytes).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
