/**
 * `shardflow local` (`npm start`): the whole pipeline on one machine. Starts a local Kinesis
 * (kinesis-local) on the port of the properties' `aws.endpoint`, creates the input and output
 * streams, uses the Redis at --redis or starts a private redis-server, then runs a coordinator, the
 * workers and the generator as real child processes and shows a live status line. Ctrl-C stops
 * everything, in order, and leaves no process behind.
 *
 * With `--module` (a transform module) or `--outputs n`, the processes run with properties the stack
 * writes beside the logs: the given file's, with `Transform.module` (absolute) and the groups
 * `OutputStream0`..`OutputStream<n-1>` (each missing one made like `OutputStream0`, on a stream named
 * after its own), and the status line gives each output's rate.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../shared/config/config-error';
import { SINK_MAX_BUFFERED } from '../../shared/config/options';
import { buildAppConfig, loadProperties, type PropertyGroups } from '../../shared/config/properties';
import { createKinesisClient } from '../../shared/aws/kinesis-client';
import { ensureStream } from '../../shared/aws/stream-admin';
import { createRedis, deleteKeysUnder, redisAnswers } from '../../shared/redis/connection';
import { safeRedisUrl } from '../../shared/logging';
import { readWorkerStatuses } from '../../worker/status-reporter';
import { loadConfig, resolveContext, type CommonOptions } from '../context';
import { FatalError } from '../lifecycle';
import { createLogger } from '../../shared/logging';
import { freePort, portAnswers } from './free-port';
import { finishedOnItsOwn, generatorArgs } from './generator-args';
import { startKinesisLocal, stopChild, type KinesisLocal } from './kinesis-local';
import { startRedisServer, type RedisServer } from './redis-server';
import { OutputCounter } from './output-counter';
import { formatAddresses, formatStatus, summarize, type OutputRate, type StackAddresses } from './status-view';
import { EfoConsumerLifecycle } from '../../coordinator/efo-consumer-lifecycle';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { AppConfig } from '../../shared/config/app-config';
import type { AppKeys } from '../../shared/redis/keys';
import type { Logger } from '../../shared/logging';

export interface LocalOptions extends CommonOptions {
  workers?: string;
  shards?: string;
  rate?: string;
  logs?: string;
  partitionKey?: string;
  aggregate?: boolean;
  module?: string;
  outputs?: string;
  template?: string;
  from?: string;
  loop?: boolean;
}

const BIN = resolve(__dirname, '..', '..', '..', 'bin', 'shardflow.js');

function count(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`Invalid argument: ${name}: value ${JSON.stringify(value)} is not allowed; allowed: an integer from 1 to ${max}`);
  return n;
}

/**
 * The properties the stack's processes run with when `--module` or `--outputs` asks for more than the
 * file gives: its groups, `Transform.module` set (absolute: the file is written elsewhere), and
 * `OutputStream1`..`OutputStream<n-1>` where missing, each a copy of `OutputStream0` on the stream
 * `<OutputStream0's stream>-<i>` (without the buffer bound, which only `OutputStream0` may set).
 * `module`: absolute, or a `builtin:` name; undefined keeps the file's (made absolute).
 */
export function localStackProperties(groups: PropertyGroups, propertiesFile: string, outputs: number, module: string | undefined): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>([...groups].map(([group, map]) => [group, { ...map }]));
  const first = result.get('OutputStream0');
  if (first === undefined) throw ConfigError.invalidValue('OutputStream0', 'stream.arn', undefined, 'a property group "OutputStream0" with the output stream\'s ARN');
  for (let i = 1; i < outputs; i++) {
    if (result.has(`OutputStream${i}`)) continue;
    const copy: Record<string, string> = { ...first, 'stream.arn': `${first['stream.arn']}-${i}` };
    delete copy[SINK_MAX_BUFFERED.key];
    result.set(`OutputStream${i}`, copy);
  }
  const own = result.get('Transform')?.module;
  const chosen = module ?? (own === undefined || own.startsWith('builtin:') ? own : resolve(dirname(propertiesFile), own));
  if (chosen !== undefined) result.set('Transform', { ...(result.get('Transform') ?? {}), module: chosen });
  return result;
}

/** Writes the stack's properties into `dir` and returns them, parsed, with the file's path. */
function writeStackProperties(source: string, dir: string, outputs: number, module: string | undefined): { config: AppConfig; propertiesFile: string } {
  const groups = localStackProperties(loadProperties(source), source, outputs, module);
  const propertiesFile = join(dir, 'application-properties.json');
  const config = buildAppConfig(groups, process.env, dir).config;
  // It holds what the given file holds, credentials included: readable by its owner only.
  writeFileSync(propertiesFile, `${JSON.stringify([...groups].map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap })), null, 2)}\n`, { mode: 0o600 });
  return { config, propertiesFile };
}

function moduleOption(value: string | undefined): string | undefined {
  if (value === undefined || value.startsWith('builtin:')) return value;
  const file = resolve(value);
  if (!existsSync(file)) throw new ConfigError(`Invalid argument: --module: value ${JSON.stringify(value)} is not allowed; allowed: a transform module file that exists (${file} does not), or builtin:stock / builtin:pass-through`);
  return file;
}

function localPort(endpoint: string | undefined, group: string): number {
  const match = endpoint && /^http:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(endpoint);
  if (!match) {
    throw ConfigError.invalidValue(group, 'aws.endpoint', endpoint, 'for `shardflow local`, a local endpoint such as "http://127.0.0.1:4567" (the local Kinesis is started there)');
  }
  return Number(match[2]);
}

export async function runLocal(opts: LocalOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('local', { app: ctx.app });
  const fileConfig = loadConfig(ctx, log);
  const module = moduleOption(opts.module);
  const outputCount = count('--outputs', opts.outputs, module !== undefined ? 2 : 1, 16);
  const workers = count('--workers', opts.workers, 2, 32);
  const shards = count('--shards', opts.shards, 4, 64);
  const rate = count('--rate', opts.rate, 50, 5000);
  const generator = await generatorArgs(opts);
  const logDir = resolve(opts.logs ?? join('.local', 'logs', ctx.app));
  mkdirSync(logDir, { recursive: true });
  // The processes' own properties, when the options ask for more than the file gives.
  const { config, propertiesFile } =
    module !== undefined || outputCount > fileConfig.outputs.length ? writeStackProperties(ctx.propertiesFile, logDir, outputCount, module) : { config: fileConfig, propertiesFile: ctx.propertiesFile };
  const port = localPort(config.input.client.endpoint, config.input.client.group);
  for (const output of config.outputs) {
    if (localPort(output.client.endpoint, output.client.group) !== port) {
      throw ConfigError.invalidValue(output.client.group, 'aws.endpoint', output.client.endpoint, `the same local endpoint as InputStream0 (${config.input.client.endpoint})`);
    }
  }

  const cleanup: Array<() => Promise<void>> = [];
  const children: Array<{ name: string; child: ChildProcess }> = [];
  let stopping = false;
  let redisUrlInUse: string | undefined;
  const stopAll = async () => {
    stopping = true;
    // Workers first (they flush and checkpoint), then the coordinator, then the services under them.
    const order = [...children].sort((a, b) => rank(a.name) - rank(b.name));
    for (const { child } of order) await stopChild(child, 15_000);
    // Ctrl-C on the local stack stops the whole application on purpose: a JOB_MANAGED EFO consumer goes too.
    if (config.inputs.some((i) => i.readerType === 'EFO') && redisUrlInUse) await retireConsumer(config, redisUrlInUse, ctx.keys, log).catch(() => undefined);
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  // Ctrl-C is taken from the first moment: one that comes while the stack is still starting stops it as
  // soon as the start is through (Node's default would kill this process and orphan its children).
  let signalled!: () => void;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = () => {
    process.stderr.write('\nstopping the local stack (workers flush and checkpoint first)...\n');
    signalled();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // 1. Redis.
    let redisUrl = ctx.redisUrl;
    if (!(await redisAnswers(redisUrl))) {
      log.info({ redis: safeRedisUrl(redisUrl) }, 'no Redis answers there; starting a private redis-server');
      const server: RedisServer = await startRedisServer();
      cleanup.push(() => server.stop());
      redisUrl = server.url;
    }
    log.info({ redis: safeRedisUrl(redisUrl) }, 'Redis ready');
    redisUrlInUse = redisUrl;

    // 2. The local Kinesis and the streams.
    let kinesis: KinesisLocal | undefined;
    if (await portAnswers(port)) {
      log.info({ endpoint: config.input.client.endpoint }, 'something already listens on the Kinesis endpoint; using it as the local Kinesis');
    } else {
      kinesis = await startKinesisLocal({ port, logFile: createWriteStream(join(logDir, 'kinesis-local.log')) });
      cleanup.push(() => kinesis!.stop());
      log.info({ endpoint: kinesis.endpoint }, 'local Kinesis (kinesis-local) started');
    }
    const client = createKinesisClient(config.input.client);
    let freshInput: boolean;
    try {
      freshInput = await ensureStream(client, config.input.stream.name, shards);
      for (const output of config.outputs) await ensureStream(client, output.stream.name, Math.max(1, Math.ceil(shards / 2)));
    } catch (err) {
      throw new FatalError(`cannot create the local streams at ${config.input.client.endpoint}: ${(err as Error).message}`);
    } finally {
      client.destroy();
    }
    log.info({ input: config.input.stream.arn, outputs: Object.fromEntries(config.outputs.map((o) => [o.group, o.stream.arn])) }, 'streams ready');
    if (freshInput) {
      // The local Kinesis keeps nothing between runs: leases and checkpoints from an earlier run
      // name sequence numbers of a stream that no longer exists.
      const admin = createRedis(redisUrl);
      admin.on('error', () => undefined);
      const cleared = await deleteKeysUnder(admin, ctx.keys.prefix).finally(() => admin.disconnect());
      if (cleared > 0) log.info({ app: ctx.app, keys: cleared }, 'new input stream: cleared the application\'s leases and checkpoints from an earlier run');
    }

    // 3. The fleet, as real processes. The Redis URL (and any password in it) goes to them in REDIS_URL,
    // never on their command lines: any user of the host can read those (`ps`), but not their environment.
    const common = ['--properties', propertiesFile, '--app', ctx.app];
    const endpoints: Record<string, string> = {};
    const spawnChild = async (name: string, args: string[]) => {
      const out = createWriteStream(join(logDir, `${name}.log`));
      const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, SHARDFLOW_LOG_FORMAT: 'json' };
      if (name !== 'generator') {
        // Each process of the stack gets its own /metrics port on this one host.
        env.METRICS_PORT = String(await freePort());
        endpoints[name] = `http://127.0.0.1:${env.METRICS_PORT}/metrics`;
      }
      const child = fork(BIN, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env, detached: true });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      child.once('exit', (code, signal) => {
        if (!stopping && finishedOnItsOwn(name, code)) log.info({ process: name }, 'the generator has written every record it had; the rest of the stack keeps running');
        else if (!stopping) {
          log.error({ process: name, code, signal, log: join(logDir, `${name}.log`) }, 'a local stack process exited unexpectedly; stopping the stack');
          process.stderr.write(tail(join(logDir, `${name}.log`)));
          void stopAll().then(() => process.exit(1));
        }
      });
      children.push({ name, child });
    };
    await spawnChild('coordinator', ['coordinator', ...common]);
    for (let i = 1; i <= workers; i++) await spawnChild(`worker-${i}`, ['worker', ...common]);
    await spawnChild('generator', ['generate', ...common, '--rate', String(rate), ...generator.flags]);
    log.info({ workers, shards, rate, logs: logDir, metrics: endpoints }, 'coordinator, workers and generator started; Ctrl-C stops everything');
    process.stdout.write(`started: a coordinator, ${workers} workers and the generator (${rate} records/s${generator.describe}) on ${shards} shards; Ctrl-C stops everything\n`);
    process.stdout.write(formatAddresses(await addressesOf(config, endpoints, logDir)));
    if (propertiesFile !== ctx.propertiesFile) {
      process.stdout.write(
        `  transform  ${config.transform.module} to ${config.outputs.map((o) => `${o.group} (${o.stream.name})`).join(', ')}\n` + `  properties ${propertiesFile}\n`,
      );
    }

    // 4. The live status line.
    const redis = createRedis(redisUrl);
    redis.on('error', () => undefined);
    cleanup.push(async () => void redis.disconnect());
    const workerMetrics = Object.entries(endpoints).filter(([name]) => name.startsWith('worker-')).map(([, url]) => url);
    await statusLoop(redis, ctx.keys, () => stopping, config.outputs.length > 1 ? { groups: config.outputs.map((o) => o.group), counter: new OutputCounter(workerMetrics) } : undefined);
  } catch (err) {
    await stopAll();
    throw err;
  }

  await stopRequested;
  await stopAll();
  process.stderr.write('local stack stopped\n');
}

/** The dashboard's address once the coordinator serves it (a few seconds at most), the metrics and logs. */
async function addressesOf(config: AppConfig, metrics: Record<string, string>, logDir: string): Promise<StackAddresses> {
  const d = config.dashboard;
  const dashboardAuth: StackAddresses['dashboardAuth'] = d.basic ? { type: 'basic', username: d.basic.username } : d.token ? { type: 'token' } : { type: 'none' };
  let dashboardUrl: string | undefined;
  if (d.enabled) {
    const host = d.host === '0.0.0.0' || d.host === '::' ? '127.0.0.1' : d.host.includes(':') ? `[${d.host}]` : d.host;
    // Port 0 means "any free port": only the coordinator's log knows which.
    dashboardUrl = d.port === 0 ? 'on a free port: see "dashboard listening" in the coordinator\'s log' : `http://${host}:${d.port}${d.path === '/' ? '/' : `${d.path}/`}`;
    if (d.port !== 0) {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !(await portAnswers(d.port))) await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { dashboardUrl, dashboardAuth, metrics, logDir };
}

async function retireConsumer(config: AppConfig, redisUrl: string, keys: AppKeys, log: Logger): Promise<void> {
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined);
  try {
    for (const input of config.inputs.filter((i) => i.readerType === 'EFO')) {
      const kinesis = KinesisGateway.fromConfig(input.client);
      await new EfoConsumerLifecycle(kinesis, input, redis, keys.stream(input.stream.arn), log).retire().finally(() => kinesis.destroy());
    }
  } finally {
    redis.disconnect();
  }
}

function rank(name: string): number {
  if (name === 'generator') return 0;
  if (name.startsWith('worker')) return 1;
  return 2;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') + '\n';
  } catch {
    return '';
  }
}

/** Starts the periodic status line and returns at once. `outputs`: with several, each one's rate, from the workers' /metrics. */
async function statusLoop(
  redis: ReturnType<typeof createRedis>,
  keys: AppKeys,
  stopped: () => boolean,
  outputs?: { groups: readonly string[]; counter: OutputCounter },
): Promise<void> {
  const tty = process.stdout.isTTY;
  let previous: { at: number; read: number; written: number; byOutput: Map<string, number> } | undefined;
  let announced = false;
  let lastLine = 0;
  const tick = async () => {
    if (stopped()) return;
    try {
      const now = Date.now();
      const [statuses, byOutput] = await Promise.all([readWorkerStatuses(redis, keys), outputs ? outputs.counter.totals(outputs.groups) : new Map<string, number>()]);
      const totals = summarize(statuses, now);
      const seconds = previous ? (now - previous.at) / 1000 : 1;
      // A worker that stops removes its status, and its totals with it: a rate never goes below 0.
      const inRate = previous ? Math.max(0, totals.read - previous.read) / seconds : 0;
      const outRate = previous ? Math.max(0, totals.written - previous.written) / seconds : 0;
      const outputRates: OutputRate[] = [...byOutput].map(([output, n]) => ({ output, perSecond: previous ? Math.max(0, n - (previous.byOutput.get(output) ?? 0)) / seconds : 0 }));
      previous = { at: now, read: totals.read, written: totals.written, byOutput };
      if (!announced && totals.written > 0) {
        announced = true;
        process.stdout.write(`${tty ? '\n' : ''}records are flowing: ${totals.written} transformed records written to the output stream${outputs ? 's' : ''}\n`);
      }
      const line = formatStatus(inRate, outRate, totals, outputRates);
      if (tty) process.stdout.write(`\r\x1b[2K${line}`);
      else if (now - lastLine >= 5000) {
        lastLine = now;
        process.stdout.write(`${line}\n`);
      }
    } catch {
      // Redis blip: try again next second
    }
    if (!stopped()) setTimeout(() => void tick(), 1000).unref();
  };
  void tick();
}
