/**
 * The transform benchmark's measuring, without processes: the steady window taken from the output's
 * PutRecords log, input rates for filters and fan-outs, the gaps that show a stall, and where its modules
 * are found.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fixture } from '../../bench/scenarios/transform';
import { cpuBetween, inputRate, putGaps, steadyWindow } from '../../bench/support/steady-window';

describe('steadyWindow: the records written after the first arrival, over the first-to-last span', () => {
  it('leaves out the first arrival\'s records, which were transformed before the span began', () => {
    // Four chunks of 500 at 0, 2.5, 5 and 7.5 s: 1,500 records in 7.5 s (200/s), not 2,000 (267/s).
    const w = steadyWindow([0, 2500, 5000, 7500].map((at) => ({ at: 1_000_000 + at, accepted: 500 })));
    expect(w).toEqual({ records: 1500, seconds: 7.5, total: 2000, requests: 4 });
    expect(inputRate(w, 1)).toBe(200);
  });

  it('counts every request carried out in the first millisecond as the first arrival, in any order', () => {
    const w = steadyWindow([
      { at: 200, accepted: 500 },
      { at: 100, accepted: 500 },
      { at: 100, accepted: 300 },
      { at: 300, accepted: 200 },
    ]);
    expect(w).toEqual({ records: 700, seconds: 0.2, total: 1500, requests: 4 });
  });

  it('ignores requests that wrote nothing (faults), and answers an empty window for no writes', () => {
    expect(steadyWindow([{ at: 50, accepted: 0 }, { at: 100, accepted: 10 }, { at: 1100, accepted: 10 }])).toEqual({ records: 10, seconds: 1, total: 20, requests: 2 });
    expect(steadyWindow([])).toEqual({ records: 0, seconds: 0, total: 0, requests: 0 });
  });
});

describe('inputRate: input records per second from the output\'s window', () => {
  const w = { records: 1000, seconds: 2, total: 1500, requests: 3 };

  it('scales a filter\'s output up and a fan-out\'s down to the input records they stand for', () => {
    expect(inputRate(w, 1)).toBe(500);
    expect(inputRate(w, 0.5)).toBe(1000); // half the records reach the output
    expect(inputRate(w, 2)).toBe(250); // two outputs per input record
  });

  it('is NaN for a window of no length (a single arrival)', () => {
    expect(inputRate({ records: 0, seconds: 0, total: 500, requests: 1 }, 1)).toBeNaN();
  });
});

describe('cpuBetween: the CPU a process used over a window, read off timed samples', () => {
  const samples = [
    { atMs: 1000, cpuSeconds: 1 },
    { atMs: 1020, cpuSeconds: 1.01 },
    { atMs: 1040, cpuSeconds: 1.03 },
    { atMs: 1100, cpuSeconds: 1.05 },
  ];

  it('interpolates between the samples around each end', () => {
    expect(cpuBetween(samples, 1010, 1070)).toBeCloseTo(1.04 - 1.005, 10);
    expect(cpuBetween(samples, 1000, 1100)).toBeCloseTo(0.05, 10);
    expect(cpuBetween(samples, 1020, 1040)).toBeCloseTo(0.02, 10);
  });

  it('is NaN for a window the samples do not cover', () => {
    expect(cpuBetween(samples, 990, 1050)).toBeNaN();
    expect(cpuBetween(samples, 1050, 1200)).toBeNaN();
  });
});

describe('putGaps: a stall between output requests', () => {
  it('gives the median gap, the largest and the request it followed', () => {
    expect(putGaps([0, 200, 400, 1000, 1200])).toEqual({ medianMs: 200, maxMs: 600, maxAfterRequest: 3 });
    expect(putGaps([1200, 0, 400, 200, 1000])).toEqual({ medianMs: 200, maxMs: 600, maxAfterRequest: 3 });
  });

  it('has nothing to say about fewer than two requests', () => {
    expect(putGaps([5]).maxAfterRequest).toBe(-1);
  });
});

describe('fixture: the benchmark\'s modules', () => {
  it('finds them from the source tree and from the compiled one under dist/', () => {
    const root = join(__dirname, '..', '..');
    const expected = join(root, 'bench', 'fixtures', 'transforms', 'async-5ms.mjs');
    expect(fixture('async-5ms.mjs', join(root, 'bench', 'scenarios'))).toBe(expected);
    expect(fixture('async-5ms.mjs', join(root, 'dist', 'bench', 'scenarios'))).toBe(expected);
    for (const name of ['stock-module.mjs', 'pass-through-module.mjs', 'filter-half.mjs', 'fan-out-two.mjs']) expect(existsSync(fixture(name))).toBe(true);
  });

  it('says which module is missing', () => {
    expect(() => fixture('nope.mjs', '/')).toThrow('bench/fixtures/transforms/nope.mjs not found above /');
  });
});

describe('the benchmark\'s modules answer as the scenario counts them', () => {
  // ES modules: jest's CommonJS runtime cannot import them, so a Node process of their own runs them.
  const script = `
    import { pathToFileURL } from 'node:url';
    const load = async (name) => (await import(pathToFileURL(process.argv[1] + '/' + name).href)).default;
    const data = Buffer.from('{"event_time":"2026-11-28T04:00:00.000Z","ticker":"MSFT","price":12.5}');
    const record = { data, text: () => data.toString('utf8'), json: () => JSON.parse(data.toString('utf8')) };
    const filter = await load('filter-half.mjs');
    const same = (out) => out === record.data;
    process.stdout.write(JSON.stringify({
      stock: JSON.parse((await load('stock-module.mjs'))(record)),
      passThrough: same((await load('pass-through-module.mjs'))(record)),
      async: same(await (await load('async-5ms.mjs'))(record)),
      filtered: Array.from({ length: 6 }, () => filter(record)).map((out) => out === null ? null : same(out)),
      fanOut: (await load('fan-out-two.mjs'))(record).map(same),
    }));`;
  const answers = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, dirname(fixture('async-5ms.mjs'))], { encoding: 'utf8' })) as Record<string, unknown>;

  it('stock: the ticker becomes AMZN, every other field kept', () => {
    expect(answers.stock).toEqual({ event_time: '2026-11-28T04:00:00.000Z', ticker: 'AMZN', price: 12.5 });
  });

  it('pass-through and async: the input bytes themselves', () => {
    expect(answers.passThrough).toBe(true);
    expect(answers.async).toBe(true);
  });

  it('filter: exactly every other record, the rest unchanged; fan-out: the bytes twice', () => {
    expect(answers.filtered).toEqual([true, null, true, null, true, null]);
    expect(answers.fanOut).toEqual([true, true]);
  });
});
