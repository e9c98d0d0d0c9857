/**
 * pino JSON logs; human-readable (pino-pretty) when stdout is a terminal. Secrets in configuration
 * never reach a log line: the redact paths cover every credential key we hold.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'secretAccessKey',
  'sessionToken',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.*.secretAccessKey',
  '*.*.*.secretAccessKey',
  'password',
  '*.password',
  'redisUrl',
  '*.redisUrl',
  'token',
  '*.token',
  'basic',
  '*.basic',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const pretty = process.stdout.isTTY && process.env.SHARDFLOW_LOG_FORMAT !== 'json';
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    transport: pretty ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } : undefined,
  });
}

/** Removes the password from a Redis URL before it is shown. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}
