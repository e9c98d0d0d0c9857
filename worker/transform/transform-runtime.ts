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

/** The input stream a preparer is for: its identity (a module's records name it) and its default output group. */
export interface PreparerStream {
  arn: string;
  name: string;
  /** The output group its records go to unless a module names another (`InputStream<n>.output`). */
  output?: string;
}

export interface TransformRuntime {
  /** The preparer of the first input stream's records. */
  readonly preparer: OutputPreparer;
  /** The preparer of one input stream's records (made once per stream and kept). */
  preparerFor(stream: PreparerStream): OutputPreparer;
  /** Calls the module's `close` once (a throw there is logged, not thrown). */
  close(): Promise<void>;
}

export interface TransformRuntimeDeps {
  /** The process's id, for the module's context. */
  workerId: string;
  log: Logger;
}

/** One preparer per stream ARN and default output, made on first use. */
function perStream(make: (stream: PreparerStream) => OutputPreparer): (stream: PreparerStream) => OutputPreparer {
  const made = new Map<string, OutputPreparer>();
  return (stream) => {
    const key = `${stream.arn}\n${stream.output ?? ''}`;
    let preparer = made.get(key);
    if (!preparer) made.set(key, (preparer = make(stream)));
    return preparer;
  };
}

export async function openTransform(config: Pick<AppConfig, 'transform' | 'input' | 'outputs' | 'properties'>, deps: TransformRuntimeDeps): Promise<TransformRuntime> {
  const routesFor = (stream: PreparerStream) => OutputRoutes.of(config.outputs, stream.output);
  const first = { arn: config.input.stream.arn, name: config.input.stream.name, output: config.input.output };
  const spec = config.transform.module;
  if (spec.startsWith('builtin:')) {
    const transform = builtinTransform(spec.slice('builtin:'.length) as BuiltinName);
    const preparerFor = perStream((stream) => new BuiltinPreparer(transform, routesFor(stream).fallback));
    return { preparer: preparerFor(first), preparerFor, close: async () => {} };
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
  const preparerFor = perStream((stream) => new ModulePreparer({ name: spec, fn: loaded.transform, routes: routesFor(stream), stream, timeoutMs: config.transform.timeoutMs }));
  let closed = false;
  return {
    preparer: preparerFor(first),
    preparerFor,
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
