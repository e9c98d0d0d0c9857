/** LeaderLease on a fake clock and an in-memory key store: no Redis, no real waits. */
import { LeaderLease, leaderMarginMs, type LeaderLeaseStore } from '../../coordinator/leader-lease';

/** The leader key, expiring on the same fake clock; `hang` makes the next calls never answer. */
class FakeStore implements LeaderLeaseStore {
  holderId: string | null = null;
  expiresAt = 0;
  hang = false;
  fail = false;

  constructor(private readonly clock: () => number) {}

  private current(): string | null {
    if (this.holderId !== null && this.clock() >= this.expiresAt) this.holderId = null;
    return this.holderId;
  }

  step(id: string, ttlMs: number): Promise<boolean> {
    if (this.hang) return new Promise<boolean>(() => undefined);
    if (this.fail) return Promise.reject(new Error('connect ECONNREFUSED'));
    const holder = this.current();
    if (holder !== null && holder !== id) return Promise.resolve(false);
    this.holderId = id;
    this.expiresAt = this.clock() + ttlMs;
    return Promise.resolve(true);
  }

  resign(id: string): Promise<void> {
    if (this.current() === id) this.holderId = null;
    return Promise.resolve();
  }

  holder(): Promise<string | null> {
    return Promise.resolve(this.current());
  }
}

const TTL = 4000;
let now = 0;
const clock = () => now;

beforeEach(() => {
  now = 1_000_000;
});

test('the margin is a fifth of the TTL, at least 500 ms', () => {
  expect(leaderMarginMs(4000)).toBe(800);
  expect(leaderMarginMs(10_000)).toBe(2000);
  expect(leaderMarginMs(1000)).toBe(500);
});

test('acquire, then renewals keep leading', async () => {
  const store = new FakeStore(clock);
  const lease = new LeaderLease(store, 'a', TTL, clock);
  expect(lease.leads()).toBe(false);
  expect(await lease.step()).toBe(true);
  for (let i = 0; i < 10; i++) {
    now += 1000;
    expect(lease.leads()).toBe(true);
    expect(await lease.step()).toBe(true);
  }
  expect(await lease.holder()).toBe('a');
});

test('a leader whose renewal never answers stops leading before the key expires', async () => {
  const store = new FakeStore(clock);
  const lease = new LeaderLease(store, 'a', TTL, clock);
  await lease.step();
  const renewedAt = now;
  store.hang = true;
  now += 1000;
  void lease.step(); // never answers
  expect(lease.leads()).toBe(true);
  now = renewedAt + TTL - leaderMarginMs(TTL) - 1;
  expect(lease.leads()).toBe(true);
  now += 1;
  expect(lease.leads()).toBe(false);
  // Redis still holds the key for the margin: no standby can lead while this one may think it does.
  expect(now).toBeLessThan(store.expiresAt);
  const standby = new LeaderLease(store, 'b', TTL, clock);
  store.hang = false;
  expect(await standby.step()).toBe(false);
  now = store.expiresAt;
  expect(await standby.step()).toBe(true);
  expect(lease.leads()).toBe(false);
});

test('failed renewals do not extend leadership', async () => {
  const store = new FakeStore(clock);
  const lease = new LeaderLease(store, 'a', TTL, clock);
  await lease.step();
  store.fail = true;
  for (let i = 0; i < 3; i++) {
    now += 1000;
    await expect(lease.step()).rejects.toThrow('ECONNREFUSED');
  }
  expect(lease.leads()).toBe(true); // 3 s after the last renewal started: within 4 s - 0.8 s
  now += 1000;
  await expect(lease.step()).rejects.toThrow('ECONNREFUSED');
  expect(lease.leads()).toBe(false);
});

test('a renewal that answers late counts from when it started', async () => {
  const store = new FakeStore(clock);
  const lease = new LeaderLease(store, 'a', TTL, clock);
  await lease.step();
  let answer!: (held: boolean) => void;
  store.step = () => new Promise<boolean>((resolve) => (answer = resolve));
  now += 1000;
  const late = lease.step();
  now += TTL; // the answer comes long after the step started
  answer(true);
  expect(await late).toBe(false);
  expect(lease.leads()).toBe(false);
});

test('hand-off: resign lets a standby lead at once', async () => {
  const store = new FakeStore(clock);
  const a = new LeaderLease(store, 'a', TTL, clock);
  const b = new LeaderLease(store, 'b', TTL, clock);
  expect(await a.step()).toBe(true);
  expect(await b.step()).toBe(false);
  expect(b.leads()).toBe(false);
  await a.resign();
  expect(a.leads()).toBe(false);
  expect(await b.step()).toBe(true);
  expect(await a.step()).toBe(false);
  expect(await a.holder()).toBe('b');
});

test('losing the key to another (answer 0) ends leadership at once', async () => {
  const store = new FakeStore(clock);
  const a = new LeaderLease(store, 'a', TTL, clock);
  await a.step();
  store.holderId = 'b';
  now += 1000;
  expect(await a.step()).toBe(false);
  expect(a.leads()).toBe(false);
});
