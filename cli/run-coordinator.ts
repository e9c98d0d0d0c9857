import { Coordinator } from '../coordinator/coordinator';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger, safeRedisUrl } from '../shared/logging';
import { workerId } from '../shared/identity';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError, onShutdownSignal } from './lifecycle';
import { connectRedis } from './services';

export async function runCoordinator(opts: CommonOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const id = workerId('coordinator');
  const log = createLogger('coordinator', { app: ctx.app, coordinator: id });
  const config = loadConfig(ctx, log);
  const redis = await connectRedis(ctx.redisUrl);
  const eventsConnection = redis.duplicate();
  eventsConnection.on('error', () => undefined);
  const coordinator = new Coordinator({ config, keys: ctx.keys, redis, eventsConnection, log });
  try {
    await coordinator.start();
  } catch (err) {
    throw new FatalError(`cannot list the shards of ${config.input.stream.arn}: ${describeError(err)}`);
  }
  log.info({ stream: config.input.stream.arn, redis: safeRedisUrl(ctx.redisUrl), discoveryIntervalMs: config.input.discoveryIntervalMs }, 'coordinator started');
  onShutdownSignal(async (signal) => {
    log.info({ signal }, 'coordinator stopping');
    await coordinator.stop();
    eventsConnection.disconnect();
    await redis.quit();
  });
}
