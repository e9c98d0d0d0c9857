/**
 * Watching a fleet balance its leases (the scale scenario): whether every shard is held by exactly one
 * live worker with shares at most one apart, and a trace of how it got there.
 */
import { loadavg } from 'node:os';
import type { Redis } from 'ioredis';
import { AppKeys } from '../../shared/redis/keys';
import { statusLeases } from './processes';

/**
 * How a balancing went, about once a second: [seconds since its start, live workers, leases held, the
 * fewest and the most one worker holds, the lease jobs waiting in the store (held by nobody), the host's
 * 1-minute load average], so a slow balance shows whether taking, handing over, leases nobody took or a
 * straggler took the time, and how busy the machine was.
 */
export class BalanceTrace {
  readonly samples: number[][] = [];
  readonly startedAt = Date.now();

  due(): boolean {
    const last = this.samples.at(-1);
    return !last || (Date.now() - this.startedAt) / 1000 - last[0] >= 1;
  }

  note(workers: number, counts: number[], waiting: number): void {
    const atS = Math.round((Date.now() - this.startedAt) / 100) / 10;
    this.samples.push([atS, workers, counts.reduce((a, b) => a + b, 0), counts.length ? Math.min(...counts) : 0, counts.length ? Math.max(...counts) : 0, waiting, loadavg()[0]]);
  }

  /** The load average of the sample nearest to `atMs` (epoch ms); now if there is none. */
  loadAt(atMs: number): number {
    const atS = (atMs - this.startedAt) / 1000;
    const nearest = this.samples.reduce<number[] | undefined>((best, s) => (!best || Math.abs(s[0] - atS) < Math.abs(best[0] - atS) ? s : best), undefined);
    return nearest?.[6] ?? loadavg()[0];
  }
}

/** Lease jobs waiting in the store (BullMQ's wait list and prioritized set): held by nobody. */
async function waitingLeases(redis: Redis, app: string): Promise<number> {
  const prefix = new AppKeys(app).leaseJobPrefix;
  const [wait, prioritized] = await Promise.all([redis.llen(`${prefix}wait`), redis.zcard(`${prefix}prioritized`)]);
  return wait + prioritized;
}

/** Leases per live worker, if every shard is held by exactly one of `expected` workers and shares differ by at most one. */
export async function balanced(redis: Redis, app: string, shards: number, expected: number, trace?: BalanceTrace): Promise<boolean> {
  const held = await statusLeases(redis, app);
  const counts = [...held.values()].map((l) => l.length);
  if (trace?.due()) trace.note(held.size, counts, await waitingLeases(redis, app));
  if (held.size !== expected) return false;
  const distinct = new Set([...held.values()].flat());
  return distinct.size === shards && counts.reduce((a, b) => a + b, 0) === shards && Math.max(...counts) - Math.min(...counts) <= 1;
}

export async function describeHeld(redis: Redis, app: string): Promise<string> {
  const held = await statusLeases(redis, app);
  return `${held.size} live workers holding ${[...held.values()].map((l) => l.length).join('/')}`;
}
