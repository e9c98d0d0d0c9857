/** Starts a private redis-server on a free port when no Redis answers (local stack, fault tests). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../../shared/redis/connection';
import { FatalError } from '../lifecycle';
import { freePort, waitFor } from './free-port';
import { stopChild } from './kinesis-local';

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Whether `program` runs and prints its version (exit 0); `versionArgs` for one without `--version`. */
export function programOnPath(program: string, versionArgs: readonly string[] = ['--version']): boolean {
  return spawnSync(program, versionArgs, { stdio: 'ignore' }).status === 0;
}

export function redisServerOnPath(): boolean {
  return programOnPath('redis-server');
}

export async function startRedisServer(options: { port?: number; dir?: string; appendOnly?: boolean; password?: string } = {}): Promise<RedisServer> {
  if (!redisServerOnPath()) {
    throw new FatalError('no Redis answers and redis-server is not on the PATH: install Redis 7 (for example `apt-get install redis-server`) or point --redis / REDIS_URL at a running one');
  }
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'shardflow-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no', '--daemonize', 'no', ...(options.password ? ['--requirepass', options.password] : [])],
    { stdio: 'ignore' },
  );
  const url = options.password ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
  await waitFor(() => redisAnswers(url, 500), 10_000, `redis-server on port ${port}`);
  return { url, port, process: child, stop: () => stopChild(child) };
}
