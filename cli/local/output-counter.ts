/** The local stack's count of records written by output group, from each worker's /metrics. */
import { writtenByOutput } from './status-view';

/** Each worker's records written so far by output, from its /metrics (the last known count of one that does not answer). */
export class OutputCounter {
  private readonly known = new Map<string, Map<string, number>>();

  constructor(private readonly urls: readonly string[]) {}

  async totals(groups: readonly string[]): Promise<Map<string, number>> {
    await Promise.all(
      this.urls.map(async (url) => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(900) });
          if (res.ok) this.known.set(url, writtenByOutput(await res.text()));
        } catch {
          // not up yet, or busy: its last known counts stand
        }
      }),
    );
    const totals = new Map(groups.map((g) => [g, 0]));
    for (const counts of this.known.values()) for (const [group, n] of counts) totals.set(group, (totals.get(group) ?? 0) + n);
    return totals;
  }
}
