/**
 * The tidy-up's verdicts when one round lists several streams (test/unit/coordinator-discovery.test.ts
 * runs it with one stream on the in-memory lease table): each job is judged by its own stream's listing,
 * even where shard ids repeat across streams; and a trimmed shard is reported with its stream, its
 * checkpoint and the shardflow_shards_trimmed_total metric, only once its job is really removed.
 */
import type { Logger } from '../../shared/logging';
import { initProcessMetrics, metrics } from '../../shared/metrics';
import { leaseKey, streamKey } from '../../shared/redis/keys';
import type { TidyVerdict, UnheldLeaseJob } from '../../coordinator/lease-job-store';
import type { StreamListing } from '../../coordinator/shard-discovery';
import { tidyLeaseJobs } from '../../coordinator/lease-queue-tidy';

const ONE = 'arn:aws:kinesis:us-east-1:123456789012:stream/one';
const TWO = 'arn:aws:kinesis:us-east-1:123456789012:stream/two';
/** Configured, but not discovered this round. */
const RESTING = 'arn:aws:kinesis:eu-west-1:123456789012:stream/one';
/** Out of the configuration (or deleted in Kinesis). */
const GONE = 'arn:aws:kinesis:us-east-1:123456789012:stream/gone';

const listing = (streamArn: string, listed: string[], finished: string[] = []): StreamListing => ({ streamArn, listed: new Set(listed), finished: new Set(finished) });

/** A lease store that asks for a verdict on each job and removes what it is told to, except the jobs `taken` (a worker took them meanwhile). */
function store(jobs: UnheldLeaseJob[], taken: ReadonlySet<string> = new Set()) {
  const verdicts = new Map<string, TidyVerdict>();
  return {
    verdicts,
    async tidy(verdict: (job: UnheldLeaseJob) => TidyVerdict) {
      for (const job of jobs) verdicts.set(job.id, verdict(job));
      const removed = [...verdicts].filter(([id, v]) => v === 'remove' && !taken.has(id)).map(([id]) => id);
      return { removed, retried: [...verdicts.values()].filter((v) => v === 'retry').length };
    },
  };
}

function errorLog() {
  const errors: Array<Record<string, unknown>> = [];
  const log = { error: (fields: Record<string, unknown>) => void errors.push(fields), warn: () => undefined, info: () => undefined } as unknown as Logger;
  return { log, errors };
}

const job = (streamArn: string | undefined, shardId: string, failed = false): UnheldLeaseJob => ({ id: streamArn ? leaseKey(streamArn, shardId) : shardId, failed });
const trimmed = async (stream: string) => (await metrics().shardsTrimmed.get()).values.find((v) => v.labels.stream === stream)?.value ?? 0;

beforeEach(() => initProcessMetrics({ role: 'test' }));

test('judges each job by its own stream\'s listing, when several streams are listed in one round', async () => {
  const jobs = [
    job(ONE, 'shardId-0'),
    job(ONE, 'shardId-1', true),
    job(ONE, 'shardId-2'), // not listed for ONE (TWO lists a shardId-2): trimmed
    job(TWO, 'shardId-0', true), // failed, but finished: left failed
    job(TWO, 'shardId-1'), // not listed, finished: removed without a report
    job(TWO, 'shardId-2', true),
    job(RESTING, 'shardId-9', true), // its stream is not discovered this round: kept as it is
    job(GONE, 'shardId-0'),
    job(undefined, 'shardId-0'), // the single-stream layout's
  ];
  const s = store(jobs);
  const { log, errors } = errorLog();
  const round = { listings: [listing(ONE, ['shardId-0', 'shardId-1']), listing(TWO, ['shardId-0', 'shardId-2'], ['shardId-0', 'shardId-1'])], readable: new Set([ONE, TWO, RESTING].map(streamKey)) };
  expect(await tidyLeaseJobs(round, { leases: s, checkpoint: async () => undefined, log })).toEqual({ removed: 4, retried: 2 });
  expect(Object.fromEntries(s.verdicts)).toEqual({
    [leaseKey(ONE, 'shardId-0')]: 'keep',
    [leaseKey(ONE, 'shardId-1')]: 'retry',
    [leaseKey(ONE, 'shardId-2')]: 'remove',
    [leaseKey(TWO, 'shardId-0')]: 'keep',
    [leaseKey(TWO, 'shardId-1')]: 'remove',
    [leaseKey(TWO, 'shardId-2')]: 'retry',
    [leaseKey(RESTING, 'shardId-9')]: 'keep',
    [leaseKey(GONE, 'shardId-0')]: 'remove',
    'shardId-0': 'remove',
  });
  // Only the trimmed shard is reported: a finished one, a removed stream's and the old layout's are not.
  expect(errors).toEqual([{ stream: ONE, shardId: 'shardId-2', checkpoint: null }]);
  expect(await trimmed(ONE)).toBe(1);
  expect(await trimmed(TWO)).toBe(0);
});

test('reports a trimmed shard with its stream\'s checkpoint, asked of the right stream', async () => {
  const s = store([job(ONE, 'shardId-3'), job(TWO, 'shardId-3')]);
  const { log, errors } = errorLog();
  const asked: Array<[string, string]> = [];
  const checkpoint = async (arn: string, shardId: string) => (asked.push([arn, shardId]), arn === TWO ? '49590338271490256608559692538361571095921575989136588898' : undefined);
  const round = { listings: [listing(ONE, []), listing(TWO, [])], readable: new Set([ONE, TWO].map(streamKey)) };
  expect(await tidyLeaseJobs(round, { leases: s, checkpoint, log })).toEqual({ removed: 2, retried: 0 });
  expect(asked).toEqual([
    [ONE, 'shardId-3'],
    [TWO, 'shardId-3'],
  ]);
  expect(errors).toEqual([
    { stream: ONE, shardId: 'shardId-3', checkpoint: null },
    { stream: TWO, shardId: 'shardId-3', checkpoint: '49590338271490256608559692538361571095921575989136588898' },
  ]);
  expect(await trimmed(ONE)).toBe(1);
  expect(await trimmed(TWO)).toBe(1);
});

test('does not report a trimmed shard whose job a worker took meanwhile (the store did not remove it)', async () => {
  const s = store([job(ONE, 'shardId-0'), job(ONE, 'shardId-1')], new Set([leaseKey(ONE, 'shardId-1')]));
  const { log, errors } = errorLog();
  const round = { listings: [listing(ONE, [])], readable: new Set([streamKey(ONE)]) };
  expect(await tidyLeaseJobs(round, { leases: s, checkpoint: async () => undefined, log })).toEqual({ removed: 1, retried: 0 });
  expect(errors.map((e) => e.shardId)).toEqual(['shardId-0']);
  expect(await trimmed(ONE)).toBe(1);
});

test('removes every job when no stream is readable (all removed from the configuration)', async () => {
  const s = store([job(ONE, 'shardId-0', true), job(TWO, 'shardId-0')]);
  const { log, errors } = errorLog();
  expect(await tidyLeaseJobs({ listings: [], readable: new Set() }, { leases: s, checkpoint: async () => undefined, log })).toEqual({ removed: 2, retried: 0 });
  expect(errors).toEqual([]);
});
