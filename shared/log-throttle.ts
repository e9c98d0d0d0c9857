/**
 * One log line per interval for an event that can repeat per record (dead letters, refused records):
 * the first occurrence is written at once, later ones at most once per `intervalMs`, each line saying
 * how many occurrences it stands for. Time comes from an injected clock, so the rule is tested without
 * waiting. Pure, no I/O: the caller writes the line.
 */
import type { Clock } from './clock';

export class LogThrottle {
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private sinceLine = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts `count` occurrences; returns how many the line to write now stands for (these included),
   * or undefined when no line is due yet (they are carried into the next one).
   */
  take(count = 1): number | undefined {
    this.sinceLine += count;
    const now = this.clock();
    if (now - this.lastLineAt < this.intervalMs) return undefined;
    const total = this.sinceLine;
    this.lastLineAt = now;
    this.sinceLine = 0;
    return total;
  }
}
