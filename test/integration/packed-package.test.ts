/**
 * The installable package (issue #28, item 4): the tarball `npm pack` makes, installed into an empty folder
 * without dev dependencies, runs `npx shardflow worker --help`, `generate --help`, `transform` and `local`
 * (records flowing through a real local Kinesis and Redis), and ships the type definitions a user's
 * transform module compiles against. What a user who runs `npm install <tarball>` next to their own module
 * gets, checked as they would: through npx, in a folder of their own.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REDIS_URL } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { dropApp, testRedis } from '../support/redis';
import { patient } from '../support/wait';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

let folder: string;
let packDir: string;

beforeAll(async () => {
  packDir = mkdtempSync(join(tmpdir(), 'shardflow-pack-'));
  folder = mkdtempSync(join(tmpdir(), 'shardflow-user-'));
  // dist/ is built (`npm test` builds first); packing without scripts packs that build.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT });
  const [tarball] = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'my-pipeline', version: '1.0.0', private: true }));
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, tarball)], { cwd: folder, maxBuffer: 16 * 1024 * 1024 });
}, patient(300_000));

afterAll(() => {
  rmSync(packDir, { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

const npx = (args: string[], timeout = 60_000) => run('npx', ['--no-install', 'shardflow', ...args], { cwd: folder, timeout, maxBuffer: 16 * 1024 * 1024 });

test('installed without dev dependencies: none of them is there, and the package holds no benchmark or test build', () => {
  const installed = join(folder, 'node_modules');
  for (const dev of ['jest', 'typescript', 'eslint', 'playwright-core', '@sparticuz/chromium', '@prometheus-io/lezer-promql']) expect(existsSync(join(installed, dev))).toBe(false);
  expect(existsSync(join(installed, 'shardflow', 'dist', 'cli', 'main.js'))).toBe(true);
  expect(existsSync(join(installed, 'shardflow', 'dist', 'bench'))).toBe(false);
  expect(existsSync(join(installed, 'shardflow', 'dist', 'test'))).toBe(false);
  expect(existsSync(join(installed, 'shardflow', 'dist', 'types', 'module-api.d.ts'))).toBe(true);
});

test('npx shardflow worker --help, generate --help and transform run from the empty folder', async () => {
  const worker = await npx(['worker', '--help']);
  expect(worker.stdout).toContain('Usage: shardflow worker');
  const generate = await npx(['generate', '--help']);
  expect(generate.stdout).toContain('Usage: shardflow generate');
  // Ten sample stock records through the built-in transform, with no properties file of its own.
  const transform = await npx(['transform', '--count', '3', '--json']);
  const lines = transform.stdout.trim().split('\n').map((l) => JSON.parse(l) as { outcome: string });
  expect(lines).toHaveLength(3);
  for (const line of lines) expect(line.outcome).not.toBe('dead-letter');
});

test('a typed transform module compiles against the installed package\'s types', async () => {
  writeFileSync(
    join(folder, 'cents.ts'),
    [
      "import type { TransformRecord, TransformResult } from 'shardflow';",
      'export default function transform(record: TransformRecord): TransformResult {',
      '  const trade = record.json() as { price: number };',
      '  return JSON.stringify({ ...trade, cents: Math.round(trade.price * 100), shard: record.shardId });',
      '}',
    ].join('\n'),
  );
  // The compiler and Node's types come from this repository: the user's project would have its own.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'ES2022', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', '--outDir', 'out', 'cents.ts'], { cwd: folder });
  expect(existsSync(join(folder, 'out', 'cents.js'))).toBe(true);
  // And a wrong use of the types is caught.
  writeFileSync(join(folder, 'wrong.ts'), "import type { TransformRecord } from 'shardflow';\nexport default (r: TransformRecord): number => r.sequenceNumber;\n");
  await expect(run(process.execPath, [tsc, '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', '--noEmit', 'wrong.ts'], { cwd: folder })).rejects.toMatchObject({ stdout: expect.stringContaining('TS2322') });
}, patient(120_000));

test('shardflow local (the installed bin npx runs) runs the whole pipeline from the empty folder (its packaged properties), records flowing, and stops on SIGINT', async () => {
  const app = uniqueName('it-packed');
  const redis = testRedis();
  // The installed bin itself (what npx runs), so SIGINT reaches shardflow, not npx in between.
  const child = spawn(join(folder, 'node_modules', '.bin', 'shardflow'), ['local', '--redis', REDIS_URL, '--app', app, '--workers', '1', '--shards', '2', '--rate', '20', '--logs', join(folder, 'logs')], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  try {
    await waitFor(() => output.includes('records are flowing'), 120_000, () => `records flowing through the packaged stack:\n${output.slice(-3000)}`, 500, () => {
      if (child.exitCode !== null) throw new Error(`shardflow local exited ${child.exitCode}:\n${output.slice(-3000)}`);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await dropApp(redis, app);
    redis.disconnect();
  }
}, patient(240_000));
