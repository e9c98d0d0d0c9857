/**
 * `shardflow generate`: writes records to the input stream at `--rate`: stock records like the reference
 * `stock.py`, records of a Kinesis Data Generator template (`--template FILE`), or a captured JSON Lines
 * file replayed in order (`--from FILE [--loop]`). A template or file that cannot be used stops it at
 * start with exit code 2, before any record is sent.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConfigError } from '../shared/config/config-error';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger } from '../shared/logging';
import { DEFAULT_AGGREGATE_MAX_BYTES } from '../generator/aggregate-entries';
import { RecordLineError } from '../generator/record-lines';
import { writeRecords } from '../generator/record-writer';
import { dataPartitionKey, RecordKeyError, stockSource, templateSource, type RecordSource } from '../generator/record-sources';
import { checkReplayFile, replaySource, type ReplaySource } from '../generator/replay-file';
import { isPartitionKeyMode, PARTITION_KEY_MODES, type PartitionKeyMode } from '../generator/stock-records';
import { TemplateError } from '../generator/template/kdg-template';
import { loadTemplateFile } from '../generator/template/template-file';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError } from './lifecycle';

/** Where the records come from: `--template`, `--from` and `--loop` (shared with `shardflow local`). */
export interface SourceOptions {
  template?: string;
  from?: string;
  loop?: boolean;
}

export interface GenerateOptions extends CommonOptions, SourceOptions {
  count?: string;
  rate?: string;
  stream?: string;
  partitionKey?: string;
  /** Write KPL aggregated records. */
  aggregate?: boolean;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`Invalid argument: ${name}: value ${JSON.stringify(value)} is not allowed; allowed: a positive number`);
  return n;
}

/** --partition-key, checked here and by `shardflow local` before it starts its generator. */
export function partitionKeyMode(value: string | undefined): PartitionKeyMode {
  if (value === undefined) return 'random';
  if (!isPartitionKeyMode(value)) {
    throw new ConfigError(`Invalid argument: --partition-key: value ${JSON.stringify(value)} is not allowed; allowed: ${PARTITION_KEY_MODES.join(' | ')}`);
  }
  return value;
}

function existingFile(option: string, value: string, what: string): string {
  const file = resolve(value);
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`Invalid argument: ${option}: value ${JSON.stringify(value)} is not allowed; allowed: ${what} that exists (${file} does not)`);
  return file;
}

/** An opened source of records and how the summary names what it wrote. */
export interface OpenedSource {
  source: RecordSource;
  describe(sent: number): string;
}

/**
 * Checks --template, --from and --loop and opens the source they name: the template read, faker loaded
 * if it needs it, every call run once; the file checked from end to end. Every problem is a ConfigError.
 */
export async function openRecordSource(opts: SourceOptions, keys: PartitionKeyMode): Promise<OpenedSource> {
  if (opts.template !== undefined && opts.from !== undefined) {
    throw new ConfigError(
      `Invalid argument: --from: value ${JSON.stringify(opts.from)} is not allowed with --template ${JSON.stringify(opts.template)}; allowed: one source of records: --template FILE, --from FILE, or neither (stock records)`,
    );
  }
  if (opts.loop && opts.from === undefined) throw new ConfigError('Invalid argument: --loop: value true is not allowed without --from; allowed: --loop with --from FILE (replay the file over and over)');
  if (opts.template !== undefined) return openTemplate(opts.template, keys);
  if (opts.from !== undefined) return openReplay(opts.from, keys, opts.loop === true);
  return { source: stockSource(keys), describe: (sent) => `generated ${sent} stock records` };
}

async function openTemplate(value: string, keys: PartitionKeyMode): Promise<OpenedSource> {
  const file = existingFile('--template', value, 'a Kinesis Data Generator record template file');
  let render: () => string;
  try {
    render = (await loadTemplateFile(file)).render;
  } catch (err) {
    if (err instanceof TemplateError) throw new ConfigError(`Invalid argument: --template: ${JSON.stringify(value)} ${err.message}`);
    throw err;
  }
  try {
    dataPartitionKey(Buffer.from(render()), keys);
  } catch (err) {
    if (!(err instanceof RecordKeyError)) throw err;
    throw new ConfigError(`Invalid argument: --partition-key: value "ticker" is not allowed with --template ${JSON.stringify(value)}: its records are not JSON objects with a "ticker" field; allowed: random | constant`);
  }
  return { source: templateSource(render, keys), describe: (sent) => `generated ${sent} records from template ${basename(file)}` };
}

async function openReplay(value: string, keys: PartitionKeyMode, loop: boolean): Promise<OpenedSource> {
  const file = existingFile('--from', value, 'a JSON Lines file of records');
  let records: number;
  try {
    records = await checkReplayFile(file, keys);
  } catch (err) {
    if (err instanceof RecordLineError) throw new ConfigError(`Invalid argument: --from: ${JSON.stringify(value)}: ${err.message}`);
    throw err;
  }
  if (records === 0) throw new ConfigError(`Invalid argument: --from: value ${JSON.stringify(value)} is not allowed; allowed: a JSON Lines file with at least one record (it has none)`);
  const source: ReplaySource = replaySource(file, keys, loop);
  const times = (n: number) => (n === 1 ? 'once' : `${n} times`);
  return { source, describe: (sent) => `replayed ${sent} records from ${basename(file)} (${records} in the file, its end reached ${times(source.passes)})` };
}

export async function runGenerate(opts: GenerateOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('generator', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const count = positive('--count', opts.count, Infinity);
  const rate = positive('--rate', opts.rate, 100);
  const partitionKeys = partitionKeyMode(opts.partitionKey);
  const { source, describe } = await openRecordSource(opts, partitionKeys);
  const streamArn = opts.stream ?? config.input.stream.arn;
  const kinesis = KinesisGateway.fromConfig(config.input.client);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());

  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const started = Date.now();
  const progress = (sent: number) => {
    const now = Date.now();
    if (now - lastPrinted < (tty ? 250 : 5000)) return;
    lastPrinted = now;
    const perSecond = (sent / Math.max(1, now - started)) * 1000;
    const total = Number.isFinite(count) ? `/${count}` : '';
    const line = `generator: ${sent}${total} records sent to ${streamArn} (${perSecond.toFixed(0)}/s)`;
    process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
  };
  try {
    const result = await writeRecords(kinesis, source, {
      streamArn,
      count,
      rate,
      aggregateMaxBytes: opts.aggregate ? DEFAULT_AGGREGATE_MAX_BYTES : undefined,
      signal: stop.signal,
      onProgress: progress,
      onRetry: (message) => log.debug(message),
    });
    if (tty) process.stderr.write('\n');
    const seconds = result.elapsedMs / 1000;
    const packed = opts.aggregate ? `, packed into ${result.kinesisRecords} KPL aggregated records` : '';
    process.stdout.write(
      `${describe(result.sent)} into ${streamArn} in ${seconds.toFixed(1)} s (${(result.sent / Math.max(seconds, 0.001)).toFixed(0)}/s)${packed}, ${result.retried} re-sent after throttling or errors\n`,
    );
  } catch (err) {
    throw new FatalError(`generator failed: ${describeError(err)}`);
  } finally {
    kinesis.destroy();
  }
}
