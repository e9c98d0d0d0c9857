import { formatAddresses, formatStatus, summarize, type StatusTotals } from '../../cli/local/status-view';
import type { WorkerStatus } from '../../worker/status-reporter';

const NOW = 1_714_564_800_000;
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';

type Lease = WorkerStatus['leases'][number];

function lease(shardId: string, millisBehindLatest?: number, stream = STREAM): Lease {
  return { stream, shardId, reader: 'POLLING', recordsRead: 0, bytesRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0, millisBehindLatest };
}

function status(worker: string, ageMs: number, counts: Omit<WorkerStatus['totals'], 'duplicated'>, leases: Lease[] = []): WorkerStatus {
  const totals = { ...counts, duplicated: 0 };
  return {
    worker,
    updatedAt: NOW - ageMs,
    totals,
    sinkBuffered: 0,
    sink: { recordsWritten: totals.written, bytesWritten: 0, requests: 0, retriedRecords: 0, throttledRecords: 0, failedRequests: 0, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 },
    leases,
  };
}

describe('summarize', () => {
  it('returns zeros and no lag for no workers', () => {
    expect(summarize([], NOW)).toEqual({ read: 0, written: 0, deadLettered: 0, deadLetteredByReason: {}, filtered: 0, orderViolations: 0, misplacedRecords: 0, leasesByWorker: [], maxLagMs: undefined, readers: [], leasesByStream: [] });
  });

  it('adds the totals of every worker, fresh or not', () => {
    const totals = summarize(
      [
        status('w1', 0, { read: 10, written: 8, deadLettered: 2 }),
        status('w2', 1000, { read: 5, written: 5, deadLettered: 0 }),
        status('stale', 60_000, { read: 100, written: 90, deadLettered: 7 }),
      ],
      NOW,
    );
    expect(totals.read).toBe(115);
    expect(totals.written).toBe(103);
    expect(totals.deadLettered).toBe(9);
  });

  it('lists leases only of the workers that reported within freshMs, sorted by worker', () => {
    const totals = summarize(
      [
        status('worker-b', 100, { read: 0, written: 0, deadLettered: 0 }, [lease('s1'), lease('s2')]),
        status('worker-a', 5000, { read: 0, written: 0, deadLettered: 0 }, [lease('s3')]), // exactly freshMs old: still live
        status('worker-c', 5001, { read: 0, written: 0, deadLettered: 0 }, [lease('s4')]),
        status('worker-d', 0, { read: 0, written: 0, deadLettered: 0 }, []),
      ],
      NOW,
    );
    expect(totals.leasesByWorker).toEqual([
      { worker: 'worker-a', leases: 1 },
      { worker: 'worker-b', leases: 2 },
      { worker: 'worker-d', leases: 0 },
    ]);
  });

  it('honours a custom freshMs', () => {
    const statuses = [status('w1', 1500, { read: 1, written: 1, deadLettered: 0 }, [lease('s1', 42)])];
    expect(summarize(statuses, NOW, 1000)).toEqual({ read: 1, written: 1, deadLettered: 0, deadLetteredByReason: {}, filtered: 0, orderViolations: 0, misplacedRecords: 0, leasesByWorker: [], maxLagMs: undefined, readers: [], leasesByStream: [] });
    expect(summarize(statuses, NOW, 2000)).toEqual({ read: 1, written: 1, deadLettered: 0, deadLetteredByReason: {}, filtered: 0, orderViolations: 0, misplacedRecords: 0, leasesByWorker: [{ worker: 'w1', leases: 1 }], maxLagMs: 42, readers: ['POLLING'], leasesByStream: [{ stream: 'in', leases: 1 }] });
  });

  it('takes the largest lag over the live workers leases only', () => {
    const totals = summarize(
      [
        status('w1', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s1', 300), lease('s2'), lease('s3', 1200)]),
        status('w2', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s4', 800)]),
        status('stale', 10_000, { read: 0, written: 0, deadLettered: 0 }, [lease('s5', 99_999)]),
      ],
      NOW,
    );
    expect(totals.maxLagMs).toBe(1200);
  });

  it('reports a lag of 0 when every shard is caught up, and none when no lease reports lag', () => {
    expect(summarize([status('w1', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s1', 0)])], NOW).maxLagMs).toBe(0);
    expect(summarize([status('w1', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s1')])], NOW).maxLagMs).toBeUndefined();
  });

  it('counts the live leases per input stream, by name (the same shard id in two streams is two leases)', () => {
    const other = 'arn:aws:kinesis:eu-west-1:123456789012:stream/clicks';
    const totals = summarize(
      [
        status('w1', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s1'), lease('s1', undefined, other)]),
        status('w2', 0, { read: 0, written: 0, deadLettered: 0 }, [lease('s2'), lease('s2', undefined, other), lease('s3', undefined, other)]),
        status('stale', 10_000, { read: 0, written: 0, deadLettered: 0 }, [lease('s4')]),
      ],
      NOW,
    );
    expect(totals.leasesByStream).toEqual([
      { stream: 'clicks', leases: 3 },
      { stream: 'in', leases: 2 },
    ]);
  });
});

describe('formatStatus', () => {
  const totals: StatusTotals = {
    read: 1234,
    written: 1200,
    deadLettered: 3,
    leasesByWorker: [
      { worker: 'w1', leases: 2 },
      { worker: 'w2', leases: 1 },
    ],
    maxLagMs: 850,
    readers: ['EFO'],
    leasesByStream: [{ stream: 'in', leases: 3 }],
  };

  it('shows rates, totals, leases per worker and the lag', () => {
    expect(formatStatus(100.4, 99.6, totals)).toBe('in 100/s, out 100/s | read 1234, written 1200, dead-lettered 3 | leases (EFO): w1=2 w2=1 | max lag 850 ms');
  });

  it('shows "none yet" without leases and "-" without a lag', () => {
    expect(formatStatus(0, 0, { read: 0, written: 0, deadLettered: 0, leasesByWorker: [], maxLagMs: undefined, readers: [], leasesByStream: [] })).toBe(
      'in 0/s, out 0/s | read 0, written 0, dead-lettered 0 | leases: none yet | max lag -',
    );
  });

  it('shows a lag of 0 ms as such', () => {
    expect(formatStatus(1, 2, { ...totals, maxLagMs: 0 })).toBe('in 1/s, out 2/s | read 1234, written 1200, dead-lettered 3 | leases (EFO): w1=2 w2=1 | max lag 0 ms');
  });

  it('shows the leases per stream only when there are several streams', () => {
    const several = { ...totals, leasesByStream: [{ stream: 'clicks', leases: 1 }, { stream: 'in', leases: 2 }] };
    expect(formatStatus(100.4, 99.6, several)).toBe('in 100/s, out 100/s | read 1234, written 1200, dead-lettered 3 | leases (EFO): w1=2 w2=1 (streams clicks=1 in=2) | max lag 850 ms');
  });

  it('formats what summarize returns', () => {
    const summary = summarize([status('b', 0, { read: 7, written: 6, deadLettered: 1 }, [lease('s1', 5)]), status('a', 0, { read: 1, written: 1, deadLettered: 0 })], NOW);
    expect(formatStatus(2.5, 1.49, summary)).toBe('in 3/s, out 1/s | read 8, written 7, dead-lettered 1 | leases (POLLING): a=0 b=1 | max lag 5 ms');
  });
});

describe('formatAddresses', () => {
  const metrics = { coordinator: 'http://127.0.0.1:9401/metrics', 'worker-1': 'http://127.0.0.1:9402/metrics' };

  test('names the dashboard with how it is protected, every process\'s metrics and the log folder', () => {
    const text = formatAddresses({ dashboardUrl: 'http://127.0.0.1:3000/', dashboardAuth: { type: 'none' }, metrics, logDir: '/tmp/logs' });
    expect(text.split('\n')).toEqual([
      '  dashboard  http://127.0.0.1:3000/  (no login: it listens on loopback only)',
      '  metrics    coordinator  http://127.0.0.1:9401/metrics  (/healthz, /readyz beside it)',
      '             worker-1     http://127.0.0.1:9402/metrics  (/healthz, /readyz beside it)',
      '  logs       /tmp/logs',
      '',
    ]);
  });

  test('says which credentials a protected dashboard wants, and when there is none', () => {
    expect(formatAddresses({ dashboardUrl: 'http://0:3000/', dashboardAuth: { type: 'basic', username: 'ops' }, metrics, logDir: 'l' })).toContain('basic auth, user "ops"');
    expect(formatAddresses({ dashboardUrl: 'http://0:3000/', dashboardAuth: { type: 'token' }, metrics, logDir: 'l' })).toContain('bearer token');
    expect(formatAddresses({ dashboardUrl: undefined, dashboardAuth: { type: 'none' }, metrics, logDir: 'l' })).toContain('dashboard  off');
  });
});

describe('the newer counters', () => {
  it('adds dead letters by reason, filtered records and the sinks\' order violations and misplaced records over every worker, and shows those not zero', () => {
    const a = status('w1', 100, { read: 10, written: 5, deadLettered: 3, deadLetteredByReason: { 'transform failed': 2, 'record too large': 1 }, filtered: 4 });
    const b = status('w2', 100, { read: 10, written: 5, deadLettered: 1, deadLetteredByReason: { 'transform failed': 1 }, filtered: 0 });
    b.sink = { ...b.sink, orderViolations: 2, misplacedRecords: 0 };
    const totals = summarize([a, b], NOW);
    expect(totals).toMatchObject({ deadLettered: 4, deadLetteredByReason: { 'transform failed': 3, 'record too large': 1 }, filtered: 4, orderViolations: 2, misplacedRecords: 0 });
    const line = formatStatus(1, 1, totals);
    expect(line).toContain('dead-lettered 4 (transform failed: 3, record too large: 1), filtered 4, order violations 2 |');
    expect(line).not.toContain('misplaced');
  });
});
