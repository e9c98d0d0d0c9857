import { ConfigError } from '../shared/config/config-error';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { createLogger } from '../shared/logging';
import { generateStocks } from '../generator/stock-generator';
import type { PartitionKeyMode } from '../generator/stock-records';
import { loadConfig, resolveContext, type CommonOptions } from './context';
import { FatalError } from './lifecycle';

export interface GenerateOptions extends CommonOptions {
  count?: string;
  rate?: string;
  stream?: string;
  partitionKey?: string;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`Invalid argument: ${name}: value ${JSON.stringify(value)} is not allowed; allowed: a positive number`);
  return n;
}

export async function runGenerate(opts: GenerateOptions): Promise<void> {
  const ctx = resolveContext(opts);
  const log = createLogger('generator', { app: ctx.app });
  const config = loadConfig(ctx, log);
  const count = positive('--count', opts.count, Infinity);
  const rate = positive('--rate', opts.rate, 100);
  const partitionKeys = (opts.partitionKey ?? 'random') as PartitionKeyMode;
  if (partitionKeys !== 'random' && partitionKeys !== 'ticker') {
    throw new ConfigError(`Invalid argument: --partition-key: value ${JSON.stringify(opts.partitionKey)} is not allowed; allowed: random | ticker`);
  }
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
      signal: stop.signal,
      onProgress: progress,
      onRetry: (message) => log.debug(message),
    });
    if (tty) process.stderr.write('\n');
    const seconds = result.elapsedMs / 1000;
    process.stdout.write(
      `generated ${result.sent} stock records into ${streamArn} in ${seconds.toFixed(1)} s (${(result.sent / Math.max(seconds, 0.001)).toFixed(0)}/s), ${result.retried} re-sent after throttling or errors\n`,
    );
  } catch (err) {
    throw new FatalError(`generator failed: ${describeError(err)}`);
  } finally {
    kinesis.destroy();
  }
}
