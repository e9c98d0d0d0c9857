/**
 * pino JSON logs; human-readable (pino-pretty) when stdout is a terminal. Secrets in configuration
 * never reach a log line: the redact paths cover every credential key we hold.
 */
import pino, { type Logger } from 'pino';
import { redactRedisUrl } from './redis/redis-url';

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
  // ioredis puts the failed command on its errors: AUTH and HELLO ... AUTH carry the password, so an
  // error logged whole (not only its message, as shardflow does) must not print the arguments.
  'command.args',
  '*.command.args',
];

let nodeNoticeGiven = false;

/**
 * Node 20 reached end of life on 2026-04-30, and AWS SDK releases after the first week of January 2027
 * need Node 22. That is worth saying, once per process, as one log line like any other: the SDK's own
 * multi-line warning is filtered (bin/shardflow.js), and this line replaces it.
 */
export function nodeEndOfLifeNotice(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= 22) return undefined;
  return `Node ${version} is past its end of life (Node 20 ended on 2026-04-30), and AWS SDK releases after the first week of January 2027 need Node 22 or later; shardflow is tested on Node 20, 22 and 24: move to 22 or 24`;
}

/** `to`: where the lines go; a command whose output is on stdout (`shardflow transform`) logs to stderr. */
export function createLogger(name: string, bindings: Record<string, unknown> = {}, to: 1 | 2 = 1): Logger {
  const pretty = (to === 1 ? process.stdout : process.stderr).isTTY && process.env.SHARDFLOW_LOG_FORMAT !== 'json';
  const options = {
    name,
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const logger = pretty
    ? pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', destination: to } } })
    : to === 1
      ? pino(options)
      : pino(options, pino.destination({ dest: 2, sync: true }));
  const notice = nodeNoticeGiven ? undefined : nodeEndOfLifeNotice();
  if (notice) {
    nodeNoticeGiven = true;
    logger.warn({ node: process.version }, notice);
  }
  return logger;
}

/**
 * Removes the passwords from a Redis URL (plain, Sentinel or Cluster; user info and `password` /
 * `sentinelPassword` parameters) before it is shown: every Redis URL in a log line or message goes through here.
 */
export function safeRedisUrl(url: string): string {
  return redactRedisUrl(url);
}
