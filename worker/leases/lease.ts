/**
 * A held shard lease: the BullMQ lease job's lock, identified by the lock token. The lease is lost
 * when BullMQ reports a failed renewal, when a fenced checkpoint write finds another owner, or when
 * no renewal has succeeded for a whole lease timeout (a frozen or partitioned process learns it
 * this way before it can talk to Redis again). Lost means: stop touching the shard at once.
 */
export type LeaseEnd = 'lost' | 'released';

export class Lease {
  private readonly lostController = new AbortController();
  private readonly stopController = new AbortController();
  /** Aborts when reading must stop for any reason (lost lease or a graceful stop). */
  readonly signal: AbortSignal;
  private lastRenewedAt = Date.now();

  constructor(
    readonly shardId: string,
    readonly token: string,
    private readonly timeoutMs: number,
  ) {
    this.signal = AbortSignal.any([this.lostController.signal, this.stopController.signal]);
  }

  get isLost(): boolean {
    return this.lostController.signal.aborted || Date.now() - this.lastRenewedAt > this.timeoutMs;
  }

  get isStopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Why the lease counts as lost, for logs. */
  get lostReason(): string | undefined {
    if (this.lostController.signal.aborted) return (this.lostController.signal.reason as Error)?.message;
    if (Date.now() - this.lastRenewedAt > this.timeoutMs) return `no renewal for ${Date.now() - this.lastRenewedAt} ms (lease timeout ${this.timeoutMs} ms)`;
    return undefined;
  }

  renewed(at = Date.now()): void {
    this.lastRenewedAt = at;
  }

  /** Another owner may have the shard now: stop without writing anything more for it. */
  lose(reason: string): void {
    if (!this.lostController.signal.aborted) this.lostController.abort(new Error(reason));
  }

  /** Graceful hand-back: finish in-flight work, checkpoint, then release. */
  stop(): void {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error('stopping'));
  }
}
