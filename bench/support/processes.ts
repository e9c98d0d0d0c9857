/**
 * The processes of a benchmark run on kinesis-local: a private kinesis-local, real `shardflow` CLI
 * processes (JSON logs, a free metrics port each), the properties they share, and what their logs say
 * about leases. A `BenchProcesses` always stops everything it started: the scenario's `finally` calls
 * `stopAll()` (SIGTERM, a grace period, then SIGKILL); and should the benchmark itself be interrupted
 * (Ctrl-C, CI's `timeout`) or exit without reaching that `finally`, a process-wide guard kills whatever
 * is still running, including kinesis-local, which runs in its own process group and so never receives
 * the terminal's or `timeout`'s signal itself, and on a signal also deletes the runs' Redis keys.
 *
 * The CLI is spawned with `test/support/cli.ts` and streams are made with `test/support/kinesis.ts`: both
 * are plain helpers without jest globals, so the benchmark and the integration tests start processes the
 * same way.
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { RedisClient } from '../../shared/redis/connection';
import { startKinesisLocal, stopChild, type KinesisLocal } from '../../cli/local/kinesis-local';
import { createRedis, deleteKeysUnder } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import { spawnCli, stopCli, waitForLog as waitForTestLog, type CliProcess } from '../../test/support/cli';
import { DEFAULT_ACCOUNT } from '../../test/support/kinesis';
import type { Groups } from '../../test/support/properties';
import { uniqueName } from '../../test/support/wait';
export { statusLeases } from '../../test/support/status';

export type { CliProcess };

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How long a stopped process may take to flush, checkpoint and release before it is killed. */
const GRACE_MS = 15_000;

// ---- the process-wide guard -------------------------------------------------------------------------

/** shardflow processes still running, and kinesis-local instances, which are stopped after them. */
const running = new Set<ChildProcess>();
const services = new Set<ChildProcess>();
/** Applications whose Redis keys are still to be deleted. */
const liveApps = new Set<string>();
let guardInstalled = false;

function killAll(children: Set<ChildProcess>, signal: NodeJS.Signals): void {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * On SIGINT/SIGTERM: SIGTERM to the shardflow processes (SIGKILL after 5 s), then kill kinesis-local,
 * delete the apps' Redis keys and exit 130/143. A benchmark run has nothing worth flushing itself.
 */
function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\nbenchmark interrupted (${signal}): stopping ${running.size + services.size} process(es) it started\n`);
  killAll(running, 'SIGTERM');
  const killAt = Date.now() + 5000;
  let servicesStopped = false;
  let dropping: Promise<unknown> | undefined;
  let dropped = false;
  const check = setInterval(() => {
    if (running.size > 0) {
      if (Date.now() > killAt) killAll(running, 'SIGKILL');
      return;
    }
    if (!servicesStopped) {
      servicesStopped = true;
      killAll(services, 'SIGKILL'); // nothing in a benchmark's kinesis-local is worth keeping
    }
    if (!dropping) {
      const redis = createRedis(REDIS_URL, { maxRetriesPerRequest: 1 });
      dropping = Promise.allSettled([...liveApps].map((app) => deleteKeysUnder(redis, new AppKeys(app).prefix))).finally(() => {
        redis.disconnect();
        dropped = true;
      });
    }
    if ((dropped && services.size === 0) || Date.now() > killAt + 3000) {
      clearInterval(check);
      killAll(services, 'SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  }, 100);
}

/** Registers the exit and signal hooks once; they only act on what is still running. */
function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  // 'exit' handlers must be synchronous: nothing can be awaited, so whatever is left is killed outright.
  process.once('exit', () => {
    killAll(running, 'SIGKILL');
    killAll(services, 'SIGKILL');
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

function track(child: ChildProcess, set: Set<ChildProcess>): void {
  installGuard();
  set.add(child);
  child.once('exit', () => set.delete(child));
  // exitCode/signalCode are set just before 'exit' is emitted; an already-exited child is dropped now.
  if (child.exitCode !== null || child.signalCode !== null) set.delete(child);
}

/** A helper process of a run (a local Kinesis) that the guard kills after the shardflow processes. */
export function guardService(child: ChildProcess): void {
  track(child, services);
}

// ---- one run's processes ----------------------------------------------------------------------------

/** Everything one scenario run starts: kinesis-local, shardflow processes, a Redis client and its apps' keys. */
export class BenchProcesses {
  readonly redis: RedisClient = createRedis(REDIS_URL);
  private readonly started: CliProcess[] = [];
  private readonly apps: string[] = [];
  private kinesisLocal: KinesisLocal | undefined;

  /** A fresh application name; its Redis keys are deleted by stopAll(). */
  app(prefix: string): string {
    const app = uniqueName(prefix);
    this.apps.push(app);
    liveApps.add(app);
    return app;
  }

  /** A private kinesis-local on a free port (fresh streams every run; it slows down as shards fill). */
  async kinesis(): Promise<KinesisLocal> {
    this.kinesisLocal = await startKinesisLocal();
    guardService(this.kinesisLocal.process);
    return this.kinesisLocal;
  }

  /**
   * `shardflow <command> --properties <file> --redis <url> --app <app>`, logging JSON, metrics on a free
   * port; `env` adds variables (a log level, say) and `nodeArgs` go to node itself (`--cpu-prof`).
   */
  shardflow(command: 'coordinator' | 'worker', properties: string, app: string, options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; flags?: string[] } = {}): CliProcess {
    const p = spawnCli([command, ...(options.flags ?? []), '--properties', properties, '--redis', REDIS_URL, '--app', app], { METRICS_PORT: '0', SHARDFLOW_LOG_FORMAT: 'json', ...options.env }, options.nodeArgs);
    track(p.child, running);
    this.started.push(p);
    return p;
  }

  /** SIGTERM, wait for the exit; SIGKILL after the grace period. Resolves with the exit code. */
  stop(p: CliProcess, graceMs = GRACE_MS): Promise<number | null> {
    return stopCli(p, graceMs);
  }

  /** kill -9 now; resolves once the process is gone. */
  async kill(p: CliProcess): Promise<void> {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }

  /** Stops every process, newest first (workers before their coordinator), then kinesis-local; drops the apps' keys. */
  async stopAll(): Promise<void> {
    for (const p of this.started.splice(0).reverse()) await stopCli(p, GRACE_MS);
    for (const app of this.apps.splice(0)) {
      await deleteKeysUnder(this.redis, new AppKeys(app).prefix).catch(() => undefined);
      liveApps.delete(app);
    }
    this.redis.disconnect();
    if (this.kinesisLocal) await stopChild(this.kinesisLocal.process);
  }
}

// ---- what the processes say -------------------------------------------------------------------------

/**
 * The tests' `waitForLog` (fails at once if the process exits without the line), polled every 50 ms so
 * the timings measured from a log line are not rounded up to the tests' 200 ms, with the end of the
 * output in a failure.
 */
export function waitForLog(p: CliProcess, text: string, timeoutMs: number): Promise<void> {
  return waitForTestLog(p, text, timeoutMs, 50, 4000);
}

interface LogEntry {
  msg?: string;
  time?: number;
  shardId?: string;
  checkpoint?: string | null;
}

function* logEntries(p: CliProcess): Generator<LogEntry> {
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      yield JSON.parse(line) as LogEntry;
    } catch {
      // a line still being written
    }
  }
}

/** The time (pino's epoch ms) of the process's first log line whose message starts with `text`. */
export function loggedAt(p: CliProcess, text: string): number | undefined {
  for (const entry of logEntries(p)) if (entry.msg?.startsWith(text)) return entry.time;
  return undefined;
}

/**
 * The shards a worker holds now, replayed from its JSON log: a shard is held from its "lease taken" line
 * until a "lease released", "lease lost" or "shard already finished" line for it. The log is written the
 * moment a lease changes hands, whereas the status hash in Redis is refreshed only once a second.
 */
export function leasesHeld(p: CliProcess): Set<string> {
  const held = new Set<string>();
  for (const entry of logEntries(p)) {
    if (!entry.shardId || !entry.msg) continue;
    if (entry.msg === 'lease taken') held.add(entry.shardId);
    else if (entry.msg === 'lease released' || entry.msg.startsWith('lease lost') || entry.msg.startsWith('shard already finished')) held.delete(entry.shardId);
  }
  return held;
}

/** The checkpoint each shard had when the worker released its lease (the "lease released" lines). */
export function releasedCheckpoints(p: CliProcess): Map<string, string | undefined> {
  const released = new Map<string, string | undefined>();
  for (const entry of logEntries(p)) {
    if (entry.shardId && entry.msg === 'lease released') released.set(entry.shardId, entry.checkpoint ?? undefined);
  }
  return released;
}

/** The worker id a CLI process uses (`worker-<host>-<pid>`), as in its status and logs. */
export function workerIdOf(p: CliProcess): string {
  return `worker-${hostname()}-${p.child.pid}`;
}


// ---- properties -------------------------------------------------------------------------------------

/**
 * Properties at their defaults except what a run on kinesis-local needs: endpoint, region, credentials,
 * the stream ARNs, reading from TRIM_HORIZON (so nothing written while a lease is being taken is
 * skipped) and no dashboard (its port would collide between apps). `input` and `extra` add to that.
 */
export function localRunProperties(endpoint: string, inputArn: string, outputArn: string, input: Record<string, string> = {}, extra: Groups = {}): Groups {
  const client = {
    'aws.endpoint': endpoint,
    'aws.region': 'us-east-1',
    'aws.credentials.provider': 'BASIC',
    'aws.credentials.provider.basic.accesskeyid': DEFAULT_ACCOUNT,
    'aws.credentials.provider.basic.secretkey': 'bench',
  };
  return {
    InputStream0: { 'stream.arn': inputArn, ...client, 'source.init.position': 'TRIM_HORIZON', ...input },
    OutputStream0: { 'stream.arn': outputArn, ...client },
    Dashboard: { enabled: 'false' },
    ...extra,
  };
}
