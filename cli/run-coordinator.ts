import { duplicateRedis, isRedisError } from '../shared/redis/connection';
import { Coordinator } from '../coordinator/coordinator';
import { ConfigError } from '../shared/config/config-error';
import { ConsumerNotReady } from '../shared/aws/efo-consumer';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger, safeRedisUrl } from '../shared/logging';
import { workerId } from '../shared/identity';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { exitOnStateLost, FatalError, onShutdownSignal } from './lifecycle';
import { StateLostError } from '../shared/redis/app-state';
import { connectRedis } from './services';
import { startOps, type OpsOptions } from './ops';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { DeadLetterReplayer } from '../worker/dead-letter/dead-letter-replayer';

export async function runCoordinator(opts: CommonOptions & OpsOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const id = workerId('coordinator');
  const log = createLogger('coordinator', { app: ctx.app, coordinator: id });
  const config = loadConfig(ctx, log);
  const redis = await connectRedis(ctx.redisUrl);
  const eventsConnection = duplicateRedis(redis);
  eventsConnection.on('error', () => undefined);
  const probe = KinesisGateway.fromConfig(config.input.client);
  const ops = await startOps(opts, { app: ctx.app, role: 'coordinator', process: id }, redis, () => probe.ping(config.input.stream.arn), log);
  const coordinator = new Coordinator({ config, keys: ctx.keys, redis, eventsConnection, log, id, onShutdownRequested: () => stop('application shutdown requested'), onStateLost: exitOnStateLost(log) });
  const replayer = new DeadLetterReplayer(duplicateRedis(redis), ctx.keys, config, log);
  // Loaded only when enabled: Bull Board and Express are a good part of an idle coordinator's memory.
  const dashboard = config.dashboard.enabled ? new (await import('../coordinator/dashboard')).Dashboard(config.dashboard, redis, ctx.keys) : undefined;
  const stop = onShutdownSignal(async (reason) => {
    log.info({ reason }, 'coordinator stopping');
    await dashboard?.close();
    await replayer.stop();
    await coordinator.stop();
    await ops.stop();
    probe.destroy();
    eventsConnection.disconnect();
    // Everything is handed over by now: a QUIT that cannot be delivered (Redis failing over) is no failed stop.
    await redis.quit().catch(() => redis.disconnect());
  });
  try {
    await coordinator.start();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StateLostError) throw err;
    if (err instanceof ConsumerNotReady) throw new FatalError(`cannot prepare the EFO consumer: ${err.message}`);
    if (isRedisError(err)) throw new FatalError(`Redis refused the coordinator's start (${safeRedisUrl(ctx.redisUrl)}): ${(err as Error).message}`);
    throw new FatalError(`cannot list the shards of ${config.input.stream.arn}: ${describeError(err)}`);
  }
  replayer.start();
  if (dashboard) {
    try {
      log.info({ dashboard: await dashboard.listen() }, 'dashboard listening');
    } catch (err) {
      // Several coordinators on one host: the first one serves it.
      log.warn({ err: (err as Error).message, host: config.dashboard.host, port: config.dashboard.port }, 'cannot serve the dashboard there; running without it');
    }
  }
  log.info({ stream: config.input.stream.arn, reader: config.input.readerType, redis: safeRedisUrl(ctx.redisUrl), discoveryIntervalMs: config.input.discoveryIntervalMs }, 'coordinator started');
}
