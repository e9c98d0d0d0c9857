/**
 * How many PutRecords requests may be in flight, as the output's answers allow: a strategy behind an
 * interface, as Flink's sink has its `RateLimitingStrategy`, so another can be dropped in.
 *
 * `AimdRateLimiting` is Flink's default, additive increase, multiplicative decrease: a throttled answer
 * halves the requests allowed in flight, each fully accepted one adds one back, up to the maximum
 * (`sink.requests.max-inflight`). Without it, a throttled stream sees every pause end in a burst of 50
 * full requests that is refused again, and the backoff climbs to its ceiling: the sink then delivers a
 * fraction of what the stream would accept. While the output fails, one request at a time probes it.
 * Pure.
 */
export interface RateLimitingStrategy {
  /** Requests allowed in flight now. */
  readonly limit: number;
  /** Fewer are allowed than at most: the output pushes back. */
  readonly pushedBack: boolean;
  /** An answer refused records for throttling. */
  throttled(): void;
  /** A request was accepted whole. */
  accepted(): void;
  /** The output fails (a non-retryable answer): probe it with one request at a time. */
  failing(): void;
}

export class AimdRateLimiting implements RateLimitingStrategy {
  private current: number;

  constructor(private readonly max: number) {
    this.current = max;
  }

  get limit(): number {
    return this.current;
  }

  get pushedBack(): boolean {
    return this.current < this.max;
  }

  throttled(): void {
    this.current = Math.max(1, Math.floor(this.current / 2));
  }

  accepted(): void {
    this.current = Math.min(this.max, this.current + 1);
  }

  failing(): void {
    this.current = 1;
  }
}
