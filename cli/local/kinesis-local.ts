/**
 * Runs kinesis-local (kinesis-mock compiled to JavaScript) as a child process on a given or free
 * plain port; used by the local stack and the integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { FatalError } from '../lifecycle';
import { freePort, portAnswers, waitFor } from './free-port';

export interface KinesisLocal {
  endpoint: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function kinesisLocalDir(): string {
  try {
    return dirname(require.resolve('kinesis-local/package.json'));
  } catch {
    throw new FatalError('the local Kinesis is missing: the npm package kinesis-local is not installed; run `npm ci` in the shardflow folder');
  }
}

export async function startKinesisLocal(options: { port?: number; logFile?: NodeJS.WritableStream } = {}): Promise<KinesisLocal> {
  const dir = kinesisLocalDir();
  const port = options.port ?? (await freePort());
  if (await portAnswers(port)) throw new FatalError(`cannot start the local Kinesis: port ${port} is already in use`);
  const tlsPort = await freePort();
  const child = spawn(process.execPath, [join(dir, 'main.js')], {
    env: {
      ...process.env,
      KINESIS_MOCK_CERT_PATH: join(dir, 'server.json'),
      KINESIS_MOCK_PLAIN_PORT: String(port),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      LOG_LEVEL: process.env.KINESIS_LOCAL_LOG_LEVEL ?? 'WARN',
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      REGISTER_STREAM_CONSUMER_DURATION: '0ms',
      DEREGISTER_STREAM_CONSUMER_DURATION: '0ms',
      SPLIT_SHARD_DURATION: '0ms',
      MERGE_SHARDS_DURATION: '0ms',
      UPDATE_SHARD_COUNT_DURATION: '0ms',
      SHARD_LIMIT: '1000',
    },
    stdio: ['ignore', options.logFile ? 'pipe' : 'ignore', options.logFile ? 'pipe' : 'ignore'],
    // Its own process group: a Ctrl-C in the terminal must not stop it before the workers have flushed.
    detached: true,
  });
  if (options.logFile) {
    child.stdout?.pipe(options.logFile, { end: false });
    child.stderr?.pipe(options.logFile, { end: false });
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(async () => {
    if (exited) throw new FatalError(`the local Kinesis (kinesis-local) exited during start-up on port ${port}`);
    return portAnswers(port);
  }, 30_000, `kinesis-local on port ${port}`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
