/**
 * Where a worker gets the EFO consumer's ARN: the coordinator publishes it in Redis once the consumer
 * is ACTIVE; until then (or if Redis has none) the worker asks Kinesis itself. Cached per process.
 */
import type { RedisClient } from '../../shared/redis/connection';
import type { StreamConsumers } from '../../shared/aws/kinesis-gateway';
import { sleep } from '../../shared/backoff';
import type { Logger } from '../../shared/logging';
import type { StreamKeys } from '../../shared/redis/keys';
import type { ConsumerArnSource } from './efo-reader';

export class PublishedConsumerArn implements ConsumerArnSource {
  private cached: Promise<string> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: StreamKeys,
    private readonly api: StreamConsumers,
    private readonly streamArn: string,
    private readonly consumerName: string,
    private readonly log: Logger,
    private readonly pollMs = 1000,
  ) {}

  get(signal: AbortSignal): Promise<string> {
    this.cached ??= this.lookUp(signal).catch((err) => {
      this.cached = undefined;
      throw err;
    });
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async lookUp(signal: AbortSignal): Promise<string> {
    let logged = false;
    while (!signal.aborted) {
      const published = await this.redis.get(this.keys.efoConsumer);
      if (published) {
        const { name, arn } = JSON.parse(published) as { name: string; arn: string };
        if (name === this.consumerName) return arn;
      }
      const consumer = await this.api.describeConsumer(this.streamArn, this.consumerName);
      if (consumer?.ConsumerStatus === 'ACTIVE') return consumer.ConsumerARN!;
      if (!logged) {
        this.log.info({ consumer: this.consumerName, status: consumer?.ConsumerStatus ?? 'missing' }, 'waiting for the EFO consumer to be ACTIVE');
        logged = true;
      }
      await sleep(this.pollMs, signal);
    }
    throw new Error('stopped while waiting for the EFO consumer');
  }
}
