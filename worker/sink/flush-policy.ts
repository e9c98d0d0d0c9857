/**
 * When a partial PutRecords request goes (`sink.flush-buffer.mode`). A full request always goes at
 * once, and no record waits longer than `lingerMs` (`sink.flush-buffer.timeout`).
 *
 * - FIXED: a partial request waits for `lingerMs`.
 * - ADAPTIVE (the configuration's default) follows Nagle's algorithm: at most one partial request is in
 *   flight. At the end of the event-loop turn that brought it (records written in the same turn go
 *   together) a partial request goes at once unless another partial one is still unanswered; else it
 *   waits for that answer, which takes everything that gathered meanwhile, for a full request, or for
 *   `lingerMs`. A lone record on an idle sink so pays no linger, a steady stream of small writes costs
 *   about one request per round-trip, not one per record, and under load the buffer fills to full
 *   requests as with FIXED (an earlier rule, a partial request with every answer, sent many small
 *   requests then and cost 15 % of the unthrottled rate). While the output pushes back (fewer requests
 *   allowed than at most) only an idle sink sends a partial request.
 *
 * Only the moment a request goes is decided here: what it carries (key runs, aggregates) is the picker's.
 * The policy owns the linger timer and the end-of-turn check, and asks the sink to pump.
 */
import type { RateLimitingStrategy } from './rate-limiting';

/** What the policy reads of the sink, and how it asks it to send. */
export interface FlushContext {
  readonly pendingCount: number;
  readonly inFlight: number;
  readonly limiter: RateLimitingStrategy;
  /** Sends what may go; `eager`: one partial request may go now. */
  pump(eager: boolean): void;
}

export class FlushPolicy {
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerExpired = false;
  /** ADAPTIVE: the end of the current event-loop turn, when partial requests may go. */
  private turnEnd: NodeJS.Immediate | undefined;
  /** ADAPTIVE: an answer came back during the current turn. */
  private answeredThisTurn = false;
  /** Partial requests in flight (ADAPTIVE keeps it at one, but for ones sent by a flush or the linger). */
  private partials = 0;
  private closed = false;

  constructor(
    private readonly mode: 'ADAPTIVE' | 'FIXED',
    private readonly lingerMs: number,
    private readonly ctx: FlushContext,
  ) {}

  private get adaptive(): boolean {
    return this.mode === 'ADAPTIVE';
  }

  /** Records wait: the first one starts a linger period, at whose end every partial request may go. */
  recordsWaiting(): void {
    if (this.ctx.pendingCount === 0 || this.lingerTimer || this.lingerExpired) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.lingerExpired = true;
      this.ctx.pump(false);
    }, this.lingerMs);
  }

  /** After the pump of a write of `count` records: ADAPTIVE looks again at the end of this turn. */
  written(count: number): void {
    if (this.adaptive && count > 0) this.endTurnLater();
  }

  /** Whether a partial request may go now (`eager`: the pump was asked for one; `flushing`: a flush waits). */
  partialMayGo(eager: boolean, flushing: boolean): boolean {
    return eager || this.lingerExpired || flushing;
  }

  /** Partial requests wait no longer (a flush, or a retry pause that ended). */
  expire(): void {
    this.lingerExpired = true;
  }

  sent(partial: boolean): void {
    if (partial) this.partials += 1;
  }

  answered(partial: boolean): void {
    if (partial) this.partials -= 1;
  }

  /** A request was accepted whole: with records waiting, ADAPTIVE looks again at the end of this turn. */
  acceptedWhole(): void {
    if (!this.adaptive || this.ctx.pendingCount === 0) return;
    this.answeredThisTurn = true;
    this.endTurnLater();
  }

  /** Sending may start (the output's shard map came): ADAPTIVE looks at the end of this turn. */
  resumed(): void {
    if (this.adaptive) this.endTurnLater();
  }

  /** Nothing waits any more: the next record starts a new linger period. */
  emptied(): void {
    this.lingerExpired = false;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    clearImmediate(this.turnEnd);
  }

  private endTurnLater(): void {
    if (this.turnEnd || this.closed) return;
    this.turnEnd = setImmediate(() => this.endTurn());
  }

  /**
   * ADAPTIVE, at the end of a turn: a partial request goes when nothing is in flight, or when no other
   * partial request is (unless the output pushes back). Otherwise the records wait for the next answer
   * (which looks again), a full request or the linger timer.
   */
  private endTurn(): void {
    this.turnEnd = undefined;
    const answered = this.answeredThisTurn;
    this.answeredThisTurn = false;
    const { ctx } = this;
    if (ctx.pendingCount === 0) return;
    if (ctx.inFlight === 0 || (this.partials === 0 && !ctx.limiter.pushedBack && (answered || ctx.inFlight < ctx.limiter.limit))) ctx.pump(true);
  }
}
