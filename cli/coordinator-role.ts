/**
 * The coordinator's part of a process: the coordinator itself (leader election, shard discovery, lease
 * jobs), the dead-letter replayer, and the dashboard when it is enabled. `shardflow coordinator` runs it
 * on its own; `shardflow worker --coordinate` runs it beside a worker in the same process, so a small
 * fleet needs one kind of process (as KCL runs its leader election inside every worker) and one Node
 * runtime instead of two. Standby coordinators wait for the leader key either way.
 */
import type { AppConfig, InputStreamConfig } from '../shared/config/app-config';
import { ConfigError } from '../shared/config/config-error';
import { ConsumerNotReady } from '../shared/aws/efo-consumer';
import { describeError } from '../shared/aws/kinesis-errors';
import type { Logger } from '../shared/logging';
import { safeRedisUrl } from '../shared/logging';
import { StateLostError } from '../shared/redis/app-state';
import { duplicateRedis, isRedisError, type RedisClient } from '../shared/redis/connection';
import type { AppKeys } from '../shared/redis/keys';
import { Coordinator } from '../coordinator/coordinator';
import type { Dashboard } from '../coordinator/dashboard';
import { DeadLetterReplayer } from '../worker/dead-letter/dead-letter-replayer';
import { FatalError } from './lifecycle';
import type { TransformRuntime } from '../worker/transform/transform-runtime';

export interface CoordinatorRoleDeps {
  config: AppConfig;
  keys: AppKeys;
  redis: RedisClient;
  /** For messages only (redacted). */
  redisUrl: string;
  id: string;
  log: Logger;
  onShutdownRequested: () => void;
  onStateLost: (err: StateLostError) => void;
  /** The process's transform (its dead-letter replayer runs letters through it); the process closes it. */
  transform: TransformRuntime;
}

export class CoordinatorRole {
  private readonly eventsConnection: RedisClient;
  private readonly coordinator: Coordinator;
  private readonly replayer: DeadLetterReplayer;
  private dashboard: Dashboard | undefined;

  constructor(private readonly deps: CoordinatorRoleDeps) {
    const { config, keys, redis, log, id } = deps;
    this.eventsConnection = duplicateRedis(redis);
    this.eventsConnection.on('error', () => undefined);
    this.coordinator = new Coordinator({ config, keys, redis, eventsConnection: this.eventsConnection, log, id, onShutdownRequested: deps.onShutdownRequested, onStateLost: deps.onStateLost });
    this.replayer = new DeadLetterReplayer(duplicateRedis(redis), keys, config, log, deps.transform);
  }

  /** Starts leading or standing by; a failure that no retry mends becomes a FatalError naming its cause. */
  async start(): Promise<void> {
    const { config, log } = this.deps;
    // Loaded only when enabled: Bull Board and Express are a good part of an idle coordinator's memory.
    if (config.dashboard.enabled) this.dashboard = new (await import('../coordinator/dashboard')).Dashboard(config.dashboard, this.deps.redis, this.deps.keys);
    try {
      await this.coordinator.start();
    } catch (err) {
      if (err instanceof ConfigError || err instanceof StateLostError) throw err;
      if (err instanceof ConsumerNotReady) throw new FatalError(`cannot prepare the EFO consumer: ${err.message}`);
      if (isRedisError(err)) throw new FatalError(`Redis refused the coordinator's start (${safeRedisUrl(this.deps.redisUrl)}): ${(err as Error).message}`);
      throw new FatalError(`cannot list the shards of ${config.inputs.length === 1 ? config.input.stream.arn : 'any input stream'}: ${describeError(err)}`);
    }
    this.replayer.start();
    if (this.dashboard) {
      try {
        log.info({ dashboard: await this.dashboard.listen() }, 'dashboard listening');
      } catch (err) {
        // Several coordinators on one host: the first one serves it.
        log.warn({ err: (err as Error).message, host: config.dashboard.host, port: config.dashboard.port }, 'cannot serve the dashboard there; running without it');
      }
    }
    log.info({ streams: config.inputs.map((i) => `${i.group}=${i.stream.arn} (${i.readerType})`).join(' '), redis: safeRedisUrl(this.deps.redisUrl) }, 'coordinator started');
  }

  /** The input streams named by a re-read configuration (see shared/config/input-watcher.ts). */
  updateInputs(inputs: readonly InputStreamConfig[]): void {
    this.coordinator.updateInputs(inputs);
    this.replayer.updateInputs(inputs);
  }

  async stop(): Promise<void> {
    await this.dashboard?.close();
    await this.replayer.stop();
    await this.coordinator.stop();
    this.eventsConnection.disconnect();
  }
}
