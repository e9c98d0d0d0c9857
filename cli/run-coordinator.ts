import { createLogger } from '../shared/logging';
import { workerId } from '../shared/identity';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { exitOnStateLost, onShutdownSignal } from './lifecycle';
import { connectRedis } from './services';
import { startOps, type OpsOptions } from './ops';
import { CoordinatorRole } from './coordinator-role';
import { inputProbe } from './input-probe';
import { openTransform } from '../worker/transform/transform-runtime';
import { InputWatcher } from '../shared/config/input-watcher';

export async function runCoordinator(opts: CommonOptions & OpsOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const id = workerId('coordinator');
  const log = createLogger('coordinator', { app: ctx.app, coordinator: id });
  const config = loadConfig(ctx, log);
  // Its dead-letter replayer runs letters through the transform: a module that cannot load is exit 2 here too.
  const transform = await openTransform(config, { workerId: id, log });
  const redis = await connectRedis(ctx.redisUrl);
  const probe = inputProbe(config);
  const ops = await startOps(opts, { app: ctx.app, role: 'coordinator', process: id }, redis, () => probe.ping(), log);
  const role = new CoordinatorRole({ config, keys: ctx.keys, redis, redisUrl: ctx.redisUrl, id, log, transform, onShutdownRequested: () => stop('application shutdown requested'), onStateLost: exitOnStateLost(log) });
  const watcher = new InputWatcher({ file: ctx.propertiesFile, initial: config, onInputs: (inputs) => role.updateInputs(inputs), log });
  const stop = onShutdownSignal(async (reason) => {
    log.info({ reason }, 'coordinator stopping');
    watcher.stop();
    await role.stop();
    await transform.close();
    await ops.stop();
    probe.destroy();
    // Everything is handed over by now: a QUIT that cannot be delivered (Redis failing over) is no failed stop.
    await redis.quit().catch(() => redis.disconnect());
  });
  await role.start();
  watcher.start();
}
