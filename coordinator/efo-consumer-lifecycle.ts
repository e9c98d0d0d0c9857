/**
 * The enhanced fan-out consumer's life, owned by the coordinator.
 *
 * JOB_MANAGED: the coordinator registers the consumer at start-up (an existing one of that name is
 * reused), waits until it is ACTIVE and publishes its ARN in Redis for the workers. It is deregistered
 * only when the application is shut down on purpose (`shardflow shutdown`, or Ctrl-C on the local
 * stack), never when one coordinator stops, restarts or fails over, since workers may still be
 * reading through it.
 *
 * SELF_MANAGED: nothing is registered or deregistered; start-up fails (exit 2) unless the named
 * consumer exists and is ACTIVE.
 */
import type { RedisClient } from '../shared/redis/connection';
import type { InputStreamConfig } from '../shared/config/app-config';
import { ConfigError } from '../shared/config/config-error';
import { EFO_CONSUMER_NAME, EFO_LIFECYCLE, INPUT } from '../shared/config/options';
import { ConsumerNotReady, waitForActiveConsumer } from '../shared/aws/efo-consumer';
import type { StreamConsumers } from '../shared/aws/kinesis-gateway';
import type { Logger } from '../shared/logging';
import type { StreamKeys } from '../shared/redis/keys';

export interface PublishedConsumer {
  name: string;
  arn: string;
  lifecycle: 'JOB_MANAGED' | 'SELF_MANAGED';
}

export class EfoConsumerLifecycle {
  constructor(
    private readonly api: StreamConsumers,
    private readonly input: InputStreamConfig,
    private readonly redis: RedisClient,
    private readonly keys: StreamKeys,
    private readonly log: Logger,
  ) {}

  /** Makes sure the consumer is ACTIVE (registering it if JOB_MANAGED) and publishes its ARN. */
  async prepare(signal?: AbortSignal): Promise<string> {
    const { efo, stream } = this.input;
    const managed = efo.lifecycle === 'JOB_MANAGED';
    if (managed) {
      await this.api.registerConsumer(stream.arn, efo.consumerName!);
      this.log.info({ consumer: efo.consumerName }, 'EFO consumer registered (or already there); waiting until it is ACTIVE');
    }
    let arn: string;
    try {
      arn = await waitForActiveConsumer(this.api, stream.arn, efo, {
        mustExist: !managed,
        signal,
        // A consumer still DELETING after an earlier shutdown makes the first register a no-op: register again once it is gone.
        onMissing: managed ? () => this.api.registerConsumer(stream.arn, efo.consumerName!) : undefined,
        onWait: (status, delayMs) => this.log.info({ consumer: efo.consumerName, status, retryInMs: delayMs }, 'EFO consumer not ACTIVE yet'),
      });
    } catch (err) {
      if (err instanceof ConsumerNotReady && !managed) throw selfManagedError(err, efo.consumerName!, this.input.group);
      throw err;
    }
    const published: PublishedConsumer = { name: efo.consumerName!, arn, lifecycle: efo.lifecycle };
    await this.redis.set(this.keys.efoConsumer, JSON.stringify(published));
    this.log.info({ consumer: efo.consumerName, arn, lifecycle: efo.lifecycle }, 'EFO consumer ACTIVE');
    return arn;
  }

  /** The on-purpose shutdown: deregister a JOB_MANAGED consumer. A SELF_MANAGED one is left alone. */
  async retire(): Promise<boolean> {
    const { efo, stream } = this.input;
    await this.redis.del(this.keys.efoConsumer);
    if (efo.lifecycle !== 'JOB_MANAGED') return false;
    await this.api.deregisterConsumer(stream.arn, efo.consumerName!);
    this.log.info({ consumer: efo.consumerName }, 'JOB_MANAGED EFO consumer deregistered');
    return true;
  }
}

export function selfManagedError(err: ConsumerNotReady, name: string, group: string = INPUT): ConfigError {
  return ConfigError.invalidValue(
    group,
    EFO_CONSUMER_NAME.key,
    name,
    `the name of an existing ACTIVE stream consumer when ${EFO_LIFECYCLE.key}=SELF_MANAGED (${err.message}; register it first, or use JOB_MANAGED)`,
  );
}
