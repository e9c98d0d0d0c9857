/**
 * Loads a transform module: an ES module (`.mjs`, or `.js` under `"type": "module"`; top-level `await`
 * allowed) or a CommonJS one (`.cjs`, `.js`), through Node's own `import()`. The function is the
 * `default` export or the `transform` export; CommonJS's `module.exports = fn`,
 * `module.exports = { transform }` and `exports.default = fn` are found through the `default` that
 * Node gives a CommonJS module. Every way a module can fail to load is a `TransformModuleError`
 * (exit 2, naming the file and the problem), before the process takes a lease.
 */
import { existsSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../shared/config/config-error';
import { errorLine } from './error-line';
import type { TransformContext, TransformFunction } from './module-api';

/**
 * Node's real `import()`. TypeScript compiles an `import()` in a CommonJS build to `require()`, which
 * cannot load an ES module with top-level `await`; a function made at run time keeps the real one.
 */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

export class TransformModuleError extends ConfigError {
  constructor(file: string, problem: string) {
    super(`Invalid transform module: property group "Transform", key "module": ${JSON.stringify(file)} ${problem}`);
  }
}

export interface LoadedModule {
  file: string;
  transform: TransformFunction;
  open?: (context: TransformContext) => unknown;
  close?: () => unknown;
}

function member(namespace: Record<string, unknown>, name: string): unknown {
  if (namespace[name] !== undefined) return namespace[name];
  // A CommonJS module's exports object is its namespace's `default`.
  const exported = namespace.default;
  return exported !== null && (typeof exported === 'object' || typeof exported === 'function') ? (exported as Record<string, unknown>)[name] : undefined;
}

function exportNames(namespace: Record<string, unknown>): string {
  const names = new Set(Object.keys(namespace));
  const exported = namespace.default;
  if (exported !== null && typeof exported === 'object') for (const key of Object.keys(exported)) names.add(key);
  names.delete('module.exports');
  return names.size === 0 ? 'nothing' : [...names].join(', ');
}

export async function loadTransformModule(file: string): Promise<LoadedModule> {
  if (!existsSync(file)) throw new TransformModuleError(file, 'cannot be loaded: no such file');
  if (statSync(file).isDirectory()) throw new TransformModuleError(file, 'cannot be loaded: it is a folder, not a module file');
  let namespace: Record<string, unknown>;
  try {
    namespace = await nativeImport(pathToFileURL(file).href);
  } catch (err) {
    throw new TransformModuleError(file, `cannot be loaded: ${errorLine(err)}`);
  }
  const exported = namespace.default;
  const candidate = typeof exported === 'function' ? exported : (member(namespace, 'transform') ?? (exported as Record<string, unknown> | undefined)?.default);
  if (typeof candidate !== 'function') {
    throw new TransformModuleError(file, `exports no transform function: export one as \`default\` or as \`transform\` (it exports ${exportNames(namespace)})`);
  }
  const loaded: LoadedModule = { file, transform: candidate as TransformFunction };
  for (const hook of ['open', 'close'] as const) {
    const fn = member(namespace, hook);
    if (fn === undefined) continue;
    if (typeof fn !== 'function') throw new TransformModuleError(file, `exports \`${hook}\` as ${typeof fn}, not a function`);
    loaded[hook] = fn as never;
  }
  return loaded;
}
