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

/**
 * A stream's key in Redis names and lease ids: `<name>@<account>.<region>` from its ARN. Shard ids repeat
 * across streams and stream names across accounts and regions, so all three are in it; it has no `:`
 * (BullMQ refuses job ids with one) and no `/`. Region names are unique across AWS partitions, so the
 * partition is not needed.
 */
export function streamKey(streamArn: string): string {
  const [, , , region, account, resource] = streamArn.split(':');
  const name = resource?.startsWith('stream/') ? resource.slice('stream/'.length) : undefined;
  if (!region || !account || !name) throw new Error(`not a Kinesis stream ARN: ${JSON.stringify(streamArn)}`);
  return `${name}@${account}.${region}`;
}

/** A stream's name from its ARN (`…:stream/<name>`): what logs, lease titles and `dlq list` show. */
export function streamNameOf(streamArn: string): string {
  return streamArn.slice(streamArn.lastIndexOf('/') + 1);
}

/** What separates the stream key from the shard id in a lease key. */
export const LEASE_KEY_SEPARATOR = '|';

/**
 * A lease's key: the id of its lease job, its field in the lease loads, `<stream key>|<shard id>`
 * (`stock-input@111122223333.us-east-1|shardId-000000000000`).
 */
export function leaseKey(streamArn: string, shardId: string): string {
  return `${streamKey(streamArn)}${LEASE_KEY_SEPARATOR}${shardId}`;
}

/** The stream key and shard id of a lease key, or undefined for an id of the single-stream layout (a bare shard id). */
export function parseLeaseKey(key: string): { streamKey: string; shardId: string } | undefined {
  const at = key.lastIndexOf(LEASE_KEY_SEPARATOR);
  return at <= 0 ? undefined : { streamKey: key.slice(0, at), shardId: key.slice(at + 1) };
}

/**
 * The keys of one input stream's state: `shardflow:<app>:stream:<stream key>:…`. One key per kind and
 * stream (not one hash for every stream) so a discovery reads only its stream's checkpoints, and a
 * removed stream's state is kept for a while and then dropped with one EXPIRE per key.
 */
export class StreamKeys {
  readonly streamKey: string;
  readonly prefix: string;

  constructor(
    private readonly app: AppKeys,
    readonly streamArn: string,
  ) {
    this.streamKey = streamKey(streamArn);
    this.prefix = `${app.prefix}:stream:${this.streamKey}`;
  }

  /** The lease key (lease job id) of one of the stream's shards. */
  leaseKey(shardId: string): string {
    return `${this.streamKey}${LEASE_KEY_SEPARATOR}${shardId}`;
  }

  /** BullMQ's lock key of the shard's lease job (the fencing scripts read it). */
  leaseLock(shardId: string): string {
    return this.app.leaseLock(this.leaseKey(shardId));
  }

  /** Hash shardId -> last checkpointed position, or SHARD_END. */
  get checkpoints(): string {
    return `${this.prefix}:checkpoints`;
  }

  /** Hash shardId -> highest position handed to the sink (for counting duplicates after a crash). */
  get submitted(): string {
    return `${this.prefix}:submitted`;
  }

  /** Hash shardId -> JSON of the child shard ids recorded when the shard was finished. */
  get shardEnds(): string {
    return `${this.prefix}:shard-ends`;
  }

  /** Set of the shards present at the stream's first discovery; shards found later start at TRIM_HORIZON. */
  get initialShards(): string {
    return `${this.prefix}:initial-shards`;
  }

  /** JSON {name, arn, lifecycle} of the stream's ACTIVE enhanced fan-out consumer, published by the coordinator. */
  get efoConsumer(): string {
    return `${this.prefix}:efo-consumer`;
  }

  /** Every key of the stream's own state (what a removed stream keeps for a while). */
  get all(): string[] {
    return [this.checkpoints, this.submitted, this.shardEnds, this.initialShards, this.efoConsumer];
  }
}

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

  /** BullMQ's hash of a lease job (its data, progress and state fields); the job id is the lease key. */
  leaseJob(leaseKey: string): string {
    return `${this.leaseJobPrefix}${leaseKey}`;
  }

  /** BullMQ's lock key of a lease job; its value is the owning worker's lock token (see LEASE_LOCK_SUFFIX). */
  leaseLock(leaseKey: string): string {
    return `${this.leaseJob(leaseKey)}${LEASE_LOCK_SUFFIX}`;
  }

  /** BullMQ's stalled set of the lease queue: a lock renewal takes its job out of it. */
  get leaseStalled(): string {
    return `${this.leaseJobPrefix}stalled`;
  }

  /** One input stream's keys. */
  stream(streamArn: string): StreamKeys {
    return new StreamKeys(this, streamArn);
  }

  /**
   * Hash streamArn -> JSON {key, group, state, since}: the input streams the application reads or read
   * (state active, removed or deleted), kept by the leading coordinator (coordinator/input-stream-registry.ts).
   */
  get streams(): string {
    return `${this.prefix}:streams`;
  }

  /** The layout of the application's keys, JSON {version, …}; absent in the single-stream layout (see coordinator/layout-upgrade.ts). */
  get layout(): string {
    return `${this.prefix}:layout`;
  }

  /** The single-stream layout's keys (before several input streams), which the upgrade moves: see coordinator/layout-upgrade.ts. */
  get legacy(): { checkpoints: string; submitted: string; shardEnds: string; initialShards: string; efoConsumer: string } {
    return {
      checkpoints: `${this.prefix}:checkpoints`,
      submitted: `${this.prefix}:submitted`,
      shardEnds: `${this.prefix}:shard-ends`,
      initialShards: `${this.prefix}:initial-shards`,
      efoConsumer: `${this.prefix}:efo-consumer`,
    };
  }

  /** Sorted set workerId -> last heartbeat (ms); a worker is live while its heartbeat is fresh. */
  get liveWorkers(): string {
    return `${this.prefix}:live-workers`;
  }

  /**
   * Hash leaseKey -> "owner|bytes per second|moved at|updated at" (ms, Redis's clock): each lease's
   * measured input rate, published by its holder for `worker.balance = THROUGHPUT`.
   */
  get leaseLoads(): string {
    return `${this.prefix}:lease-loads`;
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
