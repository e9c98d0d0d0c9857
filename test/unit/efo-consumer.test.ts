import pino from 'pino';
import type { Redis } from 'ioredis';
import type { ConsumerDescription } from '@aws-sdk/client-kinesis';
import { EfoConsumerLifecycle } from '../../coordinator/efo-consumer-lifecycle';
import { ConsumerNotReady, describeDelay, waitForActiveConsumer } from '../../shared/aws/efo-consumer';
import type { StreamConsumers } from '../../shared/aws/kinesis-gateway';
import type { EfoConfig, InputStreamConfig } from '../../shared/config/app-config';
import { ConfigError } from '../../shared/config/config-error';
import { AppKeys } from '../../shared/redis/keys';
import { track } from '../support/track';

const log = pino({ level: 'silent' });
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const NAME = 'shardflow-consumer';
const CONSUMER_ARN = `${STREAM_ARN}/consumer/${NAME}:1714564800`;
const KEY = 'shardflow:test:stream:in@123456789012.us-east-1:efo-consumer';

function efoConfig(overrides: Partial<EfoConfig> = {}): EfoConfig {
  return {
    consumerName: NAME,
    lifecycle: 'JOB_MANAGED',
    describeDelayMinMs: 100,
    describeDelayMaxMs: 400,
    describeAttempts: 5,
    subscriptionTimeoutMs: 10_000,
    maxSubscriptionMs: 300_000,
    ...overrides,
  };
}

function inputConfig(efo: EfoConfig): InputStreamConfig {
  return {
    group: 'InputStream0',
    output: 'OutputStream0',
    stream: { arn: STREAM_ARN, name: 'in', account: '123456789012', region: 'us-east-1' },
    client: { group: 'InputStream0', region: 'us-east-1', credentials: { provider: 'AUTO' }, maxConcurrency: 50, readTimeoutMs: 30_000 },
    initialPosition: { type: 'TRIM_HORIZON' },
    readerType: 'EFO',
    efo,
    discoveryIntervalMs: 10_000,
    getRecordsMaxCount: 10_000,
    getRecordsIntervalMs: 200,
    emptyFetchIntervalMs: 1000,
    idleIntervalMs: 2000,
  };
}

type Status = ConsumerDescription['ConsumerStatus'] | 'MISSING';

/** DescribeStreamConsumer answers with the scripted statuses (the last one repeats). */
class FakeConsumers implements StreamConsumers {
  readonly calls: string[] = [];
  readonly describeTimes: number[] = [];
  statuses: Status[] = ['ACTIVE'];
  private readonly origin = Date.now();

  async describeConsumer(streamArn: string, consumerName: string): Promise<ConsumerDescription | undefined> {
    this.calls.push(`describe ${streamArn} ${consumerName}`);
    this.describeTimes.push(Date.now() - this.origin);
    const status = this.statuses.length > 1 ? this.statuses.shift()! : this.statuses[0];
    if (status === 'MISSING') return undefined;
    return { ConsumerName: consumerName, ConsumerARN: CONSUMER_ARN, ConsumerStatus: status, ConsumerCreationTimestamp: new Date(0), StreamARN: streamArn };
  }

  async registerConsumer(streamArn: string, consumerName: string): Promise<void> {
    this.calls.push(`register ${streamArn} ${consumerName}`);
  }

  async deregisterConsumer(streamArn: string, consumerName: string): Promise<void> {
    this.calls.push(`deregister ${streamArn} ${consumerName}`);
  }

  get describes(): number {
    return this.calls.filter((c) => c.startsWith('describe')).length;
  }
}

/** Just what the lifecycle uses of ioredis: set and del, on a Map. */
class FakeRedis {
  readonly store = new Map<string, string>();
  readonly calls: string[] = [];

  async set(key: string, value: string): Promise<'OK'> {
    this.calls.push(`set ${key}`);
    this.store.set(key, value);
    return 'OK';
  }

  async del(key: string): Promise<number> {
    this.calls.push(`del ${key}`);
    return this.store.delete(key) ? 1 : 0;
  }

  asRedis(): Redis {
    return this as unknown as Redis;
  }
}


async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 3; i++) await jest.advanceTimersByTimeAsync(0);
}

afterEach(() => {
  jest.useRealTimers();
});

describe('describeDelay', () => {
  it('doubles from the minimum up to the maximum', () => {
    const efo = { describeDelayMinMs: 100, describeDelayMaxMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((attempt) => describeDelay(attempt, efo))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('stays at the maximum for very large attempt numbers', () => {
    const efo = { describeDelayMinMs: 2000, describeDelayMaxMs: 30_000 };
    expect(describeDelay(31, efo)).toBe(30_000);
    expect(describeDelay(1000, efo)).toBe(30_000);
    expect(describeDelay(Number.MAX_SAFE_INTEGER, efo)).toBe(30_000);
  });

  it('is the minimum when min equals max', () => {
    expect(describeDelay(0, { describeDelayMinMs: 500, describeDelayMaxMs: 500 })).toBe(500);
    expect(describeDelay(7, { describeDelayMinMs: 500, describeDelayMaxMs: 500 })).toBe(500);
  });
});

describe('waitForActiveConsumer', () => {
  it('returns the ARN of an ACTIVE consumer at the first look, without waiting', async () => {
    const api = new FakeConsumers();
    const onWait = jest.fn();
    await expect(waitForActiveConsumer(api, STREAM_ARN, efoConfig(), { mustExist: false, onWait })).resolves.toBe(CONSUMER_ARN);
    await expect(waitForActiveConsumer(api, STREAM_ARN, efoConfig(), { mustExist: true, onWait })).resolves.toBe(CONSUMER_ARN);
    expect(api.calls).toEqual([`describe ${STREAM_ARN} ${NAME}`, `describe ${STREAM_ARN} ${NAME}`]);
    expect(onWait).not.toHaveBeenCalled();
  });

  it('with mustExist, throws ConsumerNotReady at once when the consumer does not exist', async () => {
    const api = new FakeConsumers();
    api.statuses = ['MISSING', 'ACTIVE'];
    const err = await waitForActiveConsumer(api, STREAM_ARN, efoConfig(), { mustExist: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsumerNotReady);
    expect(err).toMatchObject({ name: 'ConsumerNotReady', status: undefined, message: `the EFO consumer "${NAME}" of ${STREAM_ARN} does not exist` });
    expect(api.describes).toBe(1);
  });

  it.each(['CREATING', 'DELETING'] as const)('with mustExist, throws ConsumerNotReady at once when the consumer is %s', async (status) => {
    const api = new FakeConsumers();
    api.statuses = [status, 'ACTIVE'];
    const err = await waitForActiveConsumer(api, STREAM_ARN, efoConfig(), { mustExist: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsumerNotReady);
    expect(err).toMatchObject({ status, message: `the EFO consumer "${NAME}" of ${STREAM_ARN} is ${status}, not ACTIVE` });
    expect(api.describes).toBe(1);
  });

  it('without mustExist, waits through a missing then CREATING consumer with the configured delays', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['MISSING', 'CREATING', 'CREATING', 'ACTIVE'];
    const onWait = jest.fn();
    const result = track(waitForActiveConsumer(api, STREAM_ARN, efoConfig({ describeDelayMinMs: 100, describeDelayMaxMs: 300, describeAttempts: 10 }), { mustExist: false, onWait }));
    await advance(0);
    expect(api.describeTimes).toEqual([0]);
    await advance(99);
    expect(api.describeTimes).toEqual([0]);
    await advance(1);
    expect(api.describeTimes).toEqual([0, 100]);
    await advance(199);
    expect(api.describeTimes).toEqual([0, 100]);
    await advance(1);
    expect(api.describeTimes).toEqual([0, 100, 300]);
    expect(result.done).toBe(false);
    await advance(300); // 400 capped at 300
    expect(api.describeTimes).toEqual([0, 100, 300, 600]);
    expect(result).toEqual({ done: true, value: CONSUMER_ARN });
    expect(onWait.mock.calls).toEqual([
      [undefined, 100],
      ['CREATING', 200],
      ['CREATING', 300],
    ]);
  });

  it('without mustExist, gives up with ConsumerNotReady after describeAttempts checks', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['CREATING'];
    const onWait = jest.fn();
    const result = track(waitForActiveConsumer(api, STREAM_ARN, efoConfig({ describeDelayMinMs: 100, describeDelayMaxMs: 400, describeAttempts: 3 }), { mustExist: false, onWait }));
    await advance(300);
    expect(api.describeTimes).toEqual([0, 100, 300]);
    await advance(10_000);
    expect(api.describes).toBe(3);
    expect(result.done).toBe(true);
    expect(result.error).toBeInstanceOf(ConsumerNotReady);
    expect(result.error).toMatchObject({ status: 'CREATING', message: `the EFO consumer "${NAME}" of ${STREAM_ARN} is not ACTIVE (status CREATING) after 3 checks` });
    expect(onWait.mock.calls.slice(0, 2)).toEqual([
      ['CREATING', 100],
      ['CREATING', 200],
    ]);
  });

  it('says "missing" when the consumer never appeared', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['MISSING'];
    const result = track(waitForActiveConsumer(api, STREAM_ARN, efoConfig({ describeAttempts: 2 }), { mustExist: false }));
    await advance(10_000);
    expect(api.describes).toBe(2);
    expect(result.error).toBeInstanceOf(ConsumerNotReady);
    expect(result.error).toMatchObject({ status: undefined, message: `the EFO consumer "${NAME}" of ${STREAM_ARN} is not ACTIVE (status missing) after 2 checks` });
  });

  it('stops without waiting when its signal has aborted', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['CREATING'];
    const controller = new AbortController();
    controller.abort();
    const onWait = jest.fn();
    const result = track(waitForActiveConsumer(api, STREAM_ARN, efoConfig(), { mustExist: false, signal: controller.signal, onWait }));
    await advance(0);
    expect(result.error).toBeInstanceOf(ConsumerNotReady);
    // Already stopped: not even one look.
    expect(api.describes).toBe(0);
    expect(onWait).not.toHaveBeenCalled();
  });
});

describe('EfoConsumerLifecycle', () => {
  const keys = new AppKeys('test').stream(STREAM_ARN);

  function lifecycle(efo: EfoConfig, api = new FakeConsumers(), redis = new FakeRedis()) {
    return { api, redis, efo: new EfoConsumerLifecycle(api, inputConfig(efo), redis.asRedis(), keys, log) };
  }

  it('uses the key shardflow:<app>:stream:<stream key>:efo-consumer', () => {
    expect(keys.efoConsumer).toBe(KEY);
  });

  it('JOB_MANAGED: registers, waits until ACTIVE, then publishes {name, arn, lifecycle}', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['MISSING', 'CREATING', 'ACTIVE'];
    const { redis, efo } = lifecycle(efoConfig({ lifecycle: 'JOB_MANAGED', describeDelayMinMs: 100, describeDelayMaxMs: 1000 }), api);
    const result = track(efo.prepare());
    await advance(0);
    // Not visible yet right after registering: registered again (idempotent), as after a DELETING one went.
    expect(api.calls).toEqual([`register ${STREAM_ARN} ${NAME}`, `describe ${STREAM_ARN} ${NAME}`, `register ${STREAM_ARN} ${NAME}`]);
    // Nothing is published before the consumer is ACTIVE.
    await advance(299);
    expect(api.describeTimes).toEqual([0, 100]);
    expect(redis.store.size).toBe(0);
    expect(result.done).toBe(false);
    await advance(1);
    expect(api.describeTimes).toEqual([0, 100, 300]);
    expect(result).toEqual({ done: true, value: CONSUMER_ARN });
    expect(redis.calls).toEqual([`set ${KEY}`]);
    expect(JSON.parse(redis.store.get(KEY)!)).toEqual({ name: NAME, arn: CONSUMER_ARN, lifecycle: 'JOB_MANAGED' });
    expect(api.calls.filter((c) => c.startsWith('register'))).toHaveLength(2);
  });

  it('JOB_MANAGED: reuses an existing ACTIVE consumer (registerConsumer is idempotent)', async () => {
    const { api, redis, efo } = lifecycle(efoConfig({ lifecycle: 'JOB_MANAGED' }));
    await expect(efo.prepare()).resolves.toBe(CONSUMER_ARN);
    expect(api.calls).toEqual([`register ${STREAM_ARN} ${NAME}`, `describe ${STREAM_ARN} ${NAME}`]);
    expect(JSON.parse(redis.store.get(KEY)!)).toEqual({ name: NAME, arn: CONSUMER_ARN, lifecycle: 'JOB_MANAGED' });
  });

  it('JOB_MANAGED: a consumer that never becomes ACTIVE is a ConsumerNotReady, not a ConfigError, and nothing is published', async () => {
    jest.useFakeTimers();
    const api = new FakeConsumers();
    api.statuses = ['CREATING'];
    const { redis, efo } = lifecycle(efoConfig({ lifecycle: 'JOB_MANAGED', describeAttempts: 3 }), api);
    const result = track(efo.prepare());
    await advance(10_000);
    expect(result.error).toBeInstanceOf(ConsumerNotReady);
    expect(result.error).not.toBeInstanceOf(ConfigError);
    expect(api.describes).toBe(3);
    expect(redis.store.size).toBe(0);
    expect(redis.calls).toEqual([]);
  });

  it('SELF_MANAGED: never registers; publishes an ACTIVE consumer with its lifecycle', async () => {
    const { api, redis, efo } = lifecycle(efoConfig({ lifecycle: 'SELF_MANAGED' }));
    await expect(efo.prepare()).resolves.toBe(CONSUMER_ARN);
    expect(api.calls).toEqual([`describe ${STREAM_ARN} ${NAME}`]);
    expect(JSON.parse(redis.store.get(KEY)!)).toEqual({ name: NAME, arn: CONSUMER_ARN, lifecycle: 'SELF_MANAGED' });
  });

  it('SELF_MANAGED: a missing consumer is a ConfigError (exit code 2) naming the group, the key and the consumer', async () => {
    const api = new FakeConsumers();
    api.statuses = ['MISSING'];
    const { redis, efo } = lifecycle(efoConfig({ lifecycle: 'SELF_MANAGED' }), api);
    const err = await efo.prepare().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).message).toBe(
      `Invalid configuration: property group "InputStream0", key "source.efo.consumer.name": value "${NAME}" is not allowed; ` +
        `allowed: the name of an existing ACTIVE stream consumer when source.efo.consumer.lifecycle=SELF_MANAGED ` +
        `(the EFO consumer "${NAME}" of ${STREAM_ARN} does not exist; register it first, or use JOB_MANAGED)`,
    );
    expect(api.calls).toEqual([`describe ${STREAM_ARN} ${NAME}`]);
    expect(redis.calls).toEqual([]);
  });

  it('SELF_MANAGED: a consumer that is not ACTIVE is a ConfigError at once, without waiting', async () => {
    const api = new FakeConsumers();
    api.statuses = ['CREATING', 'ACTIVE'];
    const { redis, efo } = lifecycle(efoConfig({ lifecycle: 'SELF_MANAGED' }), api);
    const err = await efo.prepare().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toContain('InputStream0');
    expect(message).toContain('source.efo.consumer.name');
    expect(message).toContain(`"${NAME}"`);
    expect(message).toContain('is CREATING, not ACTIVE');
    expect(api.calls).toEqual([`describe ${STREAM_ARN} ${NAME}`]);
    expect(redis.store.size).toBe(0);
  });

  it('retire(), JOB_MANAGED: deletes the published key, deregisters and returns true', async () => {
    const { api, redis, efo } = lifecycle(efoConfig({ lifecycle: 'JOB_MANAGED' }));
    await efo.prepare();
    expect(redis.store.has(KEY)).toBe(true);
    api.calls.length = 0;
    await expect(efo.retire()).resolves.toBe(true);
    expect(redis.store.has(KEY)).toBe(false);
    expect(redis.calls).toEqual([`set ${KEY}`, `del ${KEY}`]);
    expect(api.calls).toEqual([`deregister ${STREAM_ARN} ${NAME}`]);
  });

  it('retire(), SELF_MANAGED: deletes the published key, does not deregister and returns false', async () => {
    const { api, redis, efo } = lifecycle(efoConfig({ lifecycle: 'SELF_MANAGED' }));
    await efo.prepare();
    expect(redis.store.has(KEY)).toBe(true);
    api.calls.length = 0;
    await expect(efo.retire()).resolves.toBe(false);
    expect(redis.store.has(KEY)).toBe(false);
    expect(redis.calls).toEqual([`set ${KEY}`, `del ${KEY}`]);
    expect(api.calls).toEqual([]);
  });
});

describe('fixes found in review', () => {
  test('no wait after the last check, and the message counts the checks made', async () => {
    const api = { describeConsumer: jest.fn(async () => ({ ConsumerStatus: 'CREATING', ConsumerARN: 'arn:c' }) as ConsumerDescription), registerConsumer: jest.fn(), deregisterConsumer: jest.fn() } as unknown as StreamConsumers & { describeConsumer: jest.Mock };
    const onWait = jest.fn();
    const efo = { consumerName: 'c', lifecycle: 'JOB_MANAGED' as const, describeDelayMinMs: 1, describeDelayMaxMs: 1, describeAttempts: 3, subscriptionTimeoutMs: 1000, maxSubscriptionMs: 1000 };
    await expect(waitForActiveConsumer(api, 'arn:s', efo, { mustExist: false, onWait })).rejects.toThrow('after 3 checks');
    expect(api.describeConsumer).toHaveBeenCalledTimes(3);
    expect(onWait).toHaveBeenCalledTimes(2);
  });

  test('JOB_MANAGED registers again when a DELETING consumer from an earlier shutdown has gone', async () => {
    const statuses = ['DELETING', undefined, 'CREATING', 'ACTIVE'];
    const api = {
      describeConsumer: jest.fn(async () => {
        const status = statuses.shift();
        return status ? ({ ConsumerStatus: status, ConsumerARN: 'arn:c' } as ConsumerDescription) : undefined;
      }),
      registerConsumer: jest.fn(async (_stream: string, _name: string) => undefined),
      deregisterConsumer: jest.fn(),
    };
    const efo = { consumerName: 'c', lifecycle: 'JOB_MANAGED' as const, describeDelayMinMs: 1, describeDelayMaxMs: 1, describeAttempts: 10, subscriptionTimeoutMs: 1000, maxSubscriptionMs: 1000 };
    const onMissing = () => api.registerConsumer('arn:s', 'c');
    expect(await waitForActiveConsumer(api, 'arn:s', efo, { mustExist: false, onMissing })).toBe('arn:c');
    expect(api.registerConsumer).toHaveBeenCalledTimes(1);
  });
});
