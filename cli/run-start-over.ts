/**
 * `shardflow start-over`: the explicit way back after Redis lost an application's state (exit code 3,
 * the `state-lost` tombstone). Refuses while any worker or coordinator of the app is alive, then deletes
 * every key of the app (`shardflow:<app>:*`: checkpoints, lease jobs, dead letters, the tombstone), so
 * the next start is a first start: every shard is read from `source.init.position`.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../shared/config/config-error';
import { LEASE_TIMEOUT } from '../shared/config/options';
import { deleteKeysUnder } from '../shared/redis/connection';
import { liveMembers } from '../shared/redis/heartbeats';
import { createLogger, safeRedisUrl } from '../shared/logging';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError } from './lifecycle';
import { connectRedis } from './services';

export interface StartOverOptions extends CommonOptions {
  yes?: boolean;
}

export async function runStartOver(opts: StartOverOptions): Promise<void> {
  const ctx = resolveContext(opts);
  if (!opts.yes) {
    throw new ConfigError(
      `Invalid argument: start-over deletes every Redis key of application "${ctx.app}" (checkpoints, leases, dead letters): add --yes to do it`,
    );
  }
  const log = createLogger('start-over', { app: ctx.app });
  // The properties say how long a worker's heartbeat stays fresh and where the next start reads from.
  const config = existsSync(ctx.propertiesFile) ? loadConfig(ctx, log) : undefined;
  const leaseTimeoutMs = config?.cluster.leaseTimeoutMs ?? LEASE_TIMEOUT.defaultValue ?? 10_000;
  const redis = await connectRedis(ctx.redisUrl);
  try {
    const workers = await liveMembers(redis, ctx.keys.liveWorkers, leaseTimeoutMs);
    const coordinators = await liveMembers(redis, ctx.keys.liveCoordinators, 10_000);
    if (workers.length > 0 || coordinators.length > 0) {
      throw new FatalError(
        `application "${ctx.app}" is still running (${workers.length} worker(s), ${coordinators.length} coordinator(s) with a fresh heartbeat): stop them first, then run start-over again`,
      );
    }
    const deleted = await deleteKeysUnder(redis, ctx.keys.prefix);
    const position = config ? ` (${config.input.initialPosition.type} in ${ctx.propertiesFile})` : '';
    process.stdout.write(
      `application "${ctx.app}" started over: deleted ${deleted} key(s) under ${ctx.keys.prefix}: at ${safeRedisUrl(ctx.redisUrl)}; ` +
        `the next start reads every shard from source.init.position${position}\n`,
    );
  } finally {
    await redis.quit().catch(() => undefined);
  }
}
