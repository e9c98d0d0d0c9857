/**
 * A held shard lease: the lock on the shard's lease job (see lease-store.ts), identified by its token.
 *
 * Redis expires the lock `timeoutMs` after the last renewal *set* it, and a renewal sets it after it
 * *starts*; so counting from the start of the last successful renewal can only err early. The lease
 * stops sending a safety margin before that point (`sendDeadline`), so a worker whose renewals stopped
 * answering (Redis unreachable, the process frozen or starved) stops writing before another worker can
 * take the shard: two writers never overlap, whatever the event-loop lag on the way.
 *
 * The lease is lost when a renewal finds the lock gone or another's, when a fenced checkpoint write finds
 * another owner, or when the send deadline passes without a renewal. Lost means: stop touching the shard
 * at once, and for good: a renewal that answers after the deadline does not bring the lease back.
 * Queries (`isLost`, `lostReason`, `remainingMs`, ...) answer and never change the lease; the watchdog
 * timer calls `lose()` at the deadline, which aborts `signal`. Time is read from an injected monotonic
 * clock (tests drive it; wall-clock jumps cannot move it).
 */
import type { Clock } from '../../shared/clock';

/** The part of a lease timeout kept free before Redis may expire the lock. */
export function safetyMargin(timeoutMs: number): number {
  return Math.floor(timeoutMs / 5);
}

export interface LeaseTiming {
  timeoutMs: number;
  /** Default `safetyMargin(timeoutMs)`. */
  marginMs?: number;
  /** Monotonic time, for the deadline. */
  clock: Clock;
  /** When the call that took the lock started (clock time); default now. */
  acquiredAt?: number;
}

export class Lease {
  private readonly lostController = new AbortController();
  private readonly stopController = new AbortController();
  /** Aborts when reading must stop for any reason (lost lease or a graceful stop). */
  readonly signal: AbortSignal;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly marginMs: number;
  private lastRenewalStart: number;
  /** Fires at the send deadline, so a reader blocked in a long wait stops too, not only the next check. */
  private watchdog: NodeJS.Timeout | undefined;
  private hurryNow: (() => void) | undefined;
  private hurriedFlag = false;
  /** Resolves when the hand-over is hurried (`hurry`); never rejects. */
  readonly hurried: Promise<void> = new Promise((resolve) => (this.hurryNow = resolve));

  constructor(
    readonly leaseKey: string,
    readonly token: string,
    timing: LeaseTiming,
  ) {
    this.signal = AbortSignal.any([this.lostController.signal, this.stopController.signal]);
    this.clock = timing.clock;
    this.timeoutMs = timing.timeoutMs;
    this.marginMs = timing.marginMs ?? safetyMargin(timing.timeoutMs);
    this.lastRenewalStart = timing.acquiredAt ?? this.clock();
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.watchdog);
    if (this.lostController.signal.aborted) return;
    // At the deadline itself: from then on `isLost` answers true, and the signal must say so too.
    this.watchdog = setTimeout(() => {
      if (this.pastDeadline) this.lose(this.deadlineReason);
      else this.arm(); // renewed meanwhile, or the timer came a fraction early: watch the deadline again
    }, Math.max(0, this.sendDeadline - this.clock()));
    this.watchdog.unref?.();
  }

  /** The lease is over (released, finished or lost): stop watching its deadline. */
  close(): void {
    clearTimeout(this.watchdog);
  }

  /** Clock time after which nothing more may be sent for this lease unless it is renewed first. */
  get sendDeadline(): number {
    return this.lastRenewalStart + this.timeoutMs - this.marginMs;
  }

  /** Milliseconds left before the send deadline (0 once it has passed). */
  get remainingMs(): number {
    return Math.max(0, this.sendDeadline - this.clock());
  }

  private get pastDeadline(): boolean {
    return this.clock() >= this.sendDeadline;
  }

  private get deadlineReason(): string {
    return `no lock renewal answered within ${this.timeoutMs - this.marginMs} ms of its start (lease timeout ${this.timeoutMs} ms, safety margin ${this.marginMs} ms)`;
  }

  /** True once the lease was lost or its send deadline has passed (the watchdog may not have fired yet). */
  get isLost(): boolean {
    return this.lostController.signal.aborted || this.pastDeadline;
  }

  get isStopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Why the lease counts as lost, for logs. */
  get lostReason(): string | undefined {
    if (this.lostController.signal.aborted) return (this.lostController.signal.reason as Error)?.message;
    return this.pastDeadline ? this.deadlineReason : undefined;
  }

  /**
   * A renewal that started at `startedAt` (clock time) succeeded. One that answers once the send deadline
   * has passed comes too late: the lease counted as lost from the deadline on, and stays lost.
   */
  renewed(startedAt: number): void {
    if (this.lostController.signal.aborted) return; // the lost decision stands: the runner has stopped
    if (this.pastDeadline) {
      this.lose(this.deadlineReason);
      return;
    }
    this.lastRenewalStart = Math.max(this.lastRenewalStart, startedAt);
  }

  /** Another owner may have the shard now: stop without writing anything more for it. */
  lose(reason: string): void {
    clearTimeout(this.watchdog);
    if (!this.lostController.signal.aborted) this.lostController.abort(new Error(reason));
  }

  /** Graceful hand-back: finish in-flight work, checkpoint, then release. */
  stop(): void {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error('stopping'));
  }

  /**
   * A faster hand-back (a second SIGTERM): stop, and do not wait for the output's acknowledgements;
   * the final checkpoint (what was acknowledged) is still written and the lease released.
   */
  hurry(): void {
    this.stop();
    this.hurriedFlag = true;
    this.hurryNow?.();
  }

  get isHurried(): boolean {
    return this.hurriedFlag;
  }
}
