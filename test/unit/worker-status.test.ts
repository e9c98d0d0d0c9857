import { staleWorkerStatuses, WORKER_STATUS_MAX_AGE_MS } from '../../coordinator/worker-status-pruner';
import { StatusReporter, type WorkerStatus } from '../../worker/status-reporter';
import { AppKeys } from '../../shared/redis/keys';
import type { RedisClient } from '../../shared/redis/connection';

const NOW = 1_800_000_000_000;
const entry = (updatedAt: unknown) => JSON.stringify({ worker: 'w', updatedAt, leases: [] });

describe('which worker statuses the leading coordinator prunes', () => {
  test('an entry not updated for more than 5 minutes goes; a younger one stays', () => {
    const entries = {
      fresh: entry(NOW - 1000),
      'just-young-enough': entry(NOW - WORKER_STATUS_MAX_AGE_MS),
      'just-too-old': entry(NOW - WORKER_STATUS_MAX_AGE_MS - 1),
      'killed-an-hour-ago': entry(NOW - 3_600_000),
    };
    expect(staleWorkerStatuses(entries, new Set(), NOW).sort()).toEqual(['just-too-old', 'killed-an-hour-ago']);
  });

  test('the clock moving on makes an entry stale', () => {
    const entries = { w: entry(NOW) };
    expect(staleWorkerStatuses(entries, new Set(), NOW + WORKER_STATUS_MAX_AGE_MS)).toEqual([]);
    expect(staleWorkerStatuses(entries, new Set(), NOW + WORKER_STATUS_MAX_AGE_MS + 1)).toEqual(['w']);
  });

  test('a worker with a fresh heartbeat keeps its entry however old (a slow or skewed host clock)', () => {
    expect(staleWorkerStatuses({ live: entry(NOW - 3_600_000), dead: entry(NOW - 3_600_000) }, new Set(['live']), NOW)).toEqual(['dead']);
  });

  test('an entry stamped in the future (a host clock ahead) is not stale', () => {
    expect(staleWorkerStatuses({ ahead: entry(NOW + 60_000) }, new Set(), NOW)).toEqual([]);
  });

  test('an entry that is not a status cannot be told live, and goes', () => {
    expect(staleWorkerStatuses({ garbage: 'not json', noStamp: '{}', stringStamp: entry(String(NOW)), nullJson: 'null' }, new Set(), NOW).sort()).toEqual(['garbage', 'noStamp', 'nullJson', 'stringStamp']);
  });
});

describe('StatusReporter', () => {
  const keys = new AppKeys('status-unit');
  function fakeRedis() {
    const calls: Array<[string, ...string[]]> = [];
    const redis = {
      hset: async (key: string, field: string, value: string) => void calls.push(['hset', key, field, value]),
      hdel: async (key: string, ...fields: string[]) => void calls.push(['hdel', key, ...fields]),
    };
    return { calls, redis: redis as unknown as RedisClient };
  }
  const snapshot = (): WorkerStatus => ({ worker: 'w-1', updatedAt: Date.now(), totals: { read: 1, written: 1, deadLettered: 0, duplicated: 0 }, sinkBuffered: 0, sink: {} as WorkerStatus['sink'], leases: [] });

  test('publishes while running; a graceful stop deletes the entry and publishes nothing after it', async () => {
    jest.useFakeTimers();
    try {
      const { calls, redis } = fakeRedis();
      const reporter = new StatusReporter(redis, keys, 'w-1', snapshot, 1000);
      reporter.start();
      jest.advanceTimersByTime(2500);
      expect(calls.map((c) => c[0])).toEqual(['hset', 'hset', 'hset']);
      await reporter.stop();
      jest.advanceTimersByTime(5000);
      expect(calls.map((c) => c[0])).toEqual(['hset', 'hset', 'hset', 'hdel']);
      expect(calls[3]).toEqual(['hdel', keys.workerStatus, 'w-1']);
    } finally {
      jest.useRealTimers();
    }
  });
});
