/** The lease job's title in the dashboard's job list. */
import { leaseTitle } from '../../coordinator/dashboard';

test('a held lease is titled with shard, owner, reader, the checkpoint\'s last digits, lag and records read', () => {
  const title = leaseTitle({
    name: 'shardId-000000000003',
    progress: { owner: 'worker-a-1', reader: 'EFO', checkpoint: '49680595531543124903973086623029379228174574164115456050', recordsRead: 12345, millisBehindLatest: 1500 },
  });
  expect(title).toBe('shardId-000000000003 · worker-a-1 · EFO · checkpoint …4115456050 · lag 1,500 ms · 12,345 read');
});

test('a lease without a checkpoint yet says so; one without progress (waiting, finished) is just its shard', () => {
  expect(leaseTitle({ name: 'shardId-1', progress: { owner: 'w', reader: 'POLLING', checkpoint: null, recordsRead: 0 } })).toBe('shardId-1 · w · POLLING · no checkpoint yet · 0 read');
  expect(leaseTitle({ name: 'shardId-1', progress: 0 })).toBe('shardId-1');
  expect(leaseTitle({ id: 'shardId-2', progress: {} })).toBe('shardId-2');
});

test('a held lease\'s title adds, when not zero, records filtered, dead letters by reason and its owner\'s sink order violations and misplaced records', () => {
  const title = leaseTitle({
    name: 'orders/shardId-000000000001',
    progress: {
      owner: 'worker-b-2',
      reader: 'POLLING',
      checkpoint: '4968',
      recordsRead: 2000,
      recordsFiltered: 150,
      deadLetteredByReason: { 'transform failed': 3, 'record too large': 1, 'unused reason': 0 },
      ownerSink: { orderViolations: 2, misplacedRecords: 0 },
    },
  });
  expect(title).toBe('orders/shardId-000000000001 · worker-b-2 · POLLING · checkpoint …4968 · 2,000 read · 150 filtered · 4 dead-lettered (transform failed: 3, record too large: 1) · owner\'s sink: 2 order violations');
  // All zero: nothing added.
  expect(leaseTitle({ name: 's', progress: { owner: 'w', reader: 'EFO', checkpoint: null, recordsRead: 1, recordsFiltered: 0, deadLetteredByReason: {} } })).toBe('s · w · EFO · no checkpoint yet · 1 read');
});
