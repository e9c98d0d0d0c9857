/**
 * The dashboard's queries and the alert rules against a real Prometheus scraping a running local stack
 * (`shardflow local`: a coordinator, two workers, the generator). Grafana does not run here; Prometheus
 * does (Debian's `prometheus` package):
 * - the running coordinator and worker declare every metric the dashboard and the rules name (their
 *   /metrics `# TYPE` lines);
 * - Prometheus evaluates every dashboard query without an error, and the main panels show the stack as it
 *   is: records in and out, lag for each shard, every shard leased, none unleased;
 * - it loads the rules, evaluates each without an error, and none fires on a healthy stack;
 * - headless Chromium opens the main panels' queries in Prometheus's graph page and saves a full-page
 *   screenshot to test/artifacts/prometheus-queries.png (docs/prometheus-queries.png is a copy of one).
 *
 * Without `prometheus` on the PATH the test is skipped with one line, or fails under
 * SHARDFLOW_TEST_REQUIRE_PROGRAMS=1 (test/support/programs.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { freePort } from '../../cli/local/free-port';
import { spawnCli, waitForLog, type CliProcess } from '../support/cli';
import { localProperties, writeProperties } from '../support/properties';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { patient, uniqueName, waitFor } from '../support/wait';
import { stopWithDescendants } from '../support/process-tree';
import { findChromium } from '../support/chromium';
import { testNeeding } from '../support/programs';
import { dashboardExpressions, declaredMetrics, readDashboard, ruleExpressions, readRules, RULES_FILE, undeclared } from '../support/promql';

const ARTIFACTS = join(__dirname, '..', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'prometheus-queries.png');
const SHARDS = 4;
const WORKERS = 2;
/** The panels whose queries the screenshot shows, top to bottom. */
const MAIN_PANELS = ['Records in per stream', 'Records out per output', 'Lag per shard', 'Leases per worker', 'Unleased shards'];

const app = uniqueName('it-prom-ui');
const dashboard = readDashboard();
let stack: CliProcess | undefined;
let prometheus: { child: ChildProcess; output: () => string } | undefined;
let context: BrowserContext | undefined;
const tempDirs: string[] = [];

// A failed expectation must leave neither a browser, nor Prometheus, nor the stack (and its children) running.
afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (prometheus && prometheus.child.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.child.once('exit', resolve));
    prometheus.child.kill('SIGTERM');
    const timer = setTimeout(() => prometheus!.child.kill('SIGKILL'), patient(10_000));
    await exited;
    clearTimeout(timer);
  }
  if (stack) await stopWithDescendants(stack);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  const redis = testRedis();
  await dropApp(redis, app).finally(() => redis.disconnect());
}, patient(60_000));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Grafana's variables as Grafana would fill them for this stack: its app, every stream, a 1 s scrape. */
const forPrometheus = (expr: string) => expr.replace(/\$__rate_interval/g, '15s').replace(/\$__range/g, '1m').replace(/\$app\b/g, app).replace(/\$stream\b/g, '.+');

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, expr: string): Promise<Sample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  return body.data!.result;
}

const panelExpr = (title: string) => forPrometheus(dashboard.panels.find((p) => p.title === title)!.targets![0].expr!);

testNeeding('prometheus')('Prometheus scraping a local stack evaluates the dashboard and the rules, and shows the main panels', async () => {
  const kinesisPort = await freePort();
  const endpoint = `http://127.0.0.1:${kinesisPort}`;
  const properties = writeProperties(localProperties(endpoint, 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalIn', 'arn:aws:kinesis:us-east-1:000000000000:stream/LocalOut', { Dashboard: { enabled: 'false' } }));
  stack = spawnCli(['local', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--shards', String(SHARDS), '--workers', String(WORKERS), '--rate', '40', '--logs', tempDir('shardflow-local-logs-')]);
  await waitForLog(stack, 'records are flowing', 60_000);
  // The address lines the stack prints: `  metrics    coordinator  http://127.0.0.1:PORT/metrics  (…)`.
  const targets = new Map([...stack.output().matchAll(/^ +(?:metrics +)?(coordinator|worker-\d+) +http:\/\/([\d.]+:\d+)\/metrics /gm)].map((m) => [m[1], m[2]]));
  expect([...targets.keys()].sort()).toEqual(['coordinator', ...Array.from({ length: WORKERS }, (_, i) => `worker-${i + 1}`)]);

  // What a running coordinator and worker declare.
  const pages = await Promise.all(['coordinator', 'worker-1'].map(async (name) => declaredMetrics(await (await fetch(`http://${targets.get(name)}/metrics`)).text())));
  expect(undeclared([...dashboardExpressions(dashboard), ...ruleExpressions(readRules())], pages)).toEqual([]);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dir = tempDir('shardflow-prometheus-');
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: [{ job_name: 'shardflow', static_configs: [{ targets: [...targets.values()] }] }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
  const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  prometheus = { child, output: () => log };
  const exitedEarly = () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
  };

  // Every process scraped, and about a minute of samples for the graphs.
  await waitFor(async () => (await query(base, 'up{job="shardflow"} == 1')).length === targets.size, 60_000, () => `every target up in Prometheus\n${log.slice(-3000)}`, 500, exitedEarly);
  await waitFor(async () => Number((await query(base, 'min(count_over_time(up{job="shardflow"}[1m]))'))[0]?.value[1] ?? 0) >= 45, 180_000, 'a minute of samples of every target', 1000, exitedEarly);

  // Prometheus 2's own parser and engine take every dashboard query (Grafana's variables filled in).
  for (const { where, expr } of dashboardExpressions(dashboard, forPrometheus)) {
    await expect(query(base, expr).then(() => where)).resolves.toBe(where);
  }
  // The main panels show the stack: records in and out, lag for each shard, every shard leased by the workers.
  let seen: Record<string, Sample[]> = {};
  await waitFor(
    async () => {
      seen = Object.fromEntries(await Promise.all(MAIN_PANELS.map(async (title) => [title, await query(base, panelExpr(title))] as const)));
      const leases = seen['Leases per worker'].reduce((n, s) => n + Number(s.value[1]), 0);
      return (
        Number(seen['Records in per stream'][0]?.value[1]) > 0 &&
        Number(seen['Records out per output'].find((s) => s.metric.output === 'OutputStream0')?.value[1]) > 0 &&
        seen['Lag per shard'].length === SHARDS &&
        leases === SHARDS &&
        seen['Unleased shards'].length === 1 &&
        Number(seen['Unleased shards'][0].value[1]) === 0
      );
    },
    60_000,
    () => `the main panels showing records in and out, ${SHARDS} shards' lag, ${SHARDS} leases held and none unleased; they show ${JSON.stringify(seen)}`,
  );

  // The rules load and evaluate without an error, and none fires on a healthy stack.
  let rules: { name: string; health: string; state: string; lastError?: string; lastEvaluation: string }[] = [];
  await waitFor(
    async () => {
      const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { rules: typeof rules }[] } };
      rules = body.data.groups.flatMap((g) => g.rules);
      return rules.length === 7 && rules.every((r) => !r.lastEvaluation.startsWith('0001'));
    },
    30_000,
    () => `Prometheus evaluating the 7 rules; it has ${JSON.stringify(rules)}`,
  );
  expect(rules.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError ?? '', firing: r.state === 'firing' }))).toEqual(rules.map((r) => ({ name: r.name, health: 'ok', lastError: '', firing: false })));

  // The main panels' queries in Prometheus's graph page (Debian's package serves the classic UI).
  const browser = await findChromium();
  context = await chromium.launchPersistentContext(tempDir('shardflow-chromium-'), { executablePath: browser.executablePath, headless: true, args: browser.args, viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC' });
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  const page = context.pages()[0] ?? (await context.newPage());
  const params = MAIN_PANELS.map((title, i) => `g${i}.expr=${encodeURIComponent(panelExpr(title))}&g${i}.tab=0&g${i}.range_input=1m`).join('&');
  await page.goto(`${base}/classic/graph?${params}`);
  let legends: number[] = [];
  await waitFor(
    async () => {
      const graphs = page.locator('.graph_container');
      legends = await Promise.all(MAIN_PANELS.map((_, i) => graphs.nth(i).locator('.legend .line').count()));
      return legends.length === MAIN_PANELS.length && legends.every((n) => n > 0);
    },
    30_000,
    () => `a graph with a legend for each main panel's query; the legends have ${JSON.stringify(legends)} series`,
  );
  expect(await page.locator('.error.alert:visible').allInnerTexts()).toEqual([]);
  // The navigation bar is fixed to the viewport: in a full-page picture it would cover a graph.
  await page.addStyleTag({ content: '.navbar.fixed-top { position: absolute !important; }' });
  // The last query's box has the focus, which draws a highlight round it (a string: no DOM types here).
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(SCREENSHOT, { force: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
}, patient(300_000));
