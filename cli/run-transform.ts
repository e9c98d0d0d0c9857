/**
 * `shardflow transform [--module ./my.mjs] [--input records.jsonl] [--json]`: runs a transform over
 * sample records and prints what becomes of each (its outputs with their groups and keys, filtered out,
 * or its dead-letter reason), exactly as a worker would prepare them: the same loading (exit 2 for a
 * module that cannot load), `open`/`close`, shape checks, routing, keys, validation and timeout. No
 * Redis, no Kinesis. The properties file is read only when given (`--properties` or
 * `APPLICATION_PROPERTIES_FILE`), for its output groups, keys and Transform settings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../shared/config/config-error';
import { buildAppConfig, loadAppConfig } from '../shared/config/properties';
import type { AppConfig } from '../shared/config/app-config';
import { workerId } from '../shared/identity';
import { createLogger } from '../shared/logging';
import type { SourceRecord } from '../shared/records';
import { openTransform } from '../worker/transform/transform-runtime';
import { formatReport, reportOf } from './transform/outcome-report';
import { parseSampleLines, sampleStockRecords, SampleInputError } from './transform/sample-records';

export interface TransformOptions {
  module?: string;
  input?: string;
  json?: boolean;
  count?: string;
  properties?: string;
}

/** Stand-in streams when no properties file is given: the transform never calls them. */
const SAMPLE_GROUPS = new Map([
  ['InputStream0', { 'stream.arn': 'arn:aws:kinesis:us-east-1:123456789012:stream/sample-input' }],
  ['OutputStream0', { 'stream.arn': 'arn:aws:kinesis:us-east-1:123456789012:stream/sample-output' }],
]);

function configOf(opts: TransformOptions): AppConfig {
  const file = opts.properties ?? process.env.APPLICATION_PROPERTIES_FILE;
  const config = file === undefined ? buildAppConfig(SAMPLE_GROUPS).config : loadAppConfig(file).config;
  // A module named on the command line is relative to where the command runs.
  return opts.module === undefined ? config : { ...config, transform: { ...config.transform, module: opts.module.startsWith('builtin:') ? opts.module : resolve(opts.module) } };
}

function recordsOf(opts: TransformOptions): SourceRecord[] {
  if (opts.input === undefined) {
    const count = opts.count === undefined ? 10 : Number(opts.count);
    if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw new ConfigError(`Invalid argument: --count: value ${JSON.stringify(opts.count)} is not allowed; allowed: an integer from 1 to 1000000`);
    return sampleStockRecords(count);
  }
  if (opts.input !== '-' && !existsSync(opts.input)) throw new ConfigError(`Invalid argument: --input: value ${JSON.stringify(opts.input)} is not allowed; allowed: a JSON Lines file that exists, or - for standard input`);
  try {
    return parseSampleLines(readFileSync(opts.input === '-' ? 0 : opts.input, 'utf8'));
  } catch (err) {
    if (err instanceof SampleInputError) throw new ConfigError(`Invalid argument: --input: ${JSON.stringify(opts.input)}: ${err.message}`);
    throw err;
  }
}

export async function runTransform(opts: TransformOptions): Promise<void> {
  const config = configOf(opts);
  const records = recordsOf(opts);
  const log = createLogger('transform', {}, 2);
  const transform = await openTransform(config, { workerId: workerId('transform'), log });
  const groups = config.outputs.map((o) => o.group);
  const counts = { written: 0, outputs: 0, filtered: 0, deadLettered: 0 };
  try {
    for (let i = 0; i < records.length; i++) {
      const report = reportOf(i + 1, records[i], await transform.preparer.prepare(records[i]), groups);
      if (report.outcome === 'written') counts.written += 1;
      else if (report.outcome === 'filtered') counts.filtered += 1;
      else counts.deadLettered += 1;
      counts.outputs += report.outputs.length;
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    }
  } finally {
    await transform.close();
  }
  const summary = `${records.length} record(s) through ${transform.preparer.name}: ${counts.written} written as ${counts.outputs} output record(s), ${counts.filtered} filtered out, ${counts.deadLettered} dead-lettered\n`;
  if (opts.json) process.stderr.write(summary);
  else process.stdout.write(summary);
}
