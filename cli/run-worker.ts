import { createLogger, safeRedisUrl } from '../shared/logging';
import { workerId } from '../shared/identity';
import { LeaseWorker } from '../worker/lease-worker';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { onShutdownSignal } from './lifecycle';
import { connectRedis } from './services';

export async function runWorker(opts: CommonOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const id = workerId('worker');
  const log = createLogger('worker', { app: ctx.app, worker: id });
  const config = loadConfig(ctx, log);
  const redis = await connectRedis(ctx.redisUrl);
  const worker = new LeaseWorker({ config, keys: ctx.keys, connection: redis, redis, id, log });
  await worker.start();
  log.info({ input: config.input.stream.arn, output: config.output.stream.arn, redis: safeRedisUrl(ctx.redisUrl) }, 'worker running');
  onShutdownSignal(async (signal) => {
    log.info({ signal }, 'worker stopping');
    await worker.stop();
    await redis.quit();
    log.info('worker stopped cleanly');
  });
}
