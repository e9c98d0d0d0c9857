/**
 * The lease taker on a scripted source and jest's fake timers: it asks for as many leases as it has
 * room for in one call (up to its batch), waits on the source's bounded block only when fewer were
 * waiting (and keeps blocking, not asking, while none come), sleeps while it has no room until the capacity grows or a lease ends, backs off after a
 * failed take with one log line per outage, and hands on a lease taken while it stops. No Redis.
 */
import type { Logger } from '../../shared/logging';
import { LeaseTaker, type LeaseSource } from '../../worker/leases/lease-taker';
import type { StoredLease } from '../../worker/leases/lease-store';

const flush = () => jest.advanceTimersByTimeAsync(0);
const lease = (n: number): StoredLease => ({ leaseKey: `in@1.r|shard-${n}`, token: `t${n}`, data: { streamArn: 'arn', shardId: `shard-${n}`, parentShardIds: [], start: { type: 'TRIM_HORIZON' } } });

/** A queue of waiting leases; `awaitOne` blocks until one is put in (or the test releases it with none). */
class ScriptedSource implements LeaseSource {
  readonly waiting: StoredLease[] = [];
  readonly asks: number[] = [];
  blocks = 0;
  failNext = 0;
  private unblock: ((lease: StoredLease | undefined) => void) | undefined;

  async takeWaiting(count: number): Promise<StoredLease[]> {
    this.asks.push(count);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('Connection is closed.');
    }
    return this.waiting.splice(0, count);
  }

  awaitOne(): Promise<StoredLease | undefined> {
    this.blocks++;
    return new Promise((resolve) => (this.unblock = resolve));
  }

  /** A lease put in waiting: a blocked `awaitOne` takes it, else it waits in the queue. */
  put(...leases: StoredLease[]): void {
    for (const l of leases) {
      const blocked = this.unblock;
      this.unblock = undefined;
      if (blocked) blocked(l);
      else this.waiting.push(l);
    }
  }

  /** The block's timeout: it returns with nothing. */
  timeOut(): void {
    const blocked = this.unblock;
    this.unblock = undefined;
    blocked?.(undefined);
  }
}

function setup(batch = 32) {
  const source = new ScriptedSource();
  const held: StoredLease[] = [];
  const warn = jest.fn();
  const info = jest.fn();
  const log = { warn, info, error: jest.fn(), debug: jest.fn() } as unknown as Logger;
  const taker = new LeaseTaker({ source, held: () => held.length, onTaken: (l) => held.push(l), log, batch });
  return { source, held, taker, warn, info };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
  jest.restoreAllMocks();
});

test('asks for all its room in one call, up to the batch, and blocks only when fewer were waiting', async () => {
  const { source, held, taker } = setup(8);
  source.put(...Array.from({ length: 30 }, (_, n) => lease(n)));
  taker.setCapacity(20);
  taker.start();
  await flush();
  // 20 of room in calls of 8, 8 and 4: three calls for twenty leases, not twenty.
  expect(source.asks).toEqual([8, 8, 4]);
  expect(held).toHaveLength(20);
  expect(source.blocks).toBe(0);

  taker.setCapacity(35);
  await flush();
  // 15 of room, 10 waiting: one call of 8, one of 7 that gets 2, then a block for the next.
  expect(source.asks).toEqual([8, 8, 4, 8, 7]);
  expect(held).toHaveLength(30);
  expect(source.blocks).toBe(1);
  source.put(lease(30));
  await flush();
  expect(held).toHaveLength(31);
  await stopped(taker, source);
});

test('with room and nothing waiting, it blocks for the next lease instead of asking for its room again and again', async () => {
  const { source, held, taker } = setup();
  taker.setCapacity(10);
  taker.start();
  await flush();
  expect({ asks: source.asks, blocks: source.blocks }).toEqual({ asks: [10], blocks: 1 });
  for (let i = 0; i < 5; i++) {
    source.timeOut(); // the block's bounded wait ends with nothing
    await flush();
  }
  expect({ asks: source.asks, blocks: source.blocks }).toEqual({ asks: [10], blocks: 6 });
  // Three leases put back at once: the block takes the first, one call then the two others.
  source.put(lease(0), lease(1), lease(2));
  await flush();
  expect(held).toHaveLength(3);
  expect({ asks: source.asks, blocks: source.blocks }).toEqual({ asks: [10, 9], blocks: 7 });
  await stopped(taker, source);
});

test('sleeps while it has no room, and wakes when the capacity grows or a lease ends', async () => {
  const { source, held, taker } = setup();
  source.put(lease(0), lease(1), lease(2), lease(3));
  taker.start();
  await jest.advanceTimersByTimeAsync(10_000);
  expect(source.asks).toEqual([]); // no capacity: no call at all
  taker.setCapacity(2);
  await flush();
  expect(held.map((l) => l.leaseKey)).toEqual([lease(0).leaseKey, lease(1).leaseKey]);
  await jest.advanceTimersByTimeAsync(10_000);
  expect(source.asks).toEqual([2]); // full: nothing asked while nothing changes
  held.shift();
  taker.ended();
  await flush();
  expect(source.asks).toEqual([2, 1]);
  expect(held).toHaveLength(2);
  await stopped(taker, source);
});

test('backs off after a failed take, logging once per outage, and takes again when the source answers', async () => {
  const { source, held, taker, warn, info } = setup();
  // The backoff's jitter at its top: pauses of just under 250, 500, 1000 and 2000 ms.
  jest.spyOn(Math, 'random').mockReturnValue(0.999);
  source.put(lease(0), lease(1), lease(2));
  source.failNext = 4;
  taker.setCapacity(3);
  taker.start();
  await flush();
  expect(source.asks).toHaveLength(1);
  // Four failures, each followed by its backoff: never a busy loop.
  await jest.advanceTimersByTimeAsync(240);
  expect(source.asks).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(10);
  expect(source.asks).toHaveLength(2);
  await jest.advanceTimersByTimeAsync(5_000);
  expect(held).toHaveLength(3);
  expect(source.asks).toHaveLength(5);
  expect(warn).toHaveBeenCalledTimes(1);
  expect(info).toHaveBeenCalledWith({ failures: 4 }, 'taking leases works again');
  await stopped(taker, source);
});

test('hands on a lease its last block took while stopping, and asks for nothing after', async () => {
  const { source, held, taker } = setup();
  taker.setCapacity(4);
  taker.start();
  await flush();
  expect(source.blocks).toBe(1); // nothing waiting: blocked on the source
  const stopping = taker.stop();
  source.put(lease(7)); // a lease released just then: the block takes it
  await stopping;
  expect(held.map((l) => l.leaseKey)).toEqual([lease(7).leaseKey]);
  const asks = source.asks.length;
  taker.setCapacity(10);
  await jest.advanceTimersByTimeAsync(5_000);
  expect(source.asks).toHaveLength(asks);
});

/** Stops the taker, ending a block it is in. */
async function stopped(taker: LeaseTaker, source: ScriptedSource): Promise<void> {
  const stopping = taker.stop();
  source.timeOut();
  await stopping;
}
