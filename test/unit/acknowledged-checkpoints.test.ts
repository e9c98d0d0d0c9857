/**
 * A shard's checkpoints as its chunks are acknowledged, alone: the checkpoint moves only past chunks
 * acknowledged with every earlier one, one fenced write at a time, never for a chunk whose refused
 * records could not be dead-lettered, and a fenced write that finds another owner loses the lease.
 */
import pino from 'pino';
import { AcknowledgedCheckpoints } from '../../worker/checkpoint/acknowledged-checkpoints';
import { Lease } from '../../worker/leases/lease';
import { FakeCheckpoints } from '../support/fake-checkpoints';
import { monotonicClock } from '../../shared/clock';
import { leaseKey } from '../../shared/redis/keys';

const log = pino({ level: 'silent' });

function setup() {
  const store = new FakeCheckpoints();
  const lease = new Lease(leaseKey('arn:aws:kinesis:us-east-1:123456789012:stream/in', 'shardId-1'), 'token', { timeoutMs: 60_000, clock: monotonicClock });
  const written: string[] = [];
  const acked = new AcknowledgedCheckpoints({ lease, shardId: 'shardId-1', checkpoints: store, log, written: (p) => void written.push(p) }, 'p0');
  return { store, lease, written, acked };
}

/** A chunk's acknowledgement the test resolves. */
function chunk() {
  let resolve!: (ok: boolean) => void;
  return { done: new Promise<boolean>((r) => (resolve = r)), resolve };
}

test('acknowledged out of order: the checkpoint waits for the earlier chunk, then moves to the latest safe one', async () => {
  const t = setup();
  const [a, b, c] = [chunk(), chunk(), chunk()];
  t.acked.follow(t.acked.ticket('p1'), a.done);
  t.acked.follow(t.acked.ticket('p2'), b.done);
  t.acked.follow(t.acked.ticket('p3'), c.done);
  expect(t.acked.awaited).toBe(3);
  b.resolve(true);
  c.resolve(true);
  await new Promise((r) => setImmediate(r));
  expect(t.acked.awaited).toBe(1);
  expect(t.store.saved).toEqual([]);
  a.resolve(true);
  await t.acked.all();
  await t.acked.settled();
  expect(t.store.saved).toEqual(['p3']);
  expect(t.written).toEqual(['p3']);
  expect(t.acked.awaited).toBe(0);
  t.lease.close();
});

test('a chunk whose refused records could not be dead-lettered holds the checkpoint behind it', async () => {
  const t = setup();
  t.acked.follow(t.acked.ticket('p1'), Promise.resolve(true));
  t.acked.follow(t.acked.ticket('p2'), Promise.resolve(false));
  t.acked.follow(t.acked.ticket('p3'), Promise.resolve(true));
  await t.acked.all();
  await t.acked.settled();
  expect(t.store.saved).toEqual(['p1']);
  expect(t.acked.latest).toBe('p1');
  t.lease.close();
});

test('a fenced write that finds another owner loses the lease; a failed one is reported for a retry', async () => {
  const t = setup();
  t.store.answers.push('throw', 'lease-lost');
  t.acked.follow(t.acked.ticket('p1'), Promise.resolve(true));
  await t.acked.all();
  await t.acked.settled();
  expect(t.store.saveCalls).toBe(1);
  expect(await t.acked.writeLatest()).toBe('lost');
  expect(t.lease.isLost).toBe(true);
  expect(t.lease.lostReason).toMatch(/fenced/);
  expect(await t.acked.writeLatest()).toBe('lost');
  expect(t.store.saved).toEqual([]);
});
