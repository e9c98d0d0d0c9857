/**
 * Each held lease's input rate in bytes per second, as an exponentially weighted moving average of
 * the bytes its runner read, sampled on the balancer's tick. Pure: the caller passes the time.
 *
 * A lease measured for less than `warmupMs` has no rate yet (one sample over a few hundred ms says
 * little), unless it was seeded with the rate its previous owner published: a lease that moves keeps
 * its weight, so the worker that took it does not look idle to the others while it warms up.
 */
export interface ThroughputMeterSettings {
  /** Time constant of the average: a step in traffic is 63% reflected after this long. */
  tauMs: number;
  /** How long a lease without a seed is observed before its first rate. */
  warmupMs: number;
}

interface Sample {
  bytes: number;
  at: number;
  rate: number | undefined;
}

export class ThroughputMeter {
  private readonly leases = new Map<string, Sample>();

  constructor(private readonly settings: ThroughputMeterSettings) {}

  /**
   * Records that the lease's runner has read `bytesRead` bytes in total by `now`. `seed` is the rate
   * published by the lease's previous owner, used only when the lease is new here.
   */
  sample(leaseKey: string, bytesRead: number, now: number, seed?: number): void {
    const last = this.leases.get(leaseKey);
    // A new lease, or a new runner of the same shard (its count started again at zero).
    if (!last || bytesRead < last.bytes) {
      this.leases.set(leaseKey, { bytes: bytesRead, at: now, rate: last?.rate ?? seed });
      return;
    }
    const elapsed = now - last.at;
    if (elapsed <= 0) return;
    const rate = ((bytesRead - last.bytes) * 1000) / elapsed;
    if (last.rate === undefined) {
      // Not warm yet: keep the first sample's start, so the first rate covers the whole warm-up.
      if (elapsed >= this.settings.warmupMs) this.leases.set(leaseKey, { bytes: bytesRead, at: now, rate });
      return;
    }
    const alpha = 1 - Math.exp(-elapsed / this.settings.tauMs);
    this.leases.set(leaseKey, { bytes: bytesRead, at: now, rate: last.rate + alpha * (rate - last.rate) });
  }

  /** The lease's bytes per second, or undefined while it has no measurement. */
  rate(leaseKey: string): number | undefined {
    return this.leases.get(leaseKey)?.rate;
  }

  /** Forgets the leases not held any more. */
  retain(held: ReadonlySet<string>): void {
    for (const leaseKey of this.leases.keys()) if (!held.has(leaseKey)) this.leases.delete(leaseKey);
  }
}
