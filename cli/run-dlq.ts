/**
 * `shardflow dlq list|replay|purge [--reason TEXT]`: look at, replay or remove dead letters. Replay runs
 * each matching letter through the current transform and sink (as retrying it in the dashboard does);
 * one that fails again stays in the queue with its new reason.
 */
import { duplicateRedis } from '../shared/redis/connection';
import { Job, Queue, type JobType } from 'bullmq';
import { DEAD_LETTER_QUEUE, streamNameOf } from '../shared/redis/keys';
import { createLogger } from '../shared/logging';
import { sleep } from '../shared/backoff';
import { DeadLetterReplayer, type ParkedDeadLetter } from '../worker/dead-letter/dead-letter-replayer';
import { openTransform } from '../worker/transform/transform-runtime';
import { workerId } from '../shared/identity';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { ConfigError } from '../shared/config/config-error';
import { FatalError } from './lifecycle';
import { connectRedis } from './services';
import { comparePositions } from '../shared/position';

export interface DlqOptions extends CommonOptions {
  reason?: string;
  /** An input stream's name or ARN. */
  stream?: string;
  json?: boolean;
  timeout?: string;
}

const PENDING: JobType[] = ['failed', 'waiting', 'delayed', 'prioritized', 'active'];

function reasonOf(job: Job<ParkedDeadLetter>): string {
  return job.failedReason || job.data.reason;
}

async function matching(queue: Queue<ParkedDeadLetter>, reason?: string, stream?: string): Promise<Array<{ job: Job<ParkedDeadLetter>; state: string }>> {
  const found: Array<{ job: Job<ParkedDeadLetter>; state: string }> = [];
  for (const state of PENDING) {
    for (const job of await queue.getJobs([state])) {
      if (reason && !reasonOf(job).includes(reason)) continue;
      if (stream && job.data.stream !== stream && streamNameOf(job.data.stream) !== stream) continue;
      found.push({ job, state: state === 'waiting' ? 'waiting' : state });
    }
  }
  return found;
}

/** What the selection was, for the summary line. */
function selection(opts: DlqOptions): string {
  return [opts.reason ? ` matching "${opts.reason}"` : '', opts.stream ? ` of stream ${opts.stream}` : ''].join('');
}

export async function runDlq(action: string, opts: DlqOptions): Promise<void> {
  if (!['list', 'replay', 'purge'].includes(action)) {
    throw new ConfigError(`Invalid argument: dlq action: value ${JSON.stringify(action)} is not allowed; allowed: list | replay | purge`);
  }
  const ctx = resolveContext(opts);
  const log = createLogger('dlq', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const redis = await connectRedis(ctx.redisUrl);
  const queue = new Queue<ParkedDeadLetter>(DEAD_LETTER_QUEUE, { connection: redis, prefix: ctx.keys.bullPrefix });
  try {
    const jobs = await matching(queue, opts.reason, opts.stream);
    if (action === 'list') {
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(jobs.map(({ job, state }) => ({ id: job.id, state, ...job.data, reason: reasonOf(job) })), null, 2)}\n`);
      } else {
        for (const { job, state } of jobs) {
          const d = job.data;
          process.stdout.write(`${job.id}\t${state}\t${streamNameOf(d.stream)}\t${d.shardId}\t${d.sequenceNumber}\t${d.arrivalTime ?? '-'}\t${reasonOf(job)}${d.stack ? ` (${d.stack})` : ''}\n`);
        }
        process.stdout.write(`${jobs.length} dead letter(s)${selection(opts)} in application "${ctx.app}"\n`);
      }
      return;
    }
    if (action === 'purge') {
      for (const { job } of jobs) await job.remove();
      process.stdout.write(`purged ${jobs.length} dead letter(s)${selection(opts)} from application "${ctx.app}"\n`);
      return;
    }
    await replay(jobs, queue, opts, config, ctx, redis, log);
  } finally {
    await queue.close();
    await redis.quit().catch(() => undefined);
  }
}

async function replay(
  jobs: Array<{ job: Job<ParkedDeadLetter>; state: string }>,
  queue: Queue<ParkedDeadLetter>,
  opts: DlqOptions,
  config: ReturnType<typeof loadConfig>,
  ctx: ReturnType<typeof resolveContext>,
  redis: Awaited<ReturnType<typeof connectRedis>>,
  log: ReturnType<typeof createLogger>,
): Promise<void> {
  const timeoutMs = (opts.timeout === undefined ? 120 : Number(opts.timeout)) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError(`Invalid argument: --timeout: value ${JSON.stringify(opts.timeout)} is not allowed; allowed: a positive number of seconds`);
  const started = Date.now();
  const transform = await openTransform(config, { workerId: workerId('dlq'), log });
  const replayer = new DeadLetterReplayer(duplicateRedis(redis), ctx.keys, config, log, transform);
  // Oldest first per shard, so letters of one shard are picked up (and written) in their input order.
  const shardOf = (d: ParkedDeadLetter) => `${d.stream}|${d.shardId}`;
  jobs.sort((a, b) => (shardOf(a.job.data) < shardOf(b.job.data) ? -1 : shardOf(a.job.data) > shardOf(b.job.data) ? 1 : comparePositions(a.job.data, b.job.data)));
  try {
    for (const { job, state } of jobs) {
      // Marked parked before the replayer starts, so it replays each letter instead of parking it again.
      await job.updateData({ ...job.data, parked: true });
      if (state === 'failed') await job.retry('failed');
    }
    replayer.start();
    const outcome = new Map<string, { state: string; reason?: string }>();
    const deadline = started + timeoutMs;
    while (outcome.size < jobs.length) {
      // All outstanding letters at once: their reads go out together, not one round-trip after another.
      const pending = jobs.filter(({ job }) => !outcome.has(job.id!));
      await Promise.all(
        pending.map(async ({ job }) => {
          const fresh = await Job.fromId<ParkedDeadLetter>(queue, job.id!);
          if (!fresh) return;
          const state = await fresh.getState();
          const finishedNow = (fresh.finishedOn ?? 0) >= started;
          if (state === 'completed' && finishedNow) outcome.set(job.id!, { state });
          else if (state === 'failed' && finishedNow) outcome.set(job.id!, { state, reason: fresh.failedReason });
        }),
      );
      if (outcome.size === jobs.length) break;
      if (Date.now() > deadline) throw new FatalError(`replay timed out: ${jobs.length - outcome.size} of ${jobs.length} dead letter(s) not processed within ${timeoutMs / 1000} s`);
      await sleep(200);
    }
    const failed = [...outcome.entries()].filter(([, o]) => o.state === 'failed');
    process.stdout.write(`replayed ${jobs.length} dead letter(s): ${jobs.length - failed.length} reached the output stream, ${failed.length} failed again and stay in the queue\n`);
    for (const [id, o] of failed) process.stdout.write(`  ${id}: ${o.reason}\n`);
    if (failed.length > 0) throw new FatalError(`${failed.length} dead letter(s) failed again (see above)`);
  } finally {
    await replayer.stop();
    await transform.close();
  }
}
