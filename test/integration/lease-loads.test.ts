/**
 * The lease-load hash against a real Redis: one script call writes any number of leases (in chunks
 * under Lua's stack limit), lets go only of the fields that still name the worker (a new owner's
 * write wins), stamps Redis's time, and deletes a stale field only if nobody wrote it since.
 */
import { useAppRedis } from '../support/redis';
import { AppKeys, leaseKey } from '../../shared/redis/keys';
import { RedisLeaseLoads } from '../../worker/leases/lease-loads';

const r = useAppRedis('it-loads');
/** Fields are lease keys (`<stream key>|<shard id>`), whose separator is also the one of the values. */
const k = (shard: string) => leaseKey('arn:aws:kinesis:us-east-1:123456789012:stream/it-loads-in', shard);

test('writes, lets go, and deletes stale fields as the balancer needs', async () => {
  const store = new RedisLeaseLoads(r.redis, new AppKeys(r.app));
  const [seconds] = await r.redis.time();
  const before = Number(seconds) * 1000;
  const many = Array.from({ length: 1200 }, (_, i) => ({ leaseKey: k(`s${i}`), owner: 'w1', bytesPerSecond: i * 10.4 }));
  await store.publish('w1', [...many, { leaseKey: k('moved'), owner: '', bytesPerSecond: 5000, movedAt: 1234 }], [], []);
  let loads = await store.read();
  expect(loads.size).toBe(1201);
  expect(loads.get(k('s1199'))).toMatchObject({ owner: 'w1', bytesPerSecond: Math.round(1199 * 10.4), movedAt: undefined });
  expect(loads.get(k('s0'))!.updatedAt).toBeGreaterThanOrEqual(before);
  expect(loads.get(k('moved'))).toMatchObject({ owner: '', bytesPerSecond: 5000, movedAt: 1234 });

  // s1 was taken by w2 (which wrote it), s2 was not: w1 letting both go clears only s2's owner.
  await store.publish('w2', [{ leaseKey: k('s1'), owner: 'w2' }], [], []);
  await store.publish('w1', [], [k('s1'), k('s2')], []);
  loads = await store.read();
  expect(loads.get(k('s1'))).toMatchObject({ owner: 'w2', bytesPerSecond: undefined });
  expect(loads.get(k('s2'))).toMatchObject({ owner: '', bytesPerSecond: 21 });

  // A stale field is deleted only as it was read: s3 was written again in between, s2 was not.
  const stale = [loads.get(k('s2'))!, loads.get(k('s3'))!];
  await store.publish('w2', [{ leaseKey: k('s3'), owner: 'w2', bytesPerSecond: 1 }], [], []);
  await store.publish('w1', [], [], stale);
  loads = await store.read();
  expect(loads.has(k('s2'))).toBe(false);
  expect(loads.get(k('s3'))).toMatchObject({ owner: 'w2', bytesPerSecond: 1 });
});
