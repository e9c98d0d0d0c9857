/**
 * The shared set-up of the multi-process integration tests: one kinesis-local per test file, a Redis
 * client, CLI processes that are always stopped after each test, and every app's keys dropped at the end.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Redis } from 'ioredis';
import { localClient, startKinesisLocal, type KinesisLocal } from './kinesis';
import { spawnCli, stopCli, type CliProcess } from './cli';
import { SteadyProducer } from './producer';
import { dropApp, REDIS_URL, testRedis } from './redis';
import { uniqueName } from './wait';

export class ClusterHarness {
  kinesis!: KinesisLocal;
  client!: KinesisClient;
  redis!: Redis;
  private readonly apps: string[] = [];
  private readonly running: CliProcess[] = [];
  private readonly producers: SteadyProducer[] = [];

  /** A started steady producer into `streamArn`; stopped before anything else after the test. */
  producer(streamArn: string, options: { perSecond: number; keys: number; prefix: string }): SteadyProducer {
    const producer = new SteadyProducer(this.client, streamArn, options);
    this.producers.push(producer);
    producer.start();
    return producer;
  }

  /** A fresh application name, whose Redis keys are dropped after the file. */
  app(prefix: string): string {
    const app = uniqueName(prefix);
    this.apps.push(app);
    return app;
  }

  /** Starts `shardflow <command> [flags]` for the app; stopped after the test if it is still running. */
  start(command: string, properties: string, app: string, env: NodeJS.ProcessEnv = {}, redisUrl = REDIS_URL, flags: string[] = [], nodeArgs: string[] = []): CliProcess {
    const p = spawnCli([command, ...flags, '--properties', properties, '--redis', redisUrl, '--app', app], env, nodeArgs);
    this.running.push(p);
    return p;
  }

  /**
   * Stops the producers (a test that failed half-way left them writing), then every running process,
   * newest first (workers before the coordinator that started first).
   */
  async stopAll(): Promise<Array<number | null>> {
    // A failed loop was the test's business (it awaited stop() or it failed for another reason).
    await Promise.all(this.producers.splice(0).map((p) => p.stop().catch(() => undefined)));
    const codes: Array<number | null> = [];
    for (const p of this.running.splice(0).reverse()) {
      if (p.child.signalCode === 'SIGSTOP' || p.child.exitCode === null) p.child.kill('SIGCONT');
      codes.push(await stopCli(p));
    }
    return codes;
  }

  async setUp(): Promise<void> {
    this.kinesis = await startKinesisLocal();
    this.client = localClient(this.kinesis.endpoint);
    this.redis = testRedis();
  }

  async tearDown(): Promise<void> {
    await this.stopAll();
    for (const app of this.apps) await dropApp(this.redis, app);
    this.redis.disconnect();
    this.client.destroy();
    await this.kinesis.stop();
  }
}

/** Registers the hooks of a test file and returns its harness. */
export function useClusterHarness(): ClusterHarness {
  const h = new ClusterHarness();
  beforeAll(() => h.setUp());
  afterEach(async () => {
    await h.stopAll();
  });
  afterAll(() => h.tearDown());
  return h;
}
