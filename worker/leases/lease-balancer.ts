/**
 * Keeps this worker at its fair share of the leases. Every tick it renews its heartbeat in the
 * live-workers set, reads how many shards are unfinished and how many workers are alive, sets how
 * many leases the BullMQ worker may hold, and hands back the leases above its share gracefully
 * (stop reading, flush, checkpoint, release), so another worker takes them at once. A worker that
 * stops removes its heartbeat, so the others grow their share without waiting for a timeout.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logging';
import type { AppKeys } from '../../shared/redis/keys';
import { fairShareTarget } from './fair-share';
import type { Lease } from './lease';

export interface LeaseBalancerDeps {
  redis: Redis;
  keys: AppKeys;
  leaseQueue: Queue;
  workerId: string;
  leaseTimeoutMs: number;
  maxLeases: number;
  intervalMs: number;
  /** Leases this worker holds, oldest first. */
  held(): Lease[];
  setCapacity(leases: number): Promise<void>;
  /** Called when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
  log: Logger;
}

export class LeaseBalancer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  target = 0;

  constructor(private readonly deps: LeaseBalancerDeps) {}

  start(): void {
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'lease balancing failed; will try again'))
          .finally(() => {
            if (!this.stopped) loop();
          });
      }, this.deps.intervalMs);
    };
    loop();
  }

  async tick(): Promise<number> {
    const { redis, keys, workerId, leaseTimeoutMs } = this.deps;
    const now = Date.now();
    const [, , live, shutdown] = (await redis
      .multi()
      .zadd(keys.liveWorkers, String(now), workerId)
      .zremrangebyscore(keys.liveWorkers, '-inf', String(now - leaseTimeoutMs))
      .zrange(keys.liveWorkers, '0', '-1')
      .exists(keys.shutdown)
      .exec())!.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [unknown, unknown, string[], number];
    if (shutdown === 1 && !this.stopped) this.deps.onShutdownRequested?.();
    const counts = await this.deps.leaseQueue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
    const shards = Object.values(counts).reduce((a, b) => a + b, 0);
    const target = fairShareTarget(shards, live, workerId, this.deps.maxLeases);
    if (this.stopped) return target;
    if (target !== this.target) this.deps.log.info({ shards, workers: live.length, target }, 'fair share changed');
    this.target = target;
    await this.deps.setCapacity(target);

    const held = this.deps.held().filter((lease) => !lease.isStopping);
    for (const lease of held.slice(target).reverse()) {
      this.deps.log.info({ shardId: lease.shardId, target, held: held.length }, 'over fair share: handing the lease back');
      lease.stop();
    }
    return target;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.deps.redis.zrem(this.deps.keys.liveWorkers, this.deps.workerId).catch(() => undefined);
  }
}
