/**
 * The transform a process runs, from the configuration: a built-in, or a module loaded and opened
 * (`open(context)` once, before the first record) and closed once at a graceful stop. The worker, the
 * coordinator's dead-letter replayer and `shardflow dlq replay` each make one.
 */
import type { AppConfig } from '../../shared/config/app-config';
import type { Logger } from '../../shared/logging';
import { errorLine } from './error-line';
import { loadTransformModule, TransformModuleError } from './module-loader';
import { ModulePreparer } from './module-preparer';
import { OutputRoutes } from './output-routes';
import { BuiltinPreparer } from './prepare-output';
import { builtinTransform, type BuiltinName, type OutputPreparer } from './transform';

export interface TransformRuntime {
  readonly preparer: OutputPreparer;
  /** Calls the module's `close` once (a throw there is logged, not thrown). */
  close(): Promise<void>;
}

export interface TransformRuntimeDeps {
  /** The process's id, for the module's context. */
  workerId: string;
  log: Logger;
}

export async function openTransform(config: Pick<AppConfig, 'transform' | 'input' | 'outputs' | 'properties'>, deps: TransformRuntimeDeps): Promise<TransformRuntime> {
  // The input's default output is OutputStream0 (the first) until inputs name their own.
  const routes = OutputRoutes.of(config.outputs);
  const spec = config.transform.module;
  if (spec.startsWith('builtin:')) {
    return { preparer: new BuiltinPreparer(builtinTransform(spec.slice('builtin:'.length) as BuiltinName), routes.fallback), close: async () => {} };
  }
  const loaded = await loadTransformModule(spec);
  const log = deps.log.child({ component: 'transform', module: spec });
  if (loaded.open) {
    try {
      await loaded.open({ workerId: deps.workerId, log, properties: config.properties });
    } catch (err) {
      throw new TransformModuleError(spec, `could not open: its open() failed: ${errorLine(err)}`);
    }
  }
  const preparer = new ModulePreparer({ name: spec, fn: loaded.transform, routes, stream: config.input.stream, timeoutMs: config.transform.timeoutMs });
  let closed = false;
  return {
    preparer,
    async close() {
      if (closed || !loaded.close) return;
      closed = true;
      try {
        await loaded.close();
      } catch (err) {
        deps.log.warn({ module: spec, err: errorLine(err) }, 'the transform module\'s close() failed');
      }
    },
  };
}
