/**
 * Publishes a worker's status (leases, per-shard progress and lag, sink counters) to Redis once a
 * second, for the local stack's status line and other observers. One round trip per second. A worker
 * that stops gracefully deletes its entry; the entry of one that died is pruned by the leading
 * coordinator (`coordinator/worker-status-pruner.ts`).
 */
import type { RedisClient } from '../shared/redis/connection';
import type { AppKeys } from '../shared/redis/keys';
import type { SinkStats } from './sink/kinesis-sink';
import type { ShardProgress } from './shard-runner';

/** What a worker publishes about itself; totals are cumulative over the process's life. */
export interface WorkerStatus {
  worker: string;
  updatedAt: number;
  totals: { read: number; written: number; deadLettered: number; deadLetteredByReason?: Record<string, number>; filtered?: number; duplicated: number };
  sinkBuffered: number;
  sink: SinkStats;
  leases: ShardProgress[];
}

export async function readWorkerStatuses(redis: RedisClient, keys: AppKeys): Promise<WorkerStatus[]> {
  return Object.values(await redis.hgetall(keys.workerStatus)).map((json) => JSON.parse(json) as WorkerStatus);
}

export class StatusReporter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: AppKeys,
    private readonly workerId: string,
    private readonly snapshot: () => WorkerStatus,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.publish().catch(() => undefined);
      this.timer = setTimeout(tick, this.intervalMs);
    };
    tick();
  }

  async publish(): Promise<void> {
    await this.redis.hset(this.keys.workerStatus, this.workerId, JSON.stringify(this.snapshot()));
  }

  /**
   * Removes this worker's entry: a stopped worker holds no lease and reads nothing, so it has no status.
   * Commands on one connection run in order, so a publish already sent lands before the HDEL, not after.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.redis.hdel(this.keys.workerStatus, this.workerId).catch(() => undefined);
  }
}
