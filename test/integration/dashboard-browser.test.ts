/**
 * The Bull Board dashboard in a real browser: headless Chromium (driven by playwright-core) opens the
 * dashboard of a running local stack (`shardflow local`), goes to the lease queue's "Active" tab and sees
 * one active job per shard of the input stream, each titled with what an operator looks at first (owner,
 * reader, checkpoint, lag, records read) without opening a tab; the Progress tab has the same figures.
 * It saves a full-page screenshot to test/artifacts/dashboard.png (docs/dashboard.png is a copy of one).
 *
 * Chromium: `CHROMIUM_PATH`, Debian's /usr/bin/chromium, or the one the `@sparticuz/chromium` dev
 * dependency ships (see test/support/chromium.ts), so `npm test` needs no apt step.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { patient, uniqueName, waitFor } from '../support/wait';
import { stopWithDescendants } from '../support/process-tree';
import { findChromium } from '../support/chromium';

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
}, patient(60_000));



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

async function activeView(page: Page): Promise<{ badge: number | undefined; jobs: string[]; titles: string[] }> {
  const main = page.getByRole('main');
  const tab = main.getByRole('link', { name: /^active\b/i });
  const badge = /(\d+)\s*$/.exec((await tab.textContent()) ?? '')?.[1];
  // Each job card is titled by a level-5 heading: the job's name as the dashboard formats it, which
  // starts with the shard id (the job id).
  const titles = (await main.getByRole('heading', { level: 5 }).allTextContents()).map((t) => t.trim());
  const jobs = titles.map((t) => t.split(' · ')[0]);
  return { badge: badge === undefined ? undefined : Number(badge), jobs, titles };
}

/** A lease card's title: `shard · owner · reader · checkpoint …digits · lag N ms · N read`. */
function parseTitle(title: string): { shard: string; owner?: string; reader?: string; checkpoint?: string; lag?: number; read?: number } {
  const [shard, owner, reader, ...rest] = title.split(' · ');
  const find = (re: RegExp) => rest.map((part) => re.exec(part)?.[1]).find((v) => v !== undefined);
  const number = (v: string | undefined) => (v === undefined ? undefined : Number(v.replace(/,/g, '')));
  return { shard, owner, reader, checkpoint: find(/^checkpoint …(\d+)$/), lag: number(find(/^lag ([\d,]+) ms$/)), read: number(find(/^([\d,]+) read$/)) };
}

test('headless Chromium sees one active lease job per shard with its progress on the dashboard, and saves a screenshot', async () => {
  const browser = await findChromium();
  process.stdout.write(`browser: ${browser.source} at ${browser.executablePath}\n`);

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
  // A lease job's name is its stream's name and its shard (a fleet may read several streams).
  const shards = (listed.Shards ?? []).map((s) => `LocalIn/${s.ShardId!}`).sort();
  expect(shards).toHaveLength(SHARDS);

  userDataDir = mkdtempSync(join(tmpdir(), 'shardflow-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: browser.args,
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
  // The queue's description names the input streams (and says which are deleted or removed).
  await page.getByText(/Input streams: LocalIn\./).first().waitFor();
  await page.getByRole('main').getByRole('link', { name: /^active\b/i }).click();
  await page.waitForURL(`**/queue/${LEASE_QUEUE}?status=active`);

  // One active job per shard: the tab's count and the job cards (Bull Board refreshes the view itself).
  let seen: { badge: number | undefined; jobs: string[]; titles: string[] } = { badge: undefined, jobs: [], titles: [] };
  await waitFor(
    async () => {
      seen = await activeView(page);
      return seen.badge === shards.length && [...seen.jobs].sort().join() === shards.join();
    },
    30_000,
    () => `one active lease job per shard (${shards.join(', ')}) on the dashboard; it shows ${seen.badge ?? 'no'} active, jobs [${seen.jobs.join(', ')}]`,
  );
  expect([...seen.jobs].sort()).toEqual(shards);

  // Without clicking anything, each card's title shows its owner, reader, checkpoint, lag and records read.
  let titles: ReturnType<typeof parseTitle>[] = [];
  await waitFor(
    async () => {
      titles = (await activeView(page)).titles.map(parseTitle);
      return (
        titles.length === shards.length &&
        shards.every((shard) => {
          const t = titles.find((x) => x.shard === shard);
          return t && /^worker-/.test(t.owner ?? '') && t.reader === 'POLLING' && t.checkpoint !== undefined && t.lag !== undefined && (t.read ?? 0) > 0;
        })
      );
    },
    30_000,
    () => `every active lease's title with owner, reader, checkpoint, lag and records read; the titles are ${JSON.stringify(titles)}`,
  );

  // Open every job's Progress tab; each shows its owner, reader, checkpoint and records read.
  const main = page.getByRole('main');
  const progressTabs = main.getByRole('tab', { name: 'Progress', exact: true });
  expect(await progressTabs.count()).toBe(shards.length);
  for (let i = 0; i < shards.length; i++) await progressTabs.nth(i).click();
  let progress: Record<string, LeaseProgress> = {};
  await waitFor(
    async () => {
      const { jobs } = await activeView(page);
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
}, patient(180_000));
