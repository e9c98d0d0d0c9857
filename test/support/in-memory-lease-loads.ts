/**
 * The published lease loads in memory (`worker.balance = THROUGHPUT`), as the Redis hash and its script
 * keep them (worker/leases/lease-loads.ts), stamped with an injected clock standing for Redis's.
 */
import type { Clock } from '../../shared/clock';
import { formatLeaseLoad, parseLeaseLoad, type LeaseLoadEntry, type LeaseLoadStore, type LeaseLoadWrite } from '../../worker/leases/lease-loads';

/** The published lease loads, as the Redis hash and its script keep them, stamped with `clock`. */
export class InMemoryLeaseLoads implements LeaseLoadStore {
  readonly fields = new Map<string, string>();

  constructor(private readonly clock: Clock) {}

  async read(): Promise<Map<string, LeaseLoadEntry>> {
    return new Map([...this.fields].map(([leaseKey, raw]) => [leaseKey, parseLeaseLoad(leaseKey, raw)]));
  }

  async publish(owner: string, writes: readonly LeaseLoadWrite[], dropped: readonly string[], stale: readonly LeaseLoadEntry[]): Promise<void> {
    const now = Math.floor(this.clock());
    for (const write of writes) this.fields.set(write.leaseKey, `${formatLeaseLoad(write)}|${now}`);
    for (const leaseKey of dropped) {
      const value = this.fields.get(leaseKey);
      if (value?.startsWith(`${owner}|`)) this.fields.set(leaseKey, value.slice(owner.length));
    }
    for (const entry of stale) if (this.fields.get(entry.leaseKey) === entry.raw) this.fields.delete(entry.leaseKey);
  }
}
