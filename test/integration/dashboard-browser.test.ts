/**
 * The Bull Board dashboard in a real browser: headless Chromium (Debian's `chromium` package, driven by
 * playwright-core) opens the dashboard of a running local stack (`shardflow local`), goes to the lease
 * queue's "Active" tab, sees one active job per shard of the input stream, each with its progress (owner,
 * reader, checkpoint, records read), and saves a full-page screenshot to test/artifacts/dashboard.png.
 *
 * Chromium is `CHROMIUM_PATH` or /usr/bin/chromium (`.ci/run` installs Debian's package when it is missing).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort, portAnswers } from '../../cli/local/free-port';
import { LEASE_QUEUE } from '../../shared/redis/keys';
import { spawnCli, waitForLog, type CliProcess } from '../support/cli';
import { localClient } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { stopWithDescendants } from '../support/process-tree';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'dashboard.png');
const SHARDS = 4;
const WORKERS = 2;

interface LeaseProgress {
  owner?: string;
  reader?: string;
  checkpoint?: string | null;
  recordsRead?: number;
}

const app = uniqueName('it-dash-browser');
let stack: CliProcess | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

// A failed expectation must leave neither a browser nor the stack (and its children) running.
afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (stack) {
    await stopWithDescendants(stack);
  }
  const redis = testRedis();
  await dropApp(redis, app).finally(() => redis.disconnect());
}, 60_000);



/** The progress object as Bull Board's JSON view prints it (`owner:"worker-…",` one key per line). */
function parseProgress(text: string): LeaseProgress {
  const value = (key: string) => new RegExp(`"?${key}"?\\s*:\\s*("[^"]*"|null|-?\\d+)`).exec(text)?.[1];
  const str = (key: string) => {
    const v = value(key);
    return v === undefined ? undefined : v === 'null' ? null : v.replace(/^"|"$/g, '');
  };
  const records = value('recordsRead');
  return { owner: str('owner') ?? undefined, reader: str('reader') ?? undefined, checkpoint: str('checkpoint'), recordsRead: records === undefined ? undefined : Number(records) };
}

async function activeView(page: Page): Promise<{ badge: number | undefined; jobs: string[] }> {
  const main = page.getByRole('main');
  const tab = main.getByRole('link', { name: /^active\b/i });
  const badge = /(\d+)\s*$/.exec((await tab.textContent()) ?? '')?.[1];
  // Each job card is titled by a level-5 heading: the job id, which is the shard id.
  const jobs = (await main.getByRole('heading', { level: 5 }).allTextContents()).map((t) => t.trim());
  return { badge: badge === undefined ? undefined : Number(badge), jobs };
}

test('headless Chromium sees one active lease job per shard with its progress on the dashboard, and saves a screenshot', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);

  const kinesisPort = await freePort();
  const dashboardPort = await freePort();
  const endpoint = `http://127.0.0.1:${kinesisPort}`;
  const properties = writeProperties(
    localProperties(endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn', 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut', {
      Dashboard: { port: String(dashboardPort) },
    }),
  );
  const logs = mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'));
  stack = spawnCli(['local', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--shards', String(SHARDS), '--workers', String(WORKERS), '--rate', '40', '--logs', logs]);
  await waitForLog(stack, 'records are flowing', 60_000);
  await waitFor(() => portAnswers(dashboardPort), 30_000, () => `the dashboard listening on 127.0.0.1:${dashboardPort}\n${stack!.output()}`);

  // The shards of the input stream, as Kinesis lists them.
  const kinesis = localClient(endpoint);
  const listed = await kinesis.send(new ListShardsCommand({ StreamName: 'LocalIn' })).finally(() => kinesis.destroy());
  const shards = (listed.Shards ?? []).map((s) => s.ShardId!).sort();
  expect(shards).toHaveLength(SHARDS);

  userDataDir = mkdtempSync(join(tmpdir(), 'shardflow-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  // Bull Board links a web font; nothing but the dashboard is fetched, so an offline machine behaves the same.
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  const page = context.pages()[0] ?? (await context.newPage());

  // The home page lists the queues; the lease queue's page, then its "Active" tab.
  await page.goto(`http://127.0.0.1:${dashboardPort}/`);
  await page.getByRole('navigation').getByRole('link', { name: LEASE_QUEUE, exact: true }).click();
  await page.waitForURL(`**/queue/${LEASE_QUEUE}`);
  await page.getByRole('heading', { level: 1, name: `${app}: shard leases` }).waitFor();
  await page.getByRole('main').getByRole('link', { name: /^active\b/i }).click();
  await page.waitForURL(`**/queue/${LEASE_QUEUE}?status=active`);

  // One active job per shard: the tab's count and the job cards (Bull Board refreshes the view itself).
  let seen: { badge: number | undefined; jobs: string[] } = { badge: undefined, jobs: [] };
  await waitFor(
    async () => {
      seen = await activeView(page);
      return seen.badge === shards.length && [...seen.jobs].sort().join() === shards.join();
    },
    30_000,
    () => `one active lease job per shard (${shards.join(', ')}) on the dashboard; it shows ${seen.badge ?? 'no'} active, jobs [${seen.jobs.join(', ')}]`,
  );
  expect([...seen.jobs].sort()).toEqual(shards);

  // Open every job's Progress tab; each shows its owner, reader, checkpoint and records read.
  const main = page.getByRole('main');
  const progressTabs = main.getByRole('tab', { name: 'Progress', exact: true });
  expect(await progressTabs.count()).toBe(shards.length);
  for (let i = 0; i < shards.length; i++) await progressTabs.nth(i).click();
  let progress: Record<string, LeaseProgress> = {};
  await waitFor(
    async () => {
      const jobs = (await main.getByRole('heading', { level: 5 }).allTextContents()).map((t) => t.trim());
      const panels = await main.getByRole('tabpanel', { name: 'Progress', exact: true }).allInnerTexts();
      if (panels.length !== jobs.length) return false;
      progress = Object.fromEntries(jobs.map((job, i) => [job, parseProgress(panels[i])]));
      return shards.every((shard) => {
        const p = progress[shard];
        return p && /^worker-/.test(p.owner ?? '') && p.reader === 'POLLING' && typeof p.checkpoint === 'string' && (p.recordsRead ?? 0) > 0;
      });
    },
    30_000,
    () => `every shard's progress (owner, reader, checkpoint, recordsRead > 0) on the dashboard; it shows ${JSON.stringify(progress)}`,
  );
  expect(Object.keys(progress).sort()).toEqual(shards);
  // The owners are the stack's workers (how they split the shards is the cluster tests' business).
  expect(new Set(Object.values(progress).map((p) => p.owner)).size).toBeLessThanOrEqual(WORKERS);

  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(SCREENSHOT, { force: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
}, 180_000);
