/**
 * The input streams the application reads or read, in Redis (`AppKeys.streams`: stream ARN -> JSON
 * record), kept by the leading coordinator: `active` while the configuration names it and Kinesis has
 * it, `removed` once the configuration no longer names it, `deleted` while Kinesis says it does not
 * exist. A removed or deleted stream's own keys (checkpoints, submitted marks, shard ends, initial
 * shards, EFO consumer) get a TTL of `Application.removed-stream.retention`; named again within it, the
 * TTL goes and the stream resumes at its checkpoints. The dashboard, `shardflow dlq` and the status
 * line read it to name streams.
 */
import type { RedisClient } from '../shared/redis/connection';
import type { AppKeys } from '../shared/redis/keys';

export type InputStreamState = 'active' | 'removed' | 'deleted';

export interface InputStreamRecord {
  /** Its stream key (`name@account.region`): what its lease keys and Redis keys start with. */
  key: string;
  name: string;
  /** The group that configured it last. */
  group: string;
  state: InputStreamState;
  /** When it entered this state (ms since the epoch). */
  since: number;
}

export class InputStreamRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AppKeys,
  ) {}

  async read(): Promise<Map<string, InputStreamRecord>> {
    const all = await this.redis.hgetall(this.keys.streams);
    return new Map(Object.entries(all).map(([arn, json]) => [arn, JSON.parse(json) as InputStreamRecord]));
  }

  async write(arn: string, record: InputStreamRecord): Promise<void> {
    await this.redis.hset(this.keys.streams, arn, JSON.stringify(record));
  }

  async forget(arn: string): Promise<void> {
    await this.redis.hdel(this.keys.streams, arn);
  }

  /** Gives the stream's own keys a TTL (a removed or deleted stream's state is kept this long). */
  async expireState(arn: string, ms: number): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const key of this.keys.stream(arn).all) pipeline.pexpire(key, ms);
    await pipeline.exec();
  }

  /** Takes the TTL off the stream's own keys (it is read again). */
  async keepState(arn: string): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const key of this.keys.stream(arn).all) pipeline.persist(key);
    await pipeline.exec();
  }
}
