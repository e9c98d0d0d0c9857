/**
 * `shardflow shutdown`: stops the whole application on purpose. Every worker and coordinator of the
 * app sees the request within a second and stops gracefully (flush, checkpoint, release, exit 0);
 * then a JOB_MANAGED EFO consumer is deregistered. This is the only stop that deregisters it: a
 * coordinator that is restarted, killed or replaced by another leaves the consumer in place.
 */
import { EfoConsumerLifecycle } from '../coordinator/efo-consumer-lifecycle';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger } from '../shared/logging';
import { sleep } from '../shared/backoff';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { ConfigError } from '../shared/config/config-error';
import { FatalError } from './lifecycle';
import { connectRedis } from './services';
import { liveMembers } from '../shared/redis/heartbeats';

export interface ShutdownOptions extends CommonOptions {
  timeout?: string;
}

export async function runShutdown(opts: ShutdownOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('shutdown', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const timeoutS = opts.timeout === undefined ? 120 : Number(opts.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new ConfigError(`Invalid argument: --timeout: value ${JSON.stringify(opts.timeout)} is not allowed; allowed: a positive number of seconds`);
  }
  const redis = await connectRedis(ctx.redisUrl);
  const { keys } = ctx;
  try {
    await redis.set(keys.shutdown, new Date().toISOString(), 'PX', timeoutS * 1000 + 60_000);
    const deadline = Date.now() + timeoutS * 1000;
    let workers = 0;
    let coordinators = 0;
    for (;;) {
      // Heartbeats are scored with Redis's clock, so their age is judged by it too.
      workers = (await liveMembers(redis, keys.liveWorkers, config.cluster.leaseTimeoutMs)).length;
      coordinators = (await liveMembers(redis, keys.liveCoordinators, 5000)).length;
      if (workers === 0 && coordinators === 0) break;
      if (Date.now() > deadline) throw new FatalError(`application "${ctx.app}" did not stop within ${timeoutS} s: ${workers} worker(s) and ${coordinators} coordinator(s) still running`);
      await sleep(250);
    }
    let consumer = '';
    for (const input of config.inputs.filter((i) => i.readerType === 'EFO')) {
      const kinesis = KinesisGateway.fromConfig(input.client);
      try {
        const deregistered = await new EfoConsumerLifecycle(kinesis, input, redis, keys.stream(input.stream.arn), log).retire();
        consumer += deregistered ? `; JOB_MANAGED EFO consumer "${input.efo.consumerName}" of ${input.stream.name} deregistered` : `; SELF_MANAGED EFO consumer "${input.efo.consumerName}" of ${input.stream.name} left in place`;
      } catch (err) {
        throw new FatalError(`every process stopped, but deregistering the EFO consumer of ${input.stream.arn} failed: ${describeError(err)}`);
      } finally {
        kinesis.destroy();
      }
    }
    process.stdout.write(`application "${ctx.app}" shut down: every worker and coordinator stopped${consumer}\n`);
  } finally {
    await redis.del(keys.shutdown).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
}
