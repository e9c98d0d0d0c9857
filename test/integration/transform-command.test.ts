/**
 * `shardflow transform`, the real CLI: each module of examples/transforms does what docs/transforms.md
 * says over records whose outcome is known, `--json` prints exactly the documented shape (one object per
 * input record, on standard output alone: logs and the summary go to standard error), AWS-CLI-shaped
 * input lines (bytes that are not UTF-8 included), and the failures: a bad input line, a module that
 * throws, a module that cannot load. No Redis, no Kinesis.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sampleSequenceNumber } from '../../cli/transform/sample-records';
import type { RecordReport } from '../../cli/transform/outcome-report';
import { BIN } from '../support/cli';
import { localProperties, writeProperties } from '../support/properties';
import { patient } from '../support/wait';

const root = join(__dirname, '..', '..');
const examples = join(root, 'examples', 'transforms');
const IN = 'arn:aws:kinesis:us-east-1:000000000000:stream/in';
const OUT = 'arn:aws:kinesis:us-east-1:000000000000:stream/out';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shardflow-transform-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `shardflow transform …` from the repository's root to its end, stdout and stderr apart; killed (and failed) past its deadline. */
function transform(args: string[], stdin?: string, timeoutMs = 60_000): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, SHARDFLOW_LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
  delete env.APPLICATION_PROPERTIES_FILE;
  const child = spawn(process.execPath, [BIN, 'transform', ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  const allowed = patient(timeoutMs);
  const timer = setTimeout(() => child.kill('SIGKILL'), allowed);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') reject(new Error(`shardflow transform ${args.join(' ')} did not end within ${allowed / 1000} s:\n${stdout}${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A --json run that succeeded: every line of standard output parsed (one that is not JSON fails the test), in order. */
function reports(run: Run): RecordReport[] {
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(run.stdout.endsWith('\n')).toBe(true);
  const lines = run.stdout.slice(0, -1).split('\n');
  const parsed = lines.map((line) => {
    try {
      return JSON.parse(line) as RecordReport;
    } catch {
      throw new Error(`a line of standard output is not JSON: ${line}`);
    }
  });
  parsed.forEach((report, i) => expect(report.input).toBe(i + 1));
  return parsed;
}

/** The summary line on standard error (with --json), after the logs. */
function summary(run: Run): string {
  const line = run.stderr.split('\n').find((l) => / record\(s\) through /.test(l));
  if (line === undefined) throw new Error(`no summary line on standard error:\n${run.stderr}`);
  return line;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function jsonl(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join('\n') + '\n';
}

const trade = (ticker: string, price: number) => ({ event_time: '2024-05-01T12:00:00.000Z', ticker, price });
const seq = sampleSequenceNumber;

/** The documented record object of a run over input lines keyed "partitionkey". */
function written(n: number, outputs: RecordReport['outputs']): RecordReport {
  return { input: n, sequenceNumber: seq(n), partitionKey: 'partitionkey', outcome: 'written', outputs };
}
const filtered = (n: number): RecordReport => ({ input: n, sequenceNumber: seq(n), partitionKey: 'partitionkey', outcome: 'filtered', outputs: [] });

describe('without --module: the built-in stock transform over stock.py-like records', () => {
  test('--json: 10 records, each written once to OutputStream0 with ticker AMZN and its other fields kept', async () => {
    const run = await transform(['--json']);
    const all = reports(run);
    expect(all).toHaveLength(10);
    for (const [i, report] of all.entries()) {
      expect(Object.keys(report)).toEqual(['input', 'sequenceNumber', 'partitionKey', 'outcome', 'outputs']);
      expect(report).toMatchObject({ sequenceNumber: seq(i + 1), partitionKey: 'partitionkey', outcome: 'written' });
      expect(report.outputs).toHaveLength(1);
      const [out] = report.outputs;
      expect(Object.keys(out)).toEqual(['output', 'partitionKey', 'data']);
      expect(out).toMatchObject({ output: 'OutputStream0', partitionKey: 'partitionkey' });
      const stock = JSON.parse(out.data!) as Record<string, unknown>;
      expect(Object.keys(stock)).toEqual(['event_time', 'ticker', 'price']);
      expect(stock.ticker).toBe('AMZN');
      expect(typeof stock.price).toBe('number');
    }
    expect(summary(run)).toBe('10 record(s) through builtin:stock: 10 written as 10 output record(s), 0 filtered out, 0 dead-lettered');
  });

  test('as text: a line per record and per output, then the summary, all on standard output; --count picks how many', async () => {
    const run = await transform(['--count', '3']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3 * 2 + 1);
    for (let i = 0; i < 3; i++) {
      expect(lines[2 * i]).toBe(`#${i + 1} (key "partitionkey"): 1 output record`);
      expect(lines[2 * i + 1]).toMatch(/^ {2}-> OutputStream0 key "partitionkey": \{"event_time":"[^"]+","ticker":"AMZN","price":[\d.]+\}$/);
    }
    expect(lines[6]).toBe('3 record(s) through builtin:stock: 3 written as 3 output record(s), 0 filtered out, 0 dead-lettered');
    expect(run.stderr).not.toContain('record(s) through');
  });

  test('a --count that is not a count is exit 2, one line', async () => {
    const run = await transform(['--count', '0']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Invalid argument: --count: value "0" is not allowed; allowed: an integer from 1 to 1000000');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('the examples', () => {
  test('filter.mjs keeps trades priced above 50, as they came, and filters out the rest', async () => {
    const prices = [10, 50, 50.01, 99.5, 0, 75];
    const input = file('filter.jsonl', jsonl(prices.map((p) => trade('MSFT', p))));
    const run = await transform(['--module', join(examples, 'filter.mjs'), '--input', input, '--json']);
    expect(reports(run)).toStrictEqual(
      prices.map((price, i) => (price > 50 ? written(i + 1, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: JSON.stringify(trade('MSFT', price)) }]) : filtered(i + 1))),
    );
    expect(summary(run)).toBe(`6 record(s) through ${join(examples, 'filter.mjs')}: 3 written as 3 output record(s), 3 filtered out, 0 dead-lettered`);
  });

  test('enrich.mjs adds each trade\'s company, and keeps its fields', async () => {
    const trades = [trade('AAPL', 1), trade('AMZN', 2), trade('NOPE', 3), trade('TBV', 4)];
    const run = await transform(['--module', join(examples, 'enrich.mjs'), '--input', file('enrich.jsonl', jsonl(trades)), '--json']);
    const companies = ['Apple', 'Amazon', 'unknown', 'Tangible Book Value'];
    expect(reports(run)).toStrictEqual(trades.map((t, i) => written(i + 1, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: JSON.stringify({ ...t, company: companies[i] }) }])));
  });

  test('fan-out.mjs makes two records of each: the trade keyed by its ticker, then an audit line keyed "audit"', async () => {
    const trades = [trade('INTC', 10), trade('AMZN', 20)];
    const run = await transform(['--module', join(examples, 'fan-out.mjs'), '--input', file('fan-out.jsonl', jsonl(trades)), '--json']);
    expect(reports(run)).toStrictEqual(
      trades.map((t, i) =>
        written(i + 1, [
          { output: 'OutputStream0', partitionKey: t.ticker, data: JSON.stringify(t) },
          { output: 'OutputStream0', partitionKey: 'audit', data: JSON.stringify({ audit: t.ticker, shardId: 'shardId-000000000000', sequenceNumber: seq(i + 1) }) },
        ]),
      ),
    );
    expect(summary(run)).toContain('2 written as 4 output record(s)');
  });

  const routeInput = () => file('route.jsonl', jsonl([trade('AMZN', 1), trade('MSFT', 2), trade('AAPL', 3), trade('AMZN', 4)]));
  const routed = (data: string[]) => [
    written(1, [{ output: 'OutputStream1', partitionKey: 'AMZN', data: data[0] }]),
    written(2, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: data[1] }]),
    written(3, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: data[2] }]),
    written(4, [{ output: 'OutputStream1', partitionKey: 'AMZN', data: data[3] }]),
  ];

  test('route-by-ticker.mjs with its properties sends AMZN to OutputStream1 (keyed by ticker there) and the others to OutputStream0', async () => {
    const input = routeInput();
    const data = [trade('AMZN', 1), trade('MSFT', 2), trade('AAPL', 3), trade('AMZN', 4)].map((t) => JSON.stringify(t));
    const run = await transform(['--module', 'examples/transforms/route-by-ticker.mjs', '--properties', 'examples/transforms/route-by-ticker.properties.json', '--input', input, '--json']);
    expect(reports(run)).toStrictEqual(routed(data));
    // Without --module, the properties' own Transform.module, relative to the properties file.
    const fromProperties = await transform(['--properties', join(examples, 'route-by-ticker.properties.json'), '--input', input, '--json']);
    expect(reports(fromProperties)).toStrictEqual(routed(data));
    expect(summary(fromProperties)).toBe(`4 record(s) through ${join(examples, 'route-by-ticker.mjs')}: 4 written as 4 output record(s), 0 filtered out, 0 dead-lettered`);
  });

  test('route-by-ticker.mjs without an OutputStream1 group dead-letters the AMZN trades, naming the groups there are', async () => {
    const run = await transform(['--module', join(examples, 'route-by-ticker.mjs'), '--input', routeInput(), '--json']);
    const all = reports(run);
    expect(all.map((r) => r.outcome)).toEqual(['dead-letter', 'written', 'written', 'dead-letter']);
    expect(all[0]).toStrictEqual({ input: 1, sequenceNumber: seq(1), partitionKey: 'partitionkey', outcome: 'dead-letter', outputs: [], reason: 'unknown output group "OutputStream1"; the configuration has OutputStream0' });
  });

  test('uppercase.cjs (CommonJS) upper-cases the text, filters out an empty record and still writes one that is not UTF-8', async () => {
    const lines = [
      JSON.stringify({ ticker: 'aapl', note: 'Grüße' }),
      JSON.stringify({ Data: '', PartitionKey: 'empty' }),
      JSON.stringify({ Data: Buffer.from([0x61, 0xff, 0x62]).toString('base64'), PartitionKey: 'bytes' }),
    ].join('\n');
    const run = await transform(['--module', join(examples, 'uppercase.cjs'), '--input', file('upper.jsonl', lines), '--json']);
    expect(reports(run)).toStrictEqual([
      written(1, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: '{"TICKER":"AAPL","NOTE":"GRÜSSE"}' }]),
      { input: 2, sequenceNumber: seq(2), partitionKey: 'empty', outcome: 'filtered', outputs: [] },
      // text() reads the byte that is not UTF-8 as U+FFFD.
      { input: 3, sequenceNumber: seq(3), partitionKey: 'bytes', outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'bytes', data: 'A\uFFFDB' }] },
    ]);
  });

  test('typed/price-in-cents.ts, compiled, reads its own property group in open() (logging to standard error) and adds cents', async () => {
    // The types are checked by test/unit/typed-example.test.ts; here the compiled module runs. Into a folder of
    // this test's own, so it never races that test's build of examples/transforms/typed/dist.
    const outDir = join(dir, 'typed-dist');
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(examples, 'typed'), '--outDir', outDir, '--skipLibCheck'], { cwd: root, timeout: patient(120_000) });
    const properties = writeProperties(localProperties('http://127.0.0.1:1', IN, OUT, { PriceInCents: { 'min-price': '20' } }));
    const trades = [trade('AAPL', 12.34), trade('MSFT', 20), trade('TBV', 99.99)];
    const run = await transform(['--module', join(outDir, 'price-in-cents.js'), '--properties', properties, '--input', file('typed.jsonl', jsonl(trades)), '--json']);
    expect(reports(run)).toStrictEqual([
      filtered(1),
      written(2, [{ output: 'OutputStream0', partitionKey: 'MSFT', data: JSON.stringify({ ...trades[1], cents: 2000 }) }]),
      written(3, [{ output: 'OutputStream0', partitionKey: 'TBV', data: JSON.stringify({ ...trades[2], cents: 9999 }) }]),
    ]);
    const opened = run.stderr.split('\n').filter((l) => l.includes('price-in-cents opened'));
    expect(opened).toHaveLength(1);
    expect(JSON.parse(opened[0])).toMatchObject({ minimum: 20 });
    expect(run.stdout).not.toContain('price-in-cents opened');
  });
});

describe('AWS CLI records as input', () => {
  test('Data is base64, PartitionKey and ExplicitHashKey are the record\'s; output bytes that are not UTF-8 are data null with dataBase64', async () => {
    const echo = file(
      'echo.mjs',
      'export default (record) => ({ data: record.data, partitionKey: `${record.partitionKey}-out`, ...(record.explicitHashKey ? { explicitHashKey: record.explicitHashKey } : {}) });\n',
    );
    const notUtf8 = Buffer.from([0xc3, 0x28, 0xff, 0x00, 0x7f]);
    const input = [
      JSON.stringify({ Data: Buffer.from('{"ticker":"AMZN"}').toString('base64'), PartitionKey: 'k1' }),
      JSON.stringify({ Data: notUtf8.toString('base64'), PartitionKey: 'k2', ExplicitHashKey: '340282366920938463463374607431768211455' }),
      JSON.stringify({ Data: Buffer.from('plain text').toString('base64') }),
    ].join('\n');
    // From standard input, as `aws kinesis get-records … | jq -c '.Records[]'` would give it.
    const run = await transform(['--module', echo, '--input', '-', '--json'], input);
    expect(reports(run)).toStrictEqual([
      { input: 1, sequenceNumber: seq(1), partitionKey: 'k1', outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'k1-out', data: '{"ticker":"AMZN"}' }] },
      {
        input: 2,
        sequenceNumber: seq(2),
        partitionKey: 'k2',
        outcome: 'written',
        outputs: [{ output: 'OutputStream0', partitionKey: 'k2-out', explicitHashKey: '340282366920938463463374607431768211455', data: null, dataBase64: notUtf8.toString('base64') }],
      },
      { input: 3, sequenceNumber: seq(3), partitionKey: 'partitionkey', outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'partitionkey-out', data: 'plain text' }] },
    ]);
  });

  test('builtin:pass-through writes the bytes as they are, keyed by the input\'s key', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x41]);
    const run = await transform(['--module', 'builtin:pass-through', '--input', '-', '--json'], `${JSON.stringify({ Data: bytes.toString('base64'), PartitionKey: 'k' })}\n`);
    expect(reports(run)).toStrictEqual([{ input: 1, sequenceNumber: seq(1), partitionKey: 'k', outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'k', data: null, dataBase64: bytes.toString('base64') }] }]);
  });
});

describe('failures', () => {
  test('a bad input line is exit 2 naming its line, before any module runs', async () => {
    const input = file('bad.jsonl', `${JSON.stringify(trade('AAPL', 1))}\n\n{"ticker": "MSFT",\n`);
    const run = await transform(['--module', join(examples, 'filter.mjs'), '--input', input, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`Invalid argument: --input: ${JSON.stringify(input)}: line 3 is not JSON`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const cli = await transform(['--input', '-'], '{"Data":"aGk=","PartitionKey":1}\n');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('line 1: "PartitionKey" must be a string');
  });

  test('an --input file that does not exist is exit 2', async () => {
    const run = await transform(['--input', join(dir, 'missing.jsonl')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Invalid argument: --input');
  });

  test('a module that throws dead-letters that record, with the reason and the first line of its stack; the others go on', async () => {
    const module = file('throws.mjs', ['export default function transform(record) {', '  const trade = record.json();', "  if (trade.ticker === 'BAD') throw new RangeError(`no trades of ${trade.ticker}`);", '  return record.data;', '}', ''].join('\n'));
    const trades = [trade('AAPL', 1), trade('BAD', 2), trade('MSFT', 3)];
    const run = await transform(['--module', module, '--input', file('throws.jsonl', jsonl(trades)), '--json']);
    const all = reports(run);
    expect(all[0]).toStrictEqual(written(1, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: JSON.stringify(trades[0]) }]));
    expect(all[2]).toStrictEqual(written(3, [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: JSON.stringify(trades[2]) }]));
    expect(Object.keys(all[1])).toEqual(['input', 'sequenceNumber', 'partitionKey', 'outcome', 'outputs', 'reason', 'stack']);
    expect(all[1]).toMatchObject({ input: 2, sequenceNumber: seq(2), partitionKey: 'partitionkey', outcome: 'dead-letter', outputs: [], reason: 'transform failed: RangeError: no trades of BAD' });
    expect(all[1].stack).toMatch(new RegExp(`^at .*${module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+\\)?$`));
    expect(summary(run)).toContain('2 written as 2 output record(s), 0 filtered out, 1 dead-lettered');
  });

  test('a record that is not JSON dead-letters in record.json(); the wrong result shape dead-letters with what is wrong', async () => {
    const module = file('shape.mjs', 'export default (record) => (record.partitionKey === "number" ? 42 : { data: record.json() });\n');
    const input = [JSON.stringify({ Data: Buffer.from('not json').toString('base64'), PartitionKey: 'text' }), JSON.stringify({ Data: Buffer.from('{}').toString('base64'), PartitionKey: 'number' })].join('\n');
    const all = reports(await transform(['--module', module, '--input', '-', '--json'], input));
    expect(all.map((r) => r.outcome)).toEqual(['dead-letter', 'dead-letter']);
    expect(all[0].reason).toMatch(/^transform failed: SyntaxError: /);
    expect(all[0].stack).toMatch(/^at /);
    expect(all[1].reason).toMatch(/^wrong result shape: /);
  });

  test.each([
    ['a syntax error', 'syntax.mjs', 'export default function transform(record) {\n  return record.data\n', 'cannot be loaded: SyntaxError'],
    ['no transform function', 'helper.mjs', 'export function helper() {}\n', 'exports no transform function: export one as `default` or as `transform` (it exports helper)'],
    ['an open() that fails', 'open.mjs', 'export function open() { throw new Error("no API key"); }\nexport default (r) => r.data;\n', 'could not open: its open() failed: Error: no API key'],
  ])('a module with %s is exit 2, one line naming the file and the problem, and no report', async (_, name, text, problem) => {
    const module = file(name, text);
    const run = await transform(['--module', module, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`Invalid transform module: property group "Transform", key "module": ${JSON.stringify(module)} ${problem}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('a module file that does not exist is exit 2 naming it', async () => {
    const missing = join(dir, 'nowhere.mjs');
    const run = await transform(['--module', missing]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${JSON.stringify(missing)} cannot be loaded: no such file`);
  });
});
