/** Checkpoint fencing against a real BullMQ lease lock in Redis. */
import { CheckpointStore, SHARD_END } from '../../shared/leases/checkpoint-store';
import { AppKeys } from '../../shared/redis/keys';
import { holdLeaseJobs } from '../support/held-lease-jobs';
import { useAppRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const ctx = useAppRedis('it-fence');
const app = ctx.app;
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/it-fence-in';
const appKeys = new AppKeys(app);
const keys = appKeys.stream(STREAM);

test('only the worker holding the lease job\'s lock can move the checkpoint, and only forwards', async () => {
  const shardId = 'shardId-000000000007';
  const jobs = await holdLeaseJobs(ctx.redis, appKeys, STREAM, [shardId], { lockDuration: 5000 });
  const token = jobs.tokens.get(keys.leaseKey(shardId));
  expect(token).toBeDefined();
  try {
    const store = new CheckpointStore(ctx.redis, keys);

    expect(await store.save(shardId, token!, '49590338271490256608559692538361571095921575989136588898')).toBe('written');
    // Another worker's token (a stale owner) is fenced off.
    expect(await store.save(shardId, `${token}-other`, '49590338271490256608559692538361571095921575989136589999')).toBe('lease-lost');
    // Never backwards: a shorter (smaller) or equal sequence number is stale.
    expect(await store.save(shardId, token!, '4959033827149025660855969253836157109592157598913658')).toBe('stale');
    expect(await store.save(shardId, token!, '49590338271490256608559692538361571095921575989136588898')).toBe('stale');
    expect(await store.get(shardId)).toBe('49590338271490256608559692538361571095921575989136588898');
    // The same shard id in another stream is another lease: this lease's token does not write there.
    const otherStream = new CheckpointStore(ctx.redis, appKeys.stream('arn:aws:kinesis:eu-west-1:123456789012:stream/it-fence-in'));
    expect(await otherStream.save(shardId, token!, '49590338271490256608559692538361571095921575989136589999')).toBe('lease-lost');
    expect(await otherStream.get(shardId)).toBeUndefined();

    // Positions inside a KPL aggregate: (sequence, sub-sequence), the whole record after its user records.
    const other = 'shardId-000000000099';
    // The lock of a lease on a second shard, held with the same token (set by hand).
    await ctx.redis.set(keys.leaseLock(other), token!);
    const S = '49590338271490256608559692538361571095921575989136588898';
    const T = '49590338271490256608559692538361571095921575989136588899';
    const steps: Array<[string, string]> = [
      [`${S}:2`, 'written'],
      [`${S}:10`, 'written'], // a number, not text: 10 after 2
      [`${S}:9`, 'stale'],
      [`${S}:10`, 'stale'],
      [S, 'written'], // the whole record after every user record of it
      [`${S}:11`, 'stale'],
      [`${T}:0`, 'written'],
      [`4959033827149025660855969253836157109592157598913658889:5`, 'stale'], // shorter sequence number
      [T, 'written'],
      [T, 'stale'],
    ];
    for (const [position, expected] of steps) expect([position, await store.save(other, token!, position)]).toEqual([position, expected]);
    expect(await store.get(other)).toBe(T);
    // A plain checkpoint written by an older version is moved past by a mid-aggregate one of a later record.
    await ctx.redis.hset(keys.checkpoints, other, S);
    expect(await store.save(other, token!, `${S}:0`)).toBe('stale');
    expect(await store.save(other, token!, `${T}:0`)).toBe('written');

    expect(await store.finish(shardId, `${token}-other`, ['shardId-000000000008'])).toBe('lease-lost');
    expect(await store.finish(shardId, token!, ['shardId-000000000008', 'shardId-000000000009'])).toBe('written');
    expect(await store.get(shardId)).toBe(SHARD_END);
    expect(JSON.parse((await ctx.redis.hget(keys.shardEnds, shardId))!)).toEqual(['shardId-000000000008', 'shardId-000000000009']);
    // A finished shard stays finished.
    expect(await store.save(shardId, token!, '59590338271490256608559692538361571095921575989136588898')).toBe('finished');

    // Once the lock is gone (lease expired), the old token can no longer write.
    await ctx.redis.del(keys.leaseLock(shardId));
    await ctx.redis.hdel(keys.checkpoints, shardId);
    expect(await store.save(shardId, token!, '1')).toBe('lease-lost');
  } finally {
    await jobs.close();
  }
});

test('the mark of what was sent only moves forward, so a re-read from an older checkpoint never lowers it', async () => {
  const store = new CheckpointStore(ctx.redis, keys);
  const shardId = 'shardId-000000000009';
  const seq = (n: number) => `4959033827149025660855969253836157109592157598913${String(n).padStart(7, '0')}`;
  store.markSubmitted(shardId, seq(20));
  store.markSubmitted(shardId, seq(5));
  store.markSubmitted(shardId, `${seq(20)}:3`);
  await waitFor(async () => (await store.submitted(shardId)) === seq(20), 5000, 'the mark to settle');
  store.markSubmitted(shardId, `${seq(21)}:0`);
  await waitFor(async () => (await store.submitted(shardId)) === `${seq(21)}:0`, 5000, 'the mark to move on');
});
