/**
 * The heap sizing every shardflow process sets at start (cli/heap-growth.ts): the old generation's
 * growth bound, and a young generation kept at its initial size unless the command moves records. That
 * the CLI sets them, per command; that a user's own flags win; and that this Node's V8 honours them when
 * set at run time (the only way to set them, and a V8 upgrade could silently stop reading them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import ts from 'typescript';
import { boundHeapGrowth, HEAP_GROWING_PERCENT, keepYoungGenerationSmall, letYoungGenerationGrow, stopYoungGenerationCap, V8_SEMI_SPACE_GROWTH_FACTOR, YOUNG_GENERATION_CAP_BYTES, youngGenerationCapped } from '../../cli/heap-growth';
import { main } from '../../cli/main';

// The commands' own modules are replaced: only the heap sizing before them is under test here.
jest.mock('../../cli/run-coordinator', () => ({ runCoordinator: jest.fn(async () => undefined) }));
jest.mock('../../cli/run-worker', () => ({ runWorker: jest.fn(async () => undefined) }));
jest.mock('../../cli/run-generate', () => ({ runGenerate: jest.fn(async () => undefined) }));
jest.mock('../../cli/run-dashboard', () => ({ runDashboard: jest.fn(async () => undefined) }));

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

/**
 * A start-up's memory shape in small: objects allocated fast, a third of them kept (as loading modules
 * keeps compiled code and their exports), with the growth factor given set first. Prints the young
 * generation's peak size in MiB.
 */
const STARTUP = `
const v8 = require('node:v8');
if (process.argv[1]) v8.setFlagsFromString('--semi-space-growth-factor=' + process.argv[1]);
const kept = [];
let peak = 0;
for (let i = 0; i < 600000; i++) {
  const o = { i, name: 'module' + i, exports: [i, i + 1] };
  if (i % 3 === 0) kept.push(o);
  if (i % 1000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
}
process.stdout.write(String(peak / 1048576));
`;

function childFigure(script: string, arg?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...(arg === undefined ? [] : [String(arg)])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`the child exited with ${code}`))));
  });
}

const peakOldSpaceMiB = (growingPercent?: number) => childFigure(CHURN, growingPercent);
const peakNewSpaceMiB = (growthFactor?: number) => childFigure(STARTUP, growthFactor);

/**
 * A worker's young generation in small, in a fresh process (its own heap, not jest's grown one), with the
 * real cli/heap-growth.ts transpiled: the growth let loose as the worker command does, then objects
 * allocated fast with a third kept, yielding between bursts as a worker does between pages. Prints the
 * young generation's peak size in MiB.
 */
function cappedPeakMiB(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'heap-growth-'));
  const source = readFileSync(join(__dirname, '..', '..', 'cli', 'heap-growth.ts'), 'utf8');
  writeFileSync(join(dir, 'heap-growth.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText);
  const script = `
const v8 = require('node:v8');
const heap = require(${JSON.stringify(join(dir, 'heap-growth.js'))});
heap.keepYoungGenerationSmall([]);
heap.letYoungGenerationGrow([], '');
const kept = [];
let peak = 0;
(async () => {
  for (let burst = 0; burst < 400; burst++) {
    for (let i = 0; i < 5000; i++) {
      const o = { i, name: 'record' + i, data: [i, i + 1, i + 2] };
      if (i % 3 === 0) kept.push(o);
    }
    if (kept.length > 300000) kept.length = 0;
    peak = Math.max(peak, heap.youngGenerationBytes());
    await new Promise((r) => setImmediate(r));
  }
  process.stdout.write(String(peak / 1048576));
})();
`;
  return childFigure(script).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The flags the CLI sets for `argv`, in order, and its process.exit codes, with the command's own module mocked. */
async function flagsSetFor(argv: string[]): Promise<{ flags: string[]; exits: unknown[] }> {
  const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
  const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    main(['node', 'shardflow', ...argv]);
    // The action (or --help's process.exit) runs once parsing settles: let it finish first.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return { flags: set.mock.calls.map(([flag]) => flag), exits: exit.mock.calls.map(([code]) => code) };
  } finally {
    // The worker's cap would set the factor again after a GC of this (large) jest heap.
    stopYoungGenerationCap();
    set.mockRestore();
    exit.mockRestore();
    write.mockRestore();
  }
}

describe('heap growth bound', () => {
  afterEach(() => stopYoungGenerationCap());

  it('is set by the CLI for every command', async () => {
    const { flags, exits } = await flagsSetFor(['--help']);
    expect(exits).toEqual([0]); // --help settled
    expect(flags).toContain(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it('keeps the young generation small for the coordinator and the dashboard, and lets it grow for the worker and the generator', async () => {
    // main() keeps it small first; a command that moves records lets it grow again in its action.
    const semiSpace = ({ flags }: { flags: string[] }) => flags.filter((f) => f.startsWith('--semi-space-growth-factor=')).slice(0, 2);
    const small = ['--semi-space-growth-factor=1'];
    const grows = [...small, `--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`];
    expect(semiSpace(await flagsSetFor(['coordinator']))).toEqual(small);
    expect(semiSpace(await flagsSetFor(['dashboard']))).toEqual(small);
    expect(semiSpace(await flagsSetFor(['--help']))).toEqual(small);
    expect(semiSpace(await flagsSetFor(['worker']))).toEqual(grows);
    expect(semiSpace(await flagsSetFor(['worker', '--coordinate']))).toEqual(grows);
    expect(semiSpace(await flagsSetFor(['generate']))).toEqual(grows);
  });

  it("keeps the process's own growth factor and minimum, and keeps a maximum as a cap", () => {
    const set = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
    try {
      expect(letYoungGenerationGrow(['--semi_space_growth_factor=4'])).toBe(false);
      expect(keepYoungGenerationSmall(['--semi-space-growth-factor=4'])).toBe(false);
      expect(keepYoungGenerationSmall(['--min-semi-space-size=8'])).toBe(false);
      expect(set).not.toHaveBeenCalled();
      // A maximum only caps the growth: small stays small under it, and a worker grows up to it, uncapped.
      expect(keepYoungGenerationSmall(['--max-semi-space-size=16'])).toBe(true);
      expect(set).toHaveBeenLastCalledWith('--semi-space-growth-factor=1');
      expect(letYoungGenerationGrow(['--max-semi-space-size=16', '--min-semi-space-size=2'], '')).toBe(true);
      expect(set).toHaveBeenLastCalledWith(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
      expect(youngGenerationCapped()).toBe(false);
      expect(letYoungGenerationGrow([], '--max-semi-space-size=64')).toBe(true);
      expect(youngGenerationCapped()).toBe(false);
      expect(letYoungGenerationGrow([], '')).toBe(true);
      expect(youngGenerationCapped()).toBe(true);
    } finally {
      set.mockRestore();
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
    // Measured at 50 %: 65–82 MiB against 37–41 MiB on Node 20, 22 and 24. V8's own growth factor follows
    // its measured GC and mutator speeds, so on a busy machine the unbounded child has once peaked at 34 MiB
    // (CI, Node 24): up to three pairs, passing on the first where the bound shows. A V8 that ignored the
    // flag gives equal peaks in all three.
    let [unbounded, bounded] = [0, 0];
    for (let attempt = 0; attempt < 3 && !(bounded > 0 && bounded < unbounded * 0.75); attempt++) {
      [unbounded, bounded] = await Promise.all([peakOldSpaceMiB(), peakOldSpaceMiB(HEAP_GROWING_PERCENT)]);
    }
    expect(bounded).toBeLessThan(unbounded * 0.75);
  }, 60_000);

  it("keeps the young generation at its initial size when set at run time on this Node", async () => {
    const [grown, small] = await Promise.all([peakNewSpaceMiB(), peakNewSpaceMiB(1)]);
    // Measured: 32 MiB grown against 2 MiB kept small on Node 20 and 22; 64 against 3.5–15 MiB on Node 24,
    // whose young generation still grows a little with the factor at 1 (a coordinator: 104 → 90 MiB).
    expect(grown).toBeGreaterThanOrEqual(16);
    expect(small).toBeLessThan(grown / 3);
  }, 60_000);

  it("caps a worker's young generation at Node 20's size on this Node", async () => {
    const peak = await cappedPeakMiB();
    // Without the cap: 32 MiB on Node 20 and 22 (their own maximum), 128 on Node 24; with it 32 to 33.25
    // (Node 24 reports a page over the two semi-spaces at times), never the next doubling.
    expect(peak).toBeGreaterThanOrEqual(16);
    expect(peak).toBeLessThan((1.5 * YOUNG_GENERATION_CAP_BYTES) / 1048576);
  }, 60_000);
});
