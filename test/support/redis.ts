import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';
import { deleteKeysUnder } from '../../shared/redis/connection';
import type { DeadLetter } from '../../shared/records';
import { uniqueName } from './wait';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testRedis(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** Removes every key of one application. */
export async function dropApp(redis: Redis, app: string): Promise<void> {
  await deleteKeysUnder(redis, new AppKeys(app).prefix);
}

export async function deadLetters(redis: Redis, app: string): Promise<DeadLetter[]> {
  const queue = new Queue<DeadLetter>(DEAD_LETTER_QUEUE, { connection: redis, prefix: new AppKeys(app).bullPrefix });
  const jobs = await queue.getJobs(['waiting', 'delayed', 'failed', 'completed', 'active', 'prioritized']);
  await queue.close();
  return jobs.map((j) => j.data);
}

/**
 * A Redis client and a fresh application name for one test file (registers its hooks): the client is
 * there from beforeAll, and the application's keys are dropped and the client closed after the file.
 */
export function useAppRedis(prefix: string): { readonly app: string; readonly redis: Redis } {
  const app = uniqueName(prefix);
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    if (!redis) return;
    await dropApp(redis, app);
    redis.disconnect();
  });
  return {
    app,
    get redis(): Redis {
      if (!redis) throw new Error('useAppRedis: the client exists from beforeAll on');
      return redis;
    },
  };
}
