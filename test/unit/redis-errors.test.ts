/** A start-up failure names Redis when Redis caused it, not the Kinesis listing that ran beside it. */
import { ReplyError } from 'ioredis';
import { isRedisError } from '../../shared/redis/connection';

describe('isRedisError', () => {
  it('knows reply errors (a cluster CROSSSLOT, a demoted primary) and a connection ioredis gave up on', () => {
    expect(isRedisError(new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(true);
    expect(isRedisError(new ReplyError("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isRedisError(Object.assign(new Error('Reached the max retries per request limit (which is 20).'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isRedisError(new Error('Connection is closed.'))).toBe(true);
  });

  it('leaves Kinesis and other errors alone', () => {
    expect(isRedisError(Object.assign(new Error('Stream x under account y not found.'), { name: 'ResourceNotFoundException' }))).toBe(false);
    expect(isRedisError(new Error('connect ECONNREFUSED 127.0.0.1:4567'))).toBe(false);
    expect(isRedisError(undefined)).toBe(false);
  });
});
