/**
 * `npm run bench [-- --quick] [-- --only throughput,latency]`: runs the benchmark scenarios one after
 * the other, prints one table and writes `bench/results.json` with the machine it ran on. Each figure is
 * a ratio, rate or percentile taken inside one scenario run, where the compared commands ran back to back
 * on the same machine state, since the machines are shared and noisy. A missed target is reported, not
 * an error: the exit code is 1 only when a scenario could not run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Scenario, ScenarioResult } from './scenario';

const SCENARIOS: Record<string, { full: boolean; quick: boolean; load: () => Promise<Scenario> }> = {
  throughput: { full: true, quick: true, load: async () => (await import('./scenarios/throughput')).throughput },
  latency: { full: true, quick: true, load: async () => (await import('./scenarios/latency')).latency },
  'own-latency': { full: true, quick: true, load: async () => (await import('./scenarios/own-latency')).ownLatency },
  'cluster-timings': { full: true, quick: true, load: async () => (await import('./scenarios/cluster-timings')).clusterTimings },
  backpressure: { full: true, quick: true, load: async () => (await import('./scenarios/backpressure')).backpressure },
  'hot-key': { full: true, quick: true, load: async () => (await import('./scenarios/hot-key')).hotKey },
  aggregation: { full: true, quick: true, load: async () => (await import('./scenarios/aggregation')).aggregation },
  linger: { full: true, quick: true, load: async () => (await import('./scenarios/linger')).linger },
  scale: { full: true, quick: true, load: async () => (await import('./scenarios/scale')).scale },
  'many-streams': { full: true, quick: true, load: async () => (await import('./scenarios/many-streams')).manyStreams },
  transform: { full: true, quick: true, load: async () => (await import('./scenarios/transform')).transform },
};

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'x' || unit === 'ratio') return value.toFixed(2);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : value >= 1 ? 2 : 4);
}

export function table(results: readonly ScenarioResult[]): string {
  const rows = [['scenario', 'figure', 'value', 'unit', 'target', 'met']];
  for (const r of results) {
    for (const f of r.figures) rows.push([r.scenario, f.name, formatValue(f.value, f.unit), f.unit, f.target ?? '', f.met === undefined ? '' : f.met ? 'yes' : 'NO']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => (i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w, i) => (i === 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
  const only = onlyArg?.split(',').map((s) => s.trim());
  for (const name of only ?? []) {
    if (!(name in SCENARIOS)) {
      process.stderr.write(`Invalid argument: --only: value ${JSON.stringify(name)} is not allowed; allowed: ${Object.keys(SCENARIOS).join(' | ')}\n`);
      process.exit(2);
    }
  }
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const results: ScenarioResult[] = [];
  let failed = false;
  for (const [name, s] of Object.entries(SCENARIOS)) {
    if (only ? !only.includes(name) : !(quick ? s.quick : s.full)) continue;
    log(`${name}${quick ? ' (quick)' : ''}`);
    try {
      results.push(await (await s.load())({ quick, log }));
    } catch (err) {
      failed = true;
      log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
      results.push({ scenario: name, figures: [], details: { error: (err as Error).message } });
    }
  }
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version, platform: process.platform };
  const report = { ranAt: new Date().toISOString(), quick, durationSeconds: Math.round((Date.now() - started) / 1000), machine, results };
  // Only a full run of every scenario replaces results.json, the figures docs/benchmarks.md shows.
  const file = quick ? 'results-quick.json' : only ? 'results-partial.json' : 'results.json';
  writeFileSync(join(__dirname, '..', '..', 'bench', file), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nshardflow benchmark${quick ? ' (quick)' : ''}: ${machine.cores} × ${machine.cpu}, Node ${machine.node}, ${report.durationSeconds} s\n\n${table(results)}\n`);
  process.exit(failed ? 1 : 0);
}

if (require.main === module) void main();
