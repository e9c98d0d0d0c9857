/** Heartbeat scripts against the local Redis: scored with Redis's TIME, whatever the host clock says. */
import { AppKeys } from '../../shared/redis/keys';
import { beat, liveMembers } from '../../shared/redis/heartbeats';
import { useAppRedis } from '../support/redis';

const r = useAppRedis('unit-heartbeats');

test('a beat stamps with Redis time, prunes stale members and reads shutdown, marker and tombstone in one call', async () => {
  const keys = new AppKeys(r.app);
  const [seconds] = await r.redis.time();
  const redisNow = Number(seconds) * 1000;
  // A peer whose host clock ran 30 s ahead would have written this under the old scheme; here a stale one.
  await r.redis.zadd(keys.liveWorkers, String(redisNow - 60_000), 'stale');
  await r.redis.zadd(keys.liveWorkers, String(redisNow - 1000), 'fresh');
  const realNow = Date.now;
  Date.now = () => realNow() + 3_600_000; // the host clock is an hour off: must not matter
  try {
    const first = await beat(r.redis, keys, keys.liveWorkers, 'me', 10_000);
    expect(first.live.sort()).toEqual(['fresh', 'me']);
    expect(first.shutdownRequested).toBe(false);
    expect(first.state).toEqual({ marker: null, tombstone: null });
    expect(Math.abs(first.redisNowMs - redisNow)).toBeLessThan(5000);
    const score = Number(await r.redis.zscore(keys.liveWorkers, 'me'));
    expect(Math.abs(score - first.redisNowMs)).toBeLessThan(5);

    await r.redis.set(keys.shutdown, '1');
    await r.redis.set(keys.state, '{"createdAt":"x","by":"c"}');
    await r.redis.set(keys.stateLost, '{"by":"w"}');
    const second = await beat(r.redis, keys, keys.liveWorkers, 'me', 10_000);
    expect(second.shutdownRequested).toBe(true);
    expect(second.state).toEqual({ marker: '{"createdAt":"x","by":"c"}', tombstone: '{"by":"w"}' });
    expect((await liveMembers(r.redis, keys.liveWorkers, 500)).sort()).toEqual(['me']);
  } finally {
    Date.now = realNow;
  }
});
