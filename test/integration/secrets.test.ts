/**
 * Secrets never leave a process: the Redis password (in the URL's user info or as `?password=`), the AWS
 * secret key and the dashboard's password and token are in no log line of any process (at trace level),
 * in no process's /metrics, /healthz or /readyz, in the dashboard's API, nor on any command line (`ps`).
 * A private password-protected redis-server, with a password that holds "/", "@" and ":".
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/local/free-port';
import { redisServerOnPath, startRedisServer, type RedisServer } from '../../cli/local/redis-server';
import { createStream, putAll } from '../support/kinesis';
import { localProperties, writeProperties, type Groups } from '../support/properties';
import { runCli, spawnCli, waitForLog, type CliProcess } from '../support/cli';
import { opsUrl } from '../support/fault-pipeline';
import { descendants, stopWithDescendants } from '../support/process-tree';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { testNeeding } from '../support/programs';

const h = useClusterHarness();

/** The Redis password: "@", "/" and ":" in it, and pieces of five letters that occur nowhere by chance. */
const PASSWORD = 'Zq3Kx@Vw8Jp/Mr5Ty:Hb2Nc';
const AWS_SECRET = 'aws-Secret-Key-0001';
const DASHBOARD_PASSWORD = 'dash-Pa55word';
const DASHBOARD_TOKEN = 'dash-Token-77';

/** What must never be seen: every secret, the password percent-encoded too, and each piece of it. */
const LEAKS = [PASSWORD, encodeURIComponent(PASSWORD), ...PASSWORD.split(/[^A-Za-z0-9]/), AWS_SECRET, DASHBOARD_PASSWORD, DASHBOARD_TOKEN];

function expectNoSecret(where: string, text: string): void {
  const found = LEAKS.filter((secret) => text.includes(secret));
  expect({ where, found }).toEqual({ where, found: [] });
}

/** The two ways a Redis URL carries the password: user info (percent-encoded) and the `password` parameter (ioredis's). */
const URL_FORMS: Array<[string, (server: RedisServer) => string, string]> = [
  ['in the user info', (server) => server.url, 'redis://:***@127.0.0.1'],
  ['as ?password=', (server) => `redis://127.0.0.1:${server.port}?password=${PASSWORD}`, '?password=***'],
];

let redis: RedisServer | undefined;
const stacks: CliProcess[] = [];

beforeAll(async () => {
  // Without redis-server the tests below are skipped (testNeeding says so).
  if (redisServerOnPath()) redis = await startRedisServer({ password: PASSWORD });
});

afterEach(async () => {
  for (const stack of stacks.splice(0)) await stopWithDescendants(stack);
});

afterAll(async () => {
  await redis?.stop();
});

function secretProperties(endpoint: string, inputArn: string, outputArn: string, dashboardPort: number): Groups {
  const aws = { 'aws.credentials.provider.basic.secretkey': AWS_SECRET };
  return localProperties(endpoint, inputArn, outputArn, {
    InputStream0: aws,
    OutputStream0: aws,
    Dashboard: { port: String(dashboardPort), 'auth.basic.username': 'ops', 'auth.basic.password': DASHBOARD_PASSWORD, 'auth.bearer.token': DASHBOARD_TOKEN },
  });
}

/** Everything a process serves on its operations endpoint. */
async function opsPages(base: string): Promise<string> {
  const pages = await Promise.all(['/metrics', '/healthz', '/readyz'].map(async (path) => `${path}\n${await (await fetch(`${base}${path}`)).text()}`));
  return pages.join('\n');
}

/** The dashboard's page and API, with its credentials. */
async function dashboardPages(port: number): Promise<string> {
  const authorization = `Basic ${Buffer.from(`ops:${DASHBOARD_PASSWORD}`).toString('base64')}`;
  const api = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/queues`, { headers: { authorization } }).catch(() => undefined);
    return res?.status === 200 ? res.text() : undefined;
  }, 20_000, 'the dashboard API');
  expect(api).toContain('"queues"');
  const page = await (await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization } })).text();
  return `${api}\n${page}`;
}

/** Every process's full command line, as any user of the host sees it. */
function commandLines(): string {
  return execFileSync('ps', ['-eo', 'pid=,args=']).toString();
}

function procFile(pid: number, file: 'cmdline' | 'environ'): string[] {
  try {
    return readFileSync(`/proc/${pid}/${file}`).toString().split('\0');
  } catch {
    return []; // exited meanwhile
  }
}

describe('the local stack on a password-protected Redis', () => {
  testNeeding('redis-server').each(URL_FORMS)('password %s: nowhere in logs, ops endpoints, dashboard or command lines', async (_form, urlOf, redactedForm) => {
    const redisUrl = urlOf(redis!);
    const kinesisPort = await freePort();
    const dashboardPort = await freePort();
    const properties = writeProperties(
      secretProperties(`http://127.0.0.1:${kinesisPort}`, 'arn:aws:kinesis:us-east-1:000000000000:stream/SecretIn', 'arn:aws:kinesis:us-east-1:000000000000:stream/SecretOut', dashboardPort),
    );
    const logs = mkdtempSync(join(tmpdir(), 'shardflow-secrets-logs-'));
    // The URL goes to the stack as an operator should give it: in REDIS_URL, not on its command line.
    const stack = spawnCli(['local', '--properties', properties, '--app', uniqueName('it-secrets'), '--rate', '40', '--logs', logs], { REDIS_URL: redisUrl, LOG_LEVEL: 'trace' });
    stacks.push(stack);
    await waitForLog(stack, 'records are flowing', 90_000);
    expect(stack.output()).not.toContain('starting a private redis-server');

    // Each child got the URL through its environment, and none has it (or --redis) on its command line.
    const children = descendants(stack.child.pid!).filter((pid) => procFile(pid, 'cmdline').some((arg) => arg.endsWith('shardflow.js')));
    const roles = children.map((pid) => procFile(pid, 'cmdline').find((arg) => ['coordinator', 'worker', 'generate'].includes(arg))).sort();
    expect(roles).toEqual(['coordinator', 'generate', 'worker', 'worker']);
    expectNoSecret('ps -eo args', commandLines());
    for (const pid of children) {
      expect(procFile(pid, 'cmdline')).not.toContain('--redis');
      expect(procFile(pid, 'environ')).toContain(`REDIS_URL=${redisUrl}`);
    }

    // Every process's operations endpoint, from the addresses the stack printed.
    const endpoints = [...stack.output().matchAll(/(coordinator|worker-\d+) +(http:\/\/127\.0\.0\.1:\d+)\/metrics/g)].map((m) => m[2]!);
    expect(endpoints).toHaveLength(3);
    for (const base of endpoints) {
      const pages = await opsPages(base);
      expect(pages).toContain('shardflow_');
      expectNoSecret(`${base}/metrics, /healthz, /readyz`, pages);
    }
    expectNoSecret('the dashboard', await dashboardPages(dashboardPort));

    stack.child.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
    // Every log line of every process: the stack's own output and each child's log file.
    expectNoSecret('the stack', stack.output());
    expect(stack.output()).toContain(redactedForm);
    const files = readdirSync(logs);
    expect(files).toEqual(expect.arrayContaining(['coordinator.log', 'worker-1.log', 'worker-2.log', 'generator.log']));
    for (const file of files) {
      const text = readFileSync(join(logs, file), 'utf8');
      // The children log below info (the stack hands them LOG_LEVEL): the coordinator's discovery at debug.
      if (file === 'coordinator.log') expect(text).toContain('"level":20');
      expectNoSecret(file, text);
      if (file === 'coordinator.log' || file.startsWith('worker-')) expect(text).toContain(redactedForm);
    }
  });
});

testNeeding('redis-server')('coordinator and worker started directly, one password form each, and the failure paths: nothing leaks', async () => {
  const port = await freePort();
  const app = h.app('it-secrets-direct');
  const inputArn = await createStream(h.client, uniqueName('sin'), 1);
  const outputArn = await createStream(h.client, uniqueName('sout'), 1);
  const properties = writeProperties(secretProperties(h.kinesis.endpoint, inputArn, outputArn, port));
  const env = { LOG_LEVEL: 'trace' };
  const [userInfo, parameter] = URL_FORMS.map(([, urlOf]) => urlOf(redis!));
  const coordinator = h.start('coordinator', properties, app, env, parameter);
  const worker = h.start('worker', properties, app, env, userInfo);
  await putAll(h.client, inputArn, [{ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'AAPL', price: 1, id: 's-1' })) }, { PartitionKey: 'p', Data: Buffer.from('bad') }]);
  await waitForLog(worker, 'records dead-lettered');
  await waitForLog(coordinator, 'dashboard listening');
  for (const p of [coordinator, worker]) expectNoSecret('ops endpoint', await opsPages(await opsUrl(p)));
  expectNoSecret('the dashboard', await dashboardPages(port));

  // Failure paths: a CLI run with the same secrets, a wrong password, and a URL ioredis would misread.
  const dlq = await runCli(['dlq', 'list', '--properties', properties, '--app', app], { ...env, REDIS_URL: parameter });
  expect(dlq.code).toBe(0);
  const wrong = await runCli(['dlq', 'list', '--properties', properties, '--app', app], { ...env, REDIS_URL: `redis://:${encodeURIComponent(`${PASSWORD}-wrong`)}@127.0.0.1:${redis!.port}` });
  expect(wrong.code).toBe(1);
  expect(wrong.output).toContain('WRONGPASS');
  expect(wrong.output).toContain('redis://:***@127.0.0.1');
  // Unencoded "/" in a plain URL: ioredis would take "Vw8Jp" for the host and name it in "getaddrinfo ENOTFOUND".
  const misread = await runCli(['dlq', 'list', '--properties', properties, '--app', app], { ...env, REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis!.port}` });
  expect(misread.code).toBe(2);
  expect(misread.output).toContain('--redis (or REDIS_URL)');
  await h.stopAll();

  const everything = [coordinator.output(), worker.output(), dlq.output, wrong.output, misread.output].join('\n');
  expectNoSecret('coordinator, worker and CLI output', everything);
  expect(coordinator.output()).toContain('?password=***');
  expect(worker.output()).toContain('redis://:***@127.0.0.1');
});
