/** Starts a process's /metrics, /healthz and /readyz endpoint, as the CLI options and environment say. */
import type { RedisClient } from '../shared/redis/connection';
import { ConfigError } from '../shared/config/config-error';
import type { Logger } from '../shared/logging';
import { initProcessMetrics, type Metrics } from '../shared/metrics';
import { OpsServer, PeriodicCheck, type ReadinessCheck } from '../shared/ops-server';
import { DEFAULT_METRICS_PORT } from './defaults';

export interface OpsOptions {
  metricsPort?: string;
  metricsHost?: string;
}

export interface Ops {
  metrics: Metrics;
  url?: string;
  stop(): Promise<void>;
}

export function opsAddress(opts: OpsOptions, env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const raw = opts.metricsPort ?? env.METRICS_PORT ?? String(DEFAULT_METRICS_PORT);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`Invalid argument: --metrics-port (or METRICS_PORT): value ${JSON.stringify(raw)} is not allowed; allowed: a TCP port from 0 (any free port) to 65535`);
  }
  return { host: opts.metricsHost ?? env.METRICS_HOST ?? '127.0.0.1', port };
}

/**
 * Readiness: Redis answers PING and Kinesis answers a one-shard ListShards, each checked every few
 * seconds in the background. A port that cannot be bound is logged, not fatal: the pipeline matters more.
 */
export async function startOps(
  opts: OpsOptions,
  labels: Record<string, string>,
  redis: RedisClient,
  kinesisPing: () => Promise<void>,
  log: Logger,
  extraChecks: readonly ReadinessCheck[] = [],
): Promise<Ops> {
  const { host, port } = opsAddress(opts);
  const metrics = initProcessMetrics(labels);
  redis.on('error', () => metrics.redisErrors.inc());
  const checks = [
    new PeriodicCheck('redis', async () => void (await redis.ping()), 2000),
    new PeriodicCheck('kinesis', kinesisPing, 5000, 4000),
  ];
  for (const check of checks) check.start();
  const server = new OpsServer(metrics, [...checks, ...extraChecks]);
  let url: string | undefined;
  try {
    url = await server.listen(host, port);
    log.info({ metrics: `${url}/metrics`, health: `${url}/healthz`, ready: `${url}/readyz` }, 'operations endpoint listening');
  } catch (err) {
    log.warn({ err: (err as Error).message, host, port }, 'cannot serve /metrics, /healthz and /readyz on that address; running without them');
  }
  return {
    metrics,
    url,
    stop: async () => {
      for (const check of checks) check.stop();
      await server.close();
    },
  };
}
