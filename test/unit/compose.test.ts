/** No Docker engine runs here: the compose files are checked by parsing them, against the code. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildAppConfig, loadAppConfig, loadProperties } from '../../shared/config/properties';
import { resolveContext } from '../../cli/context';
import { opsAddress } from '../../cli/ops';
import { ConfigError } from '../../shared/config/config-error';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string> | string[];
  container_name?: string;
  ports?: string[];
  profiles?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
}

const root = join(__dirname, '..', '..');
const load = (file: string) => parse(readFileSync(join(root, file), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const compose = load('docker-compose.yml');
const aws = load('docker-compose.aws.yml');

/** Compose's two spellings of `environment`, as a map (a bare list entry passes the shell's value through). */
function envOf(service: Service): Record<string, string | undefined> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => (entry.includes('=') ? [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] : [entry, undefined])));
}

/** Every variable shardflow itself reads; `AWS_*` ones are read by the AWS SDK's default chain. */
const READ_BY_SHARDFLOW = [
  'APPLICATION_PROPERTIES_FILE', 'REDIS_URL', 'SHARDFLOW_APP', 'METRICS_HOST', 'METRICS_PORT',
  'SHARDFLOW_DASHBOARD_HOST', 'SHARDFLOW_DASHBOARD_USERNAME', 'SHARDFLOW_DASHBOARD_PASSWORD', 'SHARDFLOW_DASHBOARD_TOKEN',
];
const READ_BY_AWS_SDK = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

/** The source of the shipped code, to check that each variable above is really read there. */
function sourceText(): string {
  return ['cli', 'shared', 'worker', 'coordinator', 'generator']
    .flatMap((dir) => (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, dir, f), 'utf8')))
    .join('\n');
}

test('each variable the compose files may set is read by the code', () => {
  const source = sourceText();
  for (const name of READ_BY_SHARDFLOW) expect(source).toMatch(new RegExp(`env\\.${name}\\b|'${name}'`));
});

test('the fleet services are there, built from the Dockerfile', () => {
  expect(Object.keys(compose.services).sort()).toEqual(['coordinator', 'generator', 'kinesis', 'redis', 'worker']);
  for (const name of ['coordinator', 'worker', 'generator']) {
    expect(compose.services[name].build).toBe('.');
    expect(compose.services[name].command?.[0]).toBe(name === 'generator' ? 'generate' : name);
  }
  expect(compose.services.kinesis.profiles).toEqual(['local']);
  expect(compose.services.generator.profiles).toEqual(['generator']);
});

test('the local Kinesis runs from the shardflow image, which contains it: no service mounts the host\'s node_modules', () => {
  expect(compose.services.kinesis.image).toBe(compose.services.worker.image);
  expect(compose.services.kinesis.build).toBe('.');
  expect(compose.services.kinesis.entrypoint).toEqual(['node', 'node_modules/kinesis-local/main.js']);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  // In the image only when it is a production dependency (the runtime stage prunes dev ones).
  expect(pkg.dependencies['kinesis-local']).toBeDefined();
  for (const file of [compose, aws]) {
    for (const [name, service] of Object.entries(file.services)) {
      for (const volume of service.volumes ?? []) expect(`${name}: ${volume}`).not.toMatch(/node_modules/);
    }
  }
});

test('the Dockerfile and every Node service use a current LTS image (Node 24)', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  expect(froms).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  for (const service of Object.values(compose.services)) if (service.image?.startsWith('node:')) expect(service.image).toMatch(/^node:24-/);
});

test('workers can be scaled: no fixed container name and no host port', () => {
  expect(compose.services.worker.container_name).toBeUndefined();
  expect(compose.services.worker.ports).toBeUndefined();
});

test('the environment names are the ones the code reads, with the values it accepts', () => {
  for (const name of ['coordinator', 'worker', 'generator']) {
    for (const key of Object.keys(envOf(compose.services[name]))) expect(READ_BY_SHARDFLOW).toContain(key);
  }
  const env = envOf(compose.services.worker) as Record<string, string>;
  const ctx = resolveContext({}, { REDIS_URL: 'redis://redis:6379', SHARDFLOW_APP: 'compose', APPLICATION_PROPERTIES_FILE: '/x.json' });
  expect(env.REDIS_URL).toBe('${REDIS_URL:-redis://redis:6379}');
  expect(ctx.redisUrl).toBe('redis://redis:6379');
  expect(ctx.app).toBe('compose');
  expect(opsAddress({}, env)).toEqual({ host: '0.0.0.0', port: 9400 });
});

test('every shardflow service has a readiness health check on its metrics port (not the generator)', () => {
  for (const name of ['coordinator', 'worker']) {
    const check = compose.services[name].healthcheck!.test!.join(' ');
    expect(check).toContain(`http://127.0.0.1:${envOf(compose.services[name]).METRICS_PORT}/readyz`);
  }
  expect(compose.services.generator.healthcheck?.disable).toBe(true);
});

test('the coordinator publishes the dashboard on the host loopback, and opens it to the network only with credentials', () => {
  const coordinator = compose.services.coordinator;
  expect(coordinator.ports).toEqual(['127.0.0.1:${DASHBOARD_PORT:-3000}:3000']);
  const env = envOf(coordinator);
  expect(env.SHARDFLOW_DASHBOARD_HOST).toBe('0.0.0.0');
  // Compose itself refuses to start without a password, instead of a container exiting 2 in a restart loop.
  expect(env.SHARDFLOW_DASHBOARD_PASSWORD).toMatch(/^\$\{SHARDFLOW_DASHBOARD_PASSWORD:\?.+\}$/);
  const groups = loadProperties(join(root, 'config', 'application-properties-compose.json'));
  const opened = { SHARDFLOW_DASHBOARD_HOST: '0.0.0.0' };
  expect(() => buildAppConfig(groups, opened)).toThrow(ConfigError);
  const { config } = buildAppConfig(groups, { ...opened, SHARDFLOW_DASHBOARD_USERNAME: 'ops', SHARDFLOW_DASHBOARD_PASSWORD: 'secret' });
  expect(config.dashboard).toMatchObject({ host: '0.0.0.0', port: 3000, basic: { username: 'ops', password: 'secret' } });
  // Workers get none of that, so they keep the loopback default and no dashboard secret.
  expect(Object.keys(envOf(compose.services.worker)).filter((k) => k.startsWith('SHARDFLOW_DASHBOARD'))).toEqual([]);
});

test('the compose properties file is valid and points at the kinesis service', () => {
  const { config, warnings } = buildAppConfig(loadProperties(join(root, 'config', 'application-properties-compose.json')), {});
  expect(warnings).toEqual([]);
  expect(config.input.client.endpoint).toBe('http://kinesis:4567');
  expect(compose.services.kinesis.environment).toMatchObject({ KINESIS_MOCK_PLAIN_PORT: '4567' });
  const streams = (compose.services.kinesis.environment as Record<string, string>).INITIALIZE_STREAMS;
  expect(streams).toContain(config.input.stream.name);
  expect(streams).toContain(config.output.stream.name);
});

test('Redis keeps leases and checkpoints on disk', () => {
  expect(compose.services.redis.command).toContain('--appendonly');
});

describe('the real-AWS override', () => {
  it('overrides only shardflow services and starts no local Kinesis', () => {
    expect(Object.keys(aws.services).sort()).toEqual(['coordinator', 'generator', 'worker']);
  });

  it('mounts the properties file where APPLICATION_PROPERTIES_FILE points, and passes AWS credentials through', () => {
    for (const service of Object.values(aws.services)) {
      const env = envOf(service);
      for (const key of Object.keys(env)) expect([...READ_BY_SHARDFLOW, ...READ_BY_AWS_SDK]).toContain(key);
      for (const key of READ_BY_AWS_SDK) expect(env[key]).toBeUndefined();
      const mount = service.volumes!.find((v) => v.includes(env.APPLICATION_PROPERTIES_FILE!));
      expect(mount).toMatch(/^\$\{SHARDFLOW_PROPERTIES:\?.+\}:\/config\/application-properties\.json:ro$/);
    }
  });

  it('its example properties file is valid for real AWS: no endpoint, the default credential chain', () => {
    const { config, warnings } = loadAppConfig(join(root, 'config', 'application-properties-aws.example.json'));
    expect(warnings).toEqual([]);
    expect(config.input.client.endpoint).toBeUndefined();
    expect(config.output.client.endpoint).toBeUndefined();
  });
});
