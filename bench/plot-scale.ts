/**
 * `node dist/bench/plot-scale.js [results.json] [out.svg]`: draws the scale scenario's curve from a
 * benchmark results file as a small SVG (no dependencies): one panel per figure, shards on a log axis,
 * each target as a dashed line. docs/benchmarks.md shows `docs/scale-curve.svg`, drawn from `bench/results.json`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface SizePoint {
  shards: number;
  workers: number;
  input?: Record<string, string>;
  balancedFromStartedS?: number;
  balancedFromSpawnS: number;
  redisCommandsPerLeasePerS: number;
  workerCpuPercentPerLease: number;
  coordinatorCpuMsPerRound?: number;
}

interface Panel {
  title: string;
  unit: string;
  value: (p: SizePoint) => number | undefined;
  target?: number;
}

const PANELS: Panel[] = [
  { title: 'Balanced after the last worker started', unit: 's', value: (p) => p.balancedFromStartedS ?? p.balancedFromSpawnS, target: 15 },
  { title: 'Redis commands per lease per second', unit: '/s', value: (p) => p.redisCommandsPerLeasePerS, target: 2 },
  { title: 'Worker CPU per idle lease', unit: '% of a core', value: (p) => p.workerCpuPercentPerLease, target: 0.05 },
  { title: 'Coordinator CPU per discovery round', unit: 'ms', value: (p) => p.coordinatorCpuMsPerRound },
];

const W = 300;
const H = 190;
const PAD = { left: 52, right: 12, top: 30, bottom: 42 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function nice(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 1) return value.toFixed(1);
  return value.toFixed(value >= 0.1 ? 2 : 3);
}

/** One panel as an SVG group at (x, y). Pure, for the unit test. */
export function panel(points: readonly SizePoint[], p: Panel, x: number, y: number): string {
  const data = points.map((pt) => ({ pt, v: p.value(pt) })).filter((d): d is { pt: SizePoint; v: number } => d.v !== undefined && Number.isFinite(d.v));
  const maxV = Math.max(p.target ?? 0, ...data.map((d) => d.v)) * 1.15 || 1;
  const logs = points.map((pt) => Math.log2(pt.shards));
  const minX = Math.min(...logs);
  const maxX = Math.max(...logs);
  const px = (shards: number) => PAD.left + (maxX === minX ? 0.5 : (Math.log2(shards) - minX) / (maxX - minX)) * (W - PAD.left - PAD.right);
  const py = (v: number) => H - PAD.bottom - (v / maxV) * (H - PAD.top - PAD.bottom);
  const parts = [`<g transform="translate(${x},${y})">`, `<text x="${W / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">${esc(p.title)}</text>`];
  parts.push(`<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#444"/>`, `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#444"/>`);
  for (const pt of points) {
    parts.push(`<text x="${px(pt.shards)}" y="${H - PAD.bottom + 14}" text-anchor="middle" font-size="10">${pt.shards}</text>`);
    parts.push(`<text x="${px(pt.shards)}" y="${H - PAD.bottom + 25}" text-anchor="middle" font-size="9" fill="#666">${pt.workers} workers</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 3}" text-anchor="middle" font-size="10" fill="#666">shards (log scale)</text>`);
  parts.push(`<text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end" font-size="9">${nice(maxV)}</text>`, `<text x="${PAD.left - 4}" y="${H - PAD.bottom}" text-anchor="end" font-size="9">0</text>`);
  parts.push(`<text x="${PAD.left - 4}" y="${PAD.top + 15}" text-anchor="end" font-size="9" fill="#666">${esc(p.unit)}</text>`);
  if (p.target !== undefined) {
    parts.push(`<line x1="${PAD.left}" y1="${py(p.target)}" x2="${W - PAD.right}" y2="${py(p.target)}" stroke="#c33" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${W - PAD.right}" y="${py(p.target) - 3}" text-anchor="end" font-size="9" fill="#c33">target ${nice(p.target)}</text>`);
  }
  if (data.length > 1) parts.push(`<polyline fill="none" stroke="#2a6fb0" stroke-width="2" points="${data.map((d) => `${px(d.pt.shards)},${py(d.v)}`).join(' ')}"/>`);
  for (const d of data) {
    parts.push(`<circle cx="${px(d.pt.shards)}" cy="${py(d.v)}" r="3" fill="#2a6fb0"/>`);
    parts.push(`<text x="${px(d.pt.shards)}" y="${py(d.v) - 6}" text-anchor="middle" font-size="9">${nice(d.v)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

export function scaleSvg(points: readonly SizePoint[], note: string): string {
  const cols = 2;
  const rows = Math.ceil(PANELS.length / cols);
  const width = cols * W;
  const height = rows * H + 24;
  const body = PANELS.map((p, i) => panel(points, p, (i % cols) * W, Math.floor(i / cols) * H)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${body}<text x="6" y="${height - 8}" font-size="10" fill="#666">${esc(note)}</text></svg>\n`;
}

function main(): void {
  const root = join(__dirname, '..', '..');
  const file = process.argv[2] ?? join(root, 'bench', 'results.json');
  const out = process.argv[3] ?? join(root, 'docs', 'scale-curve.svg');
  const report = JSON.parse(readFileSync(file, 'utf8')) as { ranAt: string; machine: { cores: number; cpu: string }; results: Array<{ scenario: string; details?: { sizes?: SizePoint[] } }> };
  const sizes = report.results.find((r) => r.scenario === 'scale')?.details?.sizes;
  if (!sizes || sizes.length === 0) throw new Error(`${file} has no scale scenario`);
  const idle = sizes.filter((s) => s.input?.['source.shard.idle-interval']).map((s) => `${s.shards} shards: idle interval ${s.input!['source.shard.idle-interval']}`);
  const note = `npm run bench, ${report.ranAt.slice(0, 10)}, ${report.machine.cores} × ${report.machine.cpu}${idle.length ? `; ${idle.join(', ')}` : ''}`;
  writeFileSync(out, scaleSvg(sizes, note));
  process.stdout.write(`wrote ${out}\n`);
}

if (require.main === module) main();
