/**
 * The common command-line contract: `--properties`, `--redis` and `--app`, each with its
 * environment variable and default, resolved and validated in one place.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../shared/config/config-error';
import { loadAppConfig } from '../shared/config/properties';
import type { AppConfig } from '../shared/config/app-config';
import { AppKeys } from '../shared/redis/keys';
import { parseRedisUrl, redactRedisUrl, REDIS_URL_FORMS, RedisUrlError, type RedisTarget } from '../shared/redis/redis-url';
import type { Logger } from '../shared/logging';
import { DEFAULT_APP, DEFAULT_PROPERTIES, DEFAULT_REDIS } from './defaults';

export interface CommonOptions {
  properties?: string;
  redis?: string;
  app?: string;
}

export interface Context {
  propertiesFile: string;
  redisUrl: string;
  app: string;
  keys: AppKeys;
}

/**
 * The default properties file: `config/application-properties-dev.json` of the working directory (a
 * clone), else the one the package ships (installed with npm, run by `npx shardflow local` in any folder).
 */
export function defaultProperties(cwd = process.cwd()): string {
  const own = resolve(cwd, DEFAULT_PROPERTIES);
  const packaged = join(__dirname, '..', '..', DEFAULT_PROPERTIES);
  return existsSync(own) || !existsSync(packaged) ? own : packaged;
}

export function resolveContext(opts: CommonOptions, env: NodeJS.ProcessEnv = process.env): Context {
  const propertiesFile = resolve(opts.properties ?? env.APPLICATION_PROPERTIES_FILE ?? defaultProperties());
  const redisUrl = opts.redis ?? env.REDIS_URL ?? DEFAULT_REDIS;
  let target: RedisTarget;
  try {
    target = parseRedisUrl(redisUrl);
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    throw new ConfigError(`Invalid argument: --redis (or REDIS_URL): value ${JSON.stringify(redactRedisUrl(redisUrl))} is not allowed (${err.message}); allowed: ${REDIS_URL_FORMS}`);
  }
  const app = opts.app ?? env.SHARDFLOW_APP ?? DEFAULT_APP;
  let keys: AppKeys;
  try {
    keys = new AppKeys(app, { cluster: target.kind === 'cluster' });
  } catch (err) {
    throw new ConfigError(`Invalid argument: --app (or SHARDFLOW_APP): ${(err as Error).message}`);
  }
  return { propertiesFile, redisUrl, app, keys };
}

/** Loads the properties file and logs each unknown key once. */
export function loadConfig(ctx: Context, log: Logger): AppConfig {
  const { config, warnings } = loadAppConfig(ctx.propertiesFile);
  for (const warning of warnings) log.warn(warning);
  return config;
}
