import { ConfigError } from '../shared/config/config-error';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger } from '../shared/logging';
import { DEFAULT_AGGREGATE_MAX_BYTES } from '../generator/aggregate-entries';
import { generateStocks } from '../generator/stock-generator';
import { isPartitionKeyMode, PARTITION_KEY_MODES, type PartitionKeyMode } from '../generator/stock-records';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError } from './lifecycle';

export interface GenerateOptions extends CommonOptions {
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

export async function runGenerate(opts: GenerateOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('generator', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const count = positive('--count', opts.count, Infinity);
  const rate = positive('--rate', opts.rate, 100);
  const partitionKeys = partitionKeyMode(opts.partitionKey);
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
    const result = await generateStocks(kinesis, {
      streamArn,
      count,
      rate,
      partitionKeys,
      aggregateMaxBytes: opts.aggregate ? DEFAULT_AGGREGATE_MAX_BYTES : undefined,
      signal: stop.signal,
      onProgress: progress,
      onRetry: (message) => log.debug(message),
    });
    if (tty) process.stderr.write('\n');
    const seconds = result.elapsedMs / 1000;
    const packed = opts.aggregate ? `, packed into ${result.kinesisRecords} KPL aggregated records` : '';
    process.stdout.write(
      `generated ${result.sent} stock records into ${streamArn} in ${seconds.toFixed(1)} s (${(result.sent / Math.max(seconds, 0.001)).toFixed(0)}/s)${packed}, ${result.retried} re-sent after throttling or errors\n`,
    );
  } catch (err) {
    throw new FatalError(`generator failed: ${describeError(err)}`);
  } finally {
    kinesis.destroy();
  }
}
