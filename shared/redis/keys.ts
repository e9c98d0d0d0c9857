/**
 * Every Redis key and BullMQ queue of one application lives under `shardflow:<app>`, so several
 * applications (and parallel tests) share one Redis without touching each other.
 *
 * On a Redis Cluster the prefix is `shardflow:{<app>}` instead: the braces are a hash tag, so every key
 * of the application (ours and BullMQ's, which BullMQ's docs ask for) lands in one slot, and the Lua
 * scripts and MULTIs that touch several of them together (checkpoint fencing reads BullMQ's lock key)
 * are legal there. Standalone and Sentinel deployments keep the untagged names they always had: tagged
 * names would look like an empty Redis to them. Moving between the two layouts is therefore a fresh start.
 */
export const LEASE_QUEUE = 'leases';
export const DEAD_LETTER_QUEUE = 'dead-letter';

/**
 * What follows a lease job's key in the key of its lock. BullMQ's layout, not ours: the lock key of job
 * `<id>` of queue `<prefix>:<queue>` is `<prefix>:<queue>:<id>:lock`, holding the owning worker's token.
 * The fencing scripts (checkpoints, lock renewal) read it there; test/integration/bullmq-layout.test.ts
 * pins it, so a BullMQ upgrade that moves it fails that test instead of fencing nothing.
 */
export const LEASE_LOCK_SUFFIX = ':lock';

export class AppKeys {
  readonly prefix: string;

  constructor(
    readonly app: string,
    options: { cluster?: boolean } = {},
  ) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(app)) {
      throw new Error(`app name ${JSON.stringify(app)} must be 1-100 letters, digits, "_", "." or "-"`);
    }
    this.prefix = options.cluster === true ? `shardflow:{${app}}` : `shardflow:${app}`;
  }

  /** BullMQ's `prefix` option: queues live at `<prefix>:<queue>:...`. */
  get bullPrefix(): string {
    return this.prefix;
  }

  /** What every key of a lease job starts with (BullMQ's `toKey('')` of the lease queue). */
  get leaseJobPrefix(): string {
    return `${this.prefix}:${LEASE_QUEUE}:`;
  }

  /** BullMQ's hash of a lease job (its data, progress and state fields); the job id is the shard id. */
  leaseJob(shardId: string): string {
    return `${this.leaseJobPrefix}${shardId}`;
  }

  /** BullMQ's lock key of a lease job; its value is the owning worker's lock token (see LEASE_LOCK_SUFFIX). */
  leaseLock(shardId: string): string {
    return `${this.leaseJob(shardId)}${LEASE_LOCK_SUFFIX}`;
  }

  /** BullMQ's stalled set of the lease queue: a lock renewal takes its job out of it. */
  get leaseStalled(): string {
    return `${this.leaseJobPrefix}stalled`;
  }

  /** Hash shardId -> last checkpointed sequence number, or SHARD_END. */
  get checkpoints(): string {
    return `${this.prefix}:checkpoints`;
  }

  /** Hash shardId -> highest sequence number handed to the sink (for counting duplicates after a crash). */
  get submitted(): string {
    return `${this.prefix}:submitted`;
  }

  /** Hash shardId -> JSON of the child shard ids recorded when the shard was finished. */
  get shardEnds(): string {
    return `${this.prefix}:shard-ends`;
  }

  /** Set of the shards present at the first discovery; shards found later start at TRIM_HORIZON. */
  get initialShards(): string {
    return `${this.prefix}:initial-shards`;
  }

  /** Sorted set workerId -> last heartbeat (ms); a worker is live while its heartbeat is fresh. */
  get liveWorkers(): string {
    return `${this.prefix}:live-workers`;
  }

  /**
   * Hash shardId -> "owner|bytes per second|moved at|updated at" (ms, Redis's clock): each lease's
   * measured input rate, published by its holder for `worker.balance = THROUGHPUT`.
   */
  get leaseLoads(): string {
    return `${this.prefix}:lease-loads`;
  }

  /** JSON {name, arn, lifecycle} of the ACTIVE enhanced fan-out consumer, published by the coordinator. */
  get efoConsumer(): string {
    return `${this.prefix}:efo-consumer`;
  }

  /** Set while an on-purpose shutdown of the whole application is under way. */
  get shutdown(): string {
    return `${this.prefix}:shutdown`;
  }

  /** The leading coordinator's id, with a TTL (the leader lease). */
  get coordinatorLeader(): string {
    return `${this.prefix}:coordinator-leader`;
  }

  /** Sorted set coordinatorId -> last heartbeat (ms). */
  get liveCoordinators(): string {
    return `${this.prefix}:live-coordinators`;
  }

  /** Hash workerId -> JSON status (leases, counters), refreshed by each worker. */
  get workerStatus(): string {
    return `${this.prefix}:workers`;
  }

  /**
   * The application's state marker, JSON {createdAt, by}: written once (SET NX) by the first coordinator.
   * A running process that saw it and finds it gone knows Redis lost the application's state.
   */
  get state(): string {
    return `${this.prefix}:state`;
  }

  /** The tombstone, JSON {at, by, reason}: Redis lost this application's state; every start refuses until `shardflow start-over`. */
  get stateLost(): string {
    return `${this.prefix}:state-lost`;
  }
}
