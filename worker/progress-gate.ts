/**
 * Which leases' progress is worth publishing on their lease jobs now. Each publication costs about five
 * Redis commands (BullMQ's updateProgress script: EXISTS, HGET, HSET, XADD, and the call), so every
 * lease every 5 s was about one command per lease per second, most of it repeating the progress of an
 * idle shard. A lease's progress goes out when it changed since it last went out, and otherwise once
 * per `refreshMs`, so the dashboard's `updatedAt` still shows a live owner. Pure: the caller passes the clock.
 */
export class ProgressGate {
  /** The last published progress by shard (without its timestamp), and when it went out. */
  private readonly published = new Map<string, { key: string; at: number }>();

  constructor(private readonly refreshMs: number) {}

  /** Whether to publish `progress` for the shard at `now`; if so, it counts as published. */
  due(shardId: string, progress: object, now: number): boolean {
    const key = JSON.stringify(progress);
    const last = this.published.get(shardId);
    if (last && last.key === key && now - last.at < this.refreshMs) return false;
    this.published.set(shardId, { key, at: now });
    return true;
  }

  /** Forgets the shards not held any more, so a lease taken again publishes at once. */
  retain(held: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (const shardId of this.published.keys()) if (!held.has(shardId)) this.published.delete(shardId);
  }
}
