/** The scale curve's SVG: a panel per figure, each size a point, each target a dashed line. */
import { scaleSvg } from '../../bench/plot-scale';

const sizes = [
  { shards: 128, workers: 4, balancedFromStartedS: 2.3, balancedFromSpawnS: 6.9, redisCommandsPerLeasePerS: 1.97, workerCpuPercentPerLease: 0.24, coordinatorCpuMsPerRound: 160 },
  { shards: 2048, workers: 32, input: { 'source.shard.idle-interval': '10 s' }, balancedFromSpawnS: 94.6, redisCommandsPerLeasePerS: 1.65, workerCpuPercentPerLease: 0.056, coordinatorCpuMsPerRound: 194 },
];

test('four panels, a point and a label per size, the targets as dashed lines', () => {
  const svg = scaleSvg(sizes, 'note & more');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.match(/<circle /g)).toHaveLength(8);
  expect(svg.match(/stroke-dasharray/g)).toHaveLength(3); // balanced 15 s, 2 commands, 0.05 %
  expect(svg).toContain('>94.6<'); // balanced from the spawn when no "worker started" time was seen
  expect(svg).toContain('>2048<');
  expect(svg).toContain('note &amp; more');
});
