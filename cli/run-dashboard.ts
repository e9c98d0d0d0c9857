import { duplicateRedis } from '../shared/redis/connection';
import { Dashboard } from '../coordinator/dashboard';
import { createLogger } from '../shared/logging';
import { DeadLetterReplayer } from '../worker/dead-letter/dead-letter-replayer';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError, onShutdownSignal } from './lifecycle';
import { connectRedis } from './services';
import { workerId } from '../shared/identity';
import { openTransform } from '../worker/transform/transform-runtime';

/** `shardflow dashboard`: Bull Board on its own, plus a dead-letter replayer for the dashboard's retries. */
export async function runDashboard(opts: CommonOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('dashboard', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const transform = await openTransform(config, { workerId: workerId('dashboard'), log });
  const redis = await connectRedis(ctx.redisUrl);
  const dashboard = new Dashboard(config.dashboard, redis, ctx.keys);
  const replayer = new DeadLetterReplayer(duplicateRedis(redis), ctx.keys, config, log, transform);
  let url: string;
  try {
    url = await dashboard.listen();
  } catch (err) {
    throw new FatalError(`cannot serve the dashboard on ${config.dashboard.host}:${config.dashboard.port}: ${(err as Error).message}`);
  }
  replayer.start();
  log.info({ dashboard: url, auth: config.dashboard.token ? 'bearer' : config.dashboard.basic ? 'basic' : 'none (loopback only)' }, 'dashboard listening');
  onShutdownSignal(async () => {
    await replayer.stop();
    await transform.close();
    await dashboard.close();
    // Everything is handed over by now: a QUIT that cannot be delivered (Redis failing over) is no failed stop.
    await redis.quit().catch(() => redis.disconnect());
  });
}
