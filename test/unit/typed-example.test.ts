/**
 * examples/transforms/typed compiles, with the project's own TypeScript and the example's own
 * tsconfig.json, against shardflow's shipped types: `import type … from 'shardflow'` resolves through
 * package.json's `exports` (its `types` condition) to dist/types/module-api.d.ts, as it would for a
 * user who installed the package. And the types constrain: a copy whose transform answers a number
 * does not compile.
 *
 * Two programs through the TypeScript API: the example as `tsc -p` would build it (emitting into its
 * dist/), then the broken copy, held in memory and checked alone, reusing the first program's files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const exampleDir = join(root, 'examples', 'transforms', 'typed');
const source = join(exampleDir, 'price-in-cents.ts');
const shippedTypes = join(root, 'dist', 'types', 'module-api.d.ts');

function describeDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' });
}

function parsedConfig(): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(exampleDir, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(describeDiagnostics([d]));
    },
  });
  if (!parsed) throw new Error('examples/transforms/typed/tsconfig.json could not be read');
  expect(describeDiagnostics(parsed.errors)).toBe('');
  return parsed;
}

let config: ts.ParsedCommandLine;
let host: ts.CompilerHost;
let program: ts.Program;

beforeAll(() => {
  // The types are what `npm run build` makes (tsconfig.types.json); a test run without that build makes them here.
  if (!existsSync(shippedTypes)) {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.types.json')], { cwd: root, stdio: 'pipe' });
  }
  config = parsedConfig();
  host = ts.createCompilerHost(config.options);
  program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, projectReferences: config.projectReferences });
});

test('the example compiles into its dist/ without a single error', () => {
  expect(config.fileNames).toEqual([source]);
  const emitted = program.emit();
  expect(describeDiagnostics([...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics])).toBe('');
  expect(emitted.emitSkipped).toBe(false);

  const output = join(exampleDir, 'dist', 'price-in-cents.js');
  const js = readFileSync(output, 'utf8');
  // CommonJS, as its folder's package.json scope (no "type") makes it; the type-only import is gone.
  expect(js).toContain('exports.default = transform;');
  expect(js).not.toContain('shardflow');
});

test("'shardflow' resolves through package.json exports to the shipped types in dist/types", () => {
  const resolved = ts.resolveModuleName('shardflow', source, config.options, host).resolvedModule;
  expect(resolved?.resolvedFileName).toBe(shippedTypes);
  expect(resolved?.packageId?.name).toBe('shardflow');
  // The example's program really read those types, not some other declaration of the names.
  expect(program.getSourceFile(shippedTypes)).toBeDefined();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { types: string; exports: { '.': { types: string } } };
  expect(join(root, pkg.exports['.'].types)).toBe(shippedTypes);
  expect(join(root, pkg.types)).toBe(shippedTypes);
});

test('the types constrain: a transform that answers a number is a compile error', () => {
  const original = readFileSync(source, 'utf8');
  const returnLine = /^\s*return \{ data: .*$/m;
  expect(original).toMatch(returnLine);
  const broken = original.replace(returnLine, '  return Math.round(trade.price * 100);');
  // A copy beside the original (so 'shardflow' resolves from the same place), only in memory.
  const copy = join(exampleDir, 'price-in-cents-broken.ts');
  const brokenHost: ts.CompilerHost = {
    ...host,
    fileExists: (f) => f === copy || host.fileExists(f),
    readFile: (f) => (f === copy ? broken : host.readFile(f)),
    getSourceFile: (f, language, onError, fresh) => (f === copy ? ts.createSourceFile(f, broken, language) : host.getSourceFile(f, language, onError, fresh)),
  };
  const brokenProgram = ts.createProgram({ rootNames: [copy], options: { ...config.options, noEmit: true }, host: brokenHost, oldProgram: program });
  const file = brokenProgram.getSourceFile(copy)!;
  const diagnostics = [...brokenProgram.getSyntacticDiagnostics(file), ...brokenProgram.getSemanticDiagnostics(file)];
  const text = describeDiagnostics(diagnostics);
  expect(diagnostics.map((d) => d.code)).toEqual([2322]);
  expect(text).toContain("Type 'number' is not assignable to type 'TransformResult'");
  expect(text).toContain('price-in-cents-broken.ts');
});
