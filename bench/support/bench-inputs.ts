/**
 * What two benchmark scenarios (scale, many-streams) read alike: extra input properties from an
 * environment variable, and Redis's `INFO commandstats` as calls and as rates per lease.
 */

/** `key=value,…` (from the environment variable `variable`) as input properties. */
export function parseProps(spec: string | undefined, variable: string): Record<string, string> {
  if (!spec?.trim()) return {};
  return Object.fromEntries(
    spec.split(',').map((kv) => {
      const at = kv.indexOf('=');
      if (at <= 0) throw new Error(`${variable}: "${kv}" is not key=value`);
      return [kv.slice(0, at).trim(), kv.slice(at + 1).trim()];
    }),
  );
}

/** `INFO commandstats` text as calls per command. */
export function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls.set(m[1], Number(m[2]));
  }
  return calls;
}

/**
 * Commands per lease per second between two `INFO commandstats` readings, by command (the largest first)
 * and in total; the INFO of the first reading (counted by the second) is left out.
 */
export function commandRates(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, seconds: number, leases: number): { total: number; byCommand: Record<string, number> } {
  const rates: Array<[string, number]> = [];
  let total = 0;
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0);
    if (delta <= 0) continue;
    total += delta;
    rates.push([name, delta / seconds / leases]);
  }
  rates.sort((a, b) => b[1] - a[1]);
  return { total: total / seconds / leases, byCommand: Object.fromEntries(rates) };
}
