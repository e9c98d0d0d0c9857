/** No Docker engine runs here: the compose file is checked by parsing it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadAppConfig } from '../../shared/config/properties';
import { resolveContext } from '../../cli/context';

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; container_name?: string; ports?: unknown[]; profiles?: string[] }>;
};

test('the fleet services are there, built from the Dockerfile', () => {
  expect(Object.keys(compose.services).sort()).toEqual(['coordinator', 'generator', 'kinesis', 'redis', 'worker']);
  for (const name of ['coordinator', 'worker', 'generator']) {
    expect(compose.services[name].build).toBe('.');
    expect(compose.services[name].command?.[0]).toBe(name === 'generator' ? 'generate' : name);
  }
  expect(compose.services.kinesis.profiles).toEqual(['local']);
  expect(compose.services.generator.profiles).toEqual(['generator']);
});

test('workers can be scaled: no fixed container name and no host port', () => {
  expect(compose.services.worker.container_name).toBeUndefined();
  expect(compose.services.worker.ports).toBeUndefined();
});

test('the environment names are the ones the code reads', () => {
  const env = compose.services.worker.environment!;
  expect(Object.keys(env).sort()).toEqual(['APPLICATION_PROPERTIES_FILE', 'REDIS_URL', 'SHARDFLOW_APP']);
  const ctx = resolveContext({}, { REDIS_URL: env.REDIS_URL, SHARDFLOW_APP: 'compose', APPLICATION_PROPERTIES_FILE: '/x.json' });
  expect(ctx.redisUrl).toBe('redis://redis:6379');
  expect(ctx.app).toBe('compose');
  expect(ctx.propertiesFile).toBe('/x.json');
});

test('the compose properties file is valid and points at the kinesis service', () => {
  const { config, warnings } = loadAppConfig(join(root, 'config', 'application-properties-compose.json'));
  expect(warnings).toEqual([]);
  expect(config.input.client.endpoint).toBe('http://kinesis:4567');
  expect(compose.services.kinesis.environment!.KINESIS_MOCK_PLAIN_PORT).toBe('4567');
  expect(compose.services.kinesis.environment!.INITIALIZE_STREAMS).toContain(config.input.stream.name);
  expect(compose.services.kinesis.environment!.INITIALIZE_STREAMS).toContain(config.output.stream.name);
});

test('Redis keeps leases and checkpoints on disk', () => {
  expect(compose.services.redis.command).toContain('--appendonly');
});
