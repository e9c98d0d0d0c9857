import { createLogger, safeRedisUrl } from '../shared/logging';
import { workerId } from '../shared/identity';
import { LeaseWorker } from '../worker/lease-worker';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { exitOnStateLost, FatalError, onShutdownSignal } from './lifecycle';
import { AppStateGuard, readAppState, StateLostError } from '../shared/redis/app-state';
import type { InputStreamConfig } from '../shared/config/app-config';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { ConsumerNotReady, waitForActiveConsumer } from '../shared/aws/efo-consumer';
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { PeriodicCheck, type ReadinessCheck } from '../shared/ops-server';
import { selfManagedError } from '../coordinator/efo-consumer-lifecycle';
import { connectRedis } from './services';
import { startOps, type OpsOptions } from './ops';
import { InputWatcher } from '../shared/config/input-watcher';
import { inputProbe } from './input-probe';
import { openTransform } from '../worker/transform/transform-runtime';

export interface WorkerOptions extends CommonOptions, OpsOptions {
  /** Also run a coordinator in this process (see CoordinatorRole). */
  coordinate?: boolean;
}

export async function runWorker(opts: WorkerOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const id = workerId('worker');
  const log = createLogger('worker', { app: ctx.app, worker: id });
  const config = loadConfig(ctx, log);
  // A module that cannot be loaded or opened stops the process here (exit 2), before it takes a lease.
  const transform = await openTransform(config, { workerId: id, log });
  const redis = await connectRedis(ctx.redisUrl);
  // Refuse at once after a recorded loss; a missing marker only means no coordinator ran yet (the
  // lease balancer waits for it and checks the state with every heartbeat from then on).
  const verdict = new AppStateGuard(ctx.keys).observe(await readAppState(redis, ctx.keys));
  if (verdict.kind === 'lost') {
    redis.disconnect();
    throw new StateLostError(ctx.app, verdict.reason);
  }
  for (const input of config.inputs) {
    if (input.readerType === 'EFO' && input.efo.lifecycle === 'SELF_MANAGED') await requireSelfManagedConsumer(input);
  }
  const probe = inputProbe(config);
  // Each output is ready while its sink's last answers allow writing (unready from the first
  // non-retryable PutRecords error) and its stream exists; the worker is created after the metrics.
  // OutputStream0's checks keep their names (`output-stream`, `output-writes`); the others' carry their group.
  const started: { worker?: LeaseWorker } = {};
  const outputProbes = config.outputs.map((output) => KinesisGateway.fromConfig(output.client));
  const outputStreams = config.outputs.map((output, i) => new PeriodicCheck(checkName('output-stream', output.group), () => outputExists(outputProbes[i], output.stream.arn), 5000, 4000));
  const outputWrites: ReadinessCheck[] = config.outputs.map((output) => ({
    name: checkName('output-writes', output.group),
    ok: () => started.worker?.outputReadiness(output.group).ok ?? false,
    detail: () => started.worker?.outputReadiness(output.group).detail ?? 'not started yet',
  }));
  for (const check of outputStreams) check.start();
  const ops = await startOps(opts, { app: ctx.app, role: 'worker', process: id }, redis, () => probe.ping(), log, [...outputStreams, ...outputWrites]);
  ops.metrics.sinkCapacity.set(config.output.maxBufferedRecords);
  const worker = new LeaseWorker({
    config,
    keys: ctx.keys,
    connection: redis,
    redis,
    id,
    log,
    onShutdownRequested: () => stop('application shutdown requested'),
    onStateLost: exitOnStateLost(log),
    transform,
    onOutputFatal: (err, group) => {
      log.error({ output: group, err: err.message }, `sink.fail-on-error is true in ${group} and its output stream failed for good: stopping the worker (exit 1); unsent records stay unacknowledged for the next owner`);
      stop('sink.fail-on-error', 1);
    },
  });
  started.worker = worker;
  // With --coordinate, the coordinator's part runs here too, with its own id and log lines, so it leads or
  // stands by like any coordinator; it stops after the worker has handed its leases over.
  const coordinator = opts.coordinate ? await coordinatorRole() : undefined;
  async function coordinatorRole() {
    const coordinatorId = workerId('coordinator');
    const coordinatorLog = createLogger('coordinator', { app: ctx.app, coordinator: coordinatorId });
    const { CoordinatorRole } = await import('./coordinator-role');
    return new CoordinatorRole({ config, keys: ctx.keys, redis, redisUrl: ctx.redisUrl, id: coordinatorId, log: coordinatorLog, transform, onShutdownRequested: () => stop('application shutdown requested'), onStateLost: exitOnStateLost(coordinatorLog) });
  }
  // The list of input streams is re-read every discovery interval: the worker and its coordinator follow it.
  const watcher = new InputWatcher({
    file: ctx.propertiesFile,
    initial: config,
    onInputs: (inputs) => {
      worker.updateInputs(inputs);
      coordinator?.updateInputs(inputs);
    },
    log,
  });
  const stop = onShutdownSignal(async (reason) => {
    log.info({ reason }, 'worker stopping');
    watcher.stop();
    await worker.stop();
    await coordinator?.stop();
    // After the last flush of the worker and of the coordinator's replayer.
    await transform.close();
    for (const check of outputStreams) check.stop();
    await ops.stop();
    probe.destroy();
    for (const gateway of outputProbes) gateway.destroy();
    // Everything is handed over by now: a QUIT that cannot be delivered (Redis failing over) is no failed stop.
    await redis.quit().catch(() => redis.disconnect());
    log.info('worker stopped cleanly');
  }, () => worker.hurry());
  // The coordinator first: at the application's first start it creates the state the worker waits for.
  await coordinator?.start();
  await worker.start();
  watcher.start();
  log.info({ inputs: config.inputs.map((i) => `${i.group}=${i.stream.arn}`).join(' '), outputs: config.outputs.map((o) => `${o.group}=${o.stream.arn}`).join(' '), transform: transform.preparer.name, redis: safeRedisUrl(ctx.redisUrl) }, 'worker running');
}

/** A readiness check's name: OutputStream0's plain (as before several outputs), the others' with their group. */
function checkName(check: string, group: string): string {
  return group === 'OutputStream0' ? check : `${check}:${group}`;
}

/**
 * The output stream exists. Only a missing stream fails the probe: a role allowed to PutRecords but not
 * to ListShards (a common least-privilege policy) cannot tell, and the sink's own answers decide then.
 */
async function outputExists(gateway: KinesisGateway, streamArn: string): Promise<void> {
  try {
    await gateway.ping(streamArn);
  } catch (err) {
    if (classifyKinesisError(err) === 'not-found') throw err;
  }
}

/** SELF_MANAGED: the named consumer must exist and be ACTIVE, else exit 2. */
async function requireSelfManagedConsumer(input: InputStreamConfig): Promise<void> {
  const kinesis = KinesisGateway.fromConfig(input.client);
  try {
    await waitForActiveConsumer(kinesis, input.stream.arn, input.efo, { mustExist: true });
  } catch (err) {
    if (err instanceof ConsumerNotReady) throw selfManagedError(err, input.efo.consumerName!, input.group);
    throw new FatalError(`cannot check the EFO consumer: ${describeError(err)}`);
  } finally {
    kinesis.destroy();
  }
}
