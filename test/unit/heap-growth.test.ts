/**
 * The old generation's growth bound that every shardflow process sets at start (cli/heap-growth.ts):
 * that the CLI sets it, that a user's own flag wins, and that this Node's V8 honours it when set at run
 * time (the only way to set it, and a V8 upgrade could silently stop reading it).
 */
import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import { boundHeapGrowth, HEAP_GROWING_PERCENT } from '../../cli/heap-growth';
import { main } from '../../cli/main';

/**
 * A worker's memory shape in small: a window of 100,000 recent records (a sink's buffer, pages in flight)
 * replaced continuously between turns of the event loop, so every record is promoted and dies in the old
 * generation. Prints the old space's peak size in MiB.
 */
const CHURN = `
const v8 = require('node:v8');
if (process.argv[1]) v8.setFlagsFromString('--heap-growing-percent=' + process.argv[1]);
const ring = new Array(100000);
let peak = 0;
let i = 0;
(async () => {
  for (let round = 0; round < 200; round++) {
    if (round % 4 === 0) await new Promise((r) => setImmediate(r));
    for (let k = 0; k < 5000; k++, i++) ring[i % ring.length] = { key: 'k' + i, data: Buffer.from(JSON.stringify({ ticker: 'AAPL', price: i / 7, at: new Date(i).toISOString() })) };
    peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
  }
  process.stdout.write(String(peak / 1048576));
})();
`;

function peakOldSpaceMiB(growingPercent?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHURN, ...(growingPercent === undefined ? [] : [String(growingPercent)])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`churn exited with ${code}`))));
  });
}

describe('heap growth bound', () => {
  it('is set by the CLI for every command', async () => {
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      main(['node', 'shardflow', '--help']);
      // --help ends through process.exit(0) once parsing settles: let it reach the mock first.
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenCalledWith(0);
      expect(set).toHaveBeenCalledWith(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    } finally {
      set.mockRestore();
      exit.mockRestore();
      write.mockRestore();
    }
  });

  it("keeps the process's own --heap-growing-percent", () => {
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    try {
      expect(boundHeapGrowth(['--heap-growing-percent=80'])).toBeUndefined();
      expect(boundHeapGrowth(['--heap_growing_percent=80'])).toBeUndefined();
      expect(set).not.toHaveBeenCalled();
      expect(boundHeapGrowth(['--max-old-space-size=512'])).toBe(HEAP_GROWING_PERCENT);
      expect(set).toHaveBeenCalledTimes(1);
    } finally {
      set.mockRestore();
    }
  });

  it("bounds the old generation's peak when set at run time on this Node", async () => {
    const [unbounded, bounded] = await Promise.all([peakOldSpaceMiB(), peakOldSpaceMiB(HEAP_GROWING_PERCENT)]);
    // Measured at 50 %: 65–82 MiB against 37–41 MiB on Node 20, 22 and 24.
    expect(bounded).toBeLessThan(unbounded * 0.75);
  }, 60_000);
});
