/**
 * The sink's pause before it sends again after refused records or a failed request: jittered
 * exponential backoff, one step per burst of answers (the answers of one burst are one step, not one
 * step each), back to the start after a request goes through whole. While paused nothing is sent;
 * when the pause ends the sink is told (`ended`), and sends at once whatever waits. Time comes from the
 * injected clock, the pause's end from a timer.
 */
import type { Clock } from '../../shared/clock';
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff';

export class RetryPause {
  private until = 0;
  private timer: NodeJS.Timeout | undefined;
  private streak = 0;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly ended: () => void,
  ) {}

  /** True until the pause ends. */
  get active(): boolean {
    return this.clock() < this.until;
  }

  /** One step further along the backoff (`extraMs` more), whatever pause is on. */
  step(policy: BackoffPolicy | undefined, extraMs = 0): void {
    this.streak += 1;
    this.pause(backoffDelay(this.streak - 1, policy) + extraMs);
  }

  /** One step for a burst of answers: only when no pause is on already. */
  stepOncePerBurst(policy: BackoffPolicy | undefined, extraMs = 0): void {
    if (!this.active) this.step(policy, extraMs);
  }

  /** A request went through whole: the next refusal starts the backoff over. */
  reset(): void {
    this.streak = 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private pause(ms: number): void {
    if (this.closed) return;
    const now = this.clock();
    this.until = Math.max(this.until, now + ms);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Timers may fire a little before the clock reaches the end; the pause is over either way.
      this.until = 0;
      this.ended();
    }, this.until - now);
  }
}
