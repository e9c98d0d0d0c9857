/** The dashboard's request guard (Host, Origin, the route allow-list) and `Dashboard.allowed-hosts`, without a server. */
import { appRoutes } from '@bull-board/api/dist/routes';
import express from 'express';
import { acceptedHosts, checkHost, checkOrigin, checkRoute, hostOf, type GuardRequest } from '../../coordinator/dashboard-guard';
import { ConfigError } from '../../shared/config/config-error';
import { DASHBOARD_ALLOWED_HOSTS } from '../../shared/config/options';
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import { DEAD_LETTER_QUEUE, LEASE_QUEUE } from '../../shared/redis/keys';

const DEFAULT_HOSTS = DASHBOARD_ALLOWED_HOSTS.defaultValue!;
const JOB = 'shardId-000000000000-49650000000000000000000000000000000000000000000000000002';

function request(method: string, path: string, headers: GuardRequest['headers'] = {}): GuardRequest {
  return { method, path, headers: { host: '127.0.0.1:3000', ...headers } };
}

describe('Host (421)', () => {
  const accepted = acceptedHosts(DEFAULT_HOSTS, '127.0.0.1');

  test('takes the host part of a Host header, any port, lower case; nothing from a malformed one', () => {
    expect(hostOf('127.0.0.1:3000')).toBe('127.0.0.1');
    expect(hostOf('LocalHost')).toBe('localhost');
    expect(hostOf('[::1]:3000')).toBe('[::1]');
    expect(hostOf('evil.example:3000')).toBe('evil.example');
    expect(hostOf('::1')).toBeUndefined();
    expect(hostOf('localhost:3000:1')).toBeUndefined();
    expect(hostOf('localhost:x')).toBeUndefined();
    expect(hostOf('')).toBeUndefined();
    expect(hostOf(undefined)).toBeUndefined();
  });

  test('answers under the default names on any port, and refuses any other name with 421', () => {
    for (const host of ['127.0.0.1:3000', '127.0.0.1', 'localhost:8080', 'LOCALHOST:3000', '[::1]:3000']) {
      expect(checkHost(request('GET', '/', { host }), accepted)).toBeUndefined();
    }
    for (const host of ['evil.example:3000', 'evil.example', '127.0.0.1.evil.example:3000', 'localhost.evil.example', '127.0.0.2:3000', 'localhost@evil.example', '']) {
      const refusal = checkHost(request('GET', '/', { host }), accepted);
      expect(refusal?.status).toBe(421);
      expect(refusal?.message).toContain('Dashboard.allowed-hosts');
    }
    expect(checkHost({ method: 'GET', path: '/', headers: {} }, accepted)?.status).toBe(421);
  });

  test('also answers to the address it is bound to, unless that is a wildcard', () => {
    expect([...acceptedHosts(['dash.example.com'], '10.0.0.5')]).toEqual(['dash.example.com', '10.0.0.5']);
    expect([...acceptedHosts(['dash.example.com'], '0.0.0.0')]).toEqual(['dash.example.com']);
    expect([...acceptedHosts(['dash.example.com'], '::')]).toEqual(['dash.example.com']);
    expect([...acceptedHosts([], '::1')]).toEqual(['[::1]']);
    expect(checkHost(request('GET', '/', { host: '10.0.0.5:3000' }), acceptedHosts(['dash.example.com'], '10.0.0.5'))).toBeUndefined();
    expect(checkHost(request('GET', '/', { host: '0.0.0.0:3000' }), acceptedHosts(['dash.example.com'], '0.0.0.0'))?.status).toBe(421);
  });
});

describe('Origin (403 for mutating requests of another origin)', () => {
  const put = (headers: GuardRequest['headers']) => checkOrigin(request('PUT', `/api/queues/${DEAD_LETTER_QUEUE}/${JOB}/retry`, headers));

  test('a page of the dashboard itself, or a client without Origin, may change things', () => {
    expect(put({ origin: 'http://127.0.0.1:3000' })).toBeUndefined();
    expect(put({ origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-origin' })).toBeUndefined();
    expect(put({})).toBeUndefined();
  });

  test('another origin, port, scheme or an opaque origin may not', () => {
    for (const origin of ['http://evil.example', 'http://127.0.0.1:3001', 'https://127.0.0.1:3000', 'http://localhost:3000', 'null']) {
      expect(put({ origin })?.status).toBe(403);
    }
  });

  test('Sec-Fetch-Site cross-site or same-site is refused even without an Origin', () => {
    expect(put({ 'sec-fetch-site': 'cross-site' })?.status).toBe(403);
    expect(put({ 'sec-fetch-site': 'same-site' })?.status).toBe(403);
    expect(put({ origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'cross-site' })?.status).toBe(403);
  });

  test('behind a TLS proxy the origin is https with the forwarded Host (default port dropped)', () => {
    const viaProxy = { host: 'dash.example.com', 'x-forwarded-proto': 'https' };
    expect(put({ ...viaProxy, origin: 'https://dash.example.com' })).toBeUndefined();
    expect(put({ host: 'dash.example.com:443', 'x-forwarded-proto': 'https', origin: 'https://dash.example.com' })).toBeUndefined();
    expect(put({ ...viaProxy, origin: 'http://dash.example.com' })?.status).toBe(403);
    expect(put({ host: 'dash.example.com', origin: 'https://dash.example.com' })?.status).toBe(403);
    expect(put({ host: 'dash.example.com', 'x-forwarded-proto': 'javascript', origin: 'null' })?.status).toBe(403);
    const overTls = { ...request('PUT', `/api/queues/${DEAD_LETTER_QUEUE}/${JOB}/retry`, { origin: 'https://127.0.0.1:3000' }), encrypted: true };
    expect(checkOrigin(overTls)).toBeUndefined();
  });

  test('reading is not checked: GET and HEAD pass with any Origin', () => {
    expect(checkOrigin(request('GET', '/api/queues', { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }))).toBeUndefined();
    expect(checkOrigin(request('HEAD', '/', { origin: 'http://evil.example' }))).toBeUndefined();
  });
});

/** Bull Board's route with its parameters filled in. */
function pathOf(route: string, params: Record<string, string>): string {
  return route.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
}

const ONE_JOB_ROUTES = ['put /api/queues/:queueName/:jobId/retry', 'put /api/queues/:queueName/:jobId/clean'];
/** Bull Board's API routes, one per method and path. */
const API_ROUTES = appRoutes.api.flatMap((r) => [r.method].flat().flatMap((method) => [r.route].flat().map((route) => ({ method: method as string, route }))));
const MUTATING = API_ROUTES.filter((r) => r.method !== 'get');
const MUTATING_ROUTES = MUTATING.map((r) => `${r.method} ${r.route}`);

describe('the route allow-list (403 for everything but retrying or removing one dead letter)', () => {
  test('the installed Bull Board has the mutating routes this guard was written against', () => {
    expect(MUTATING_ROUTES.sort()).toEqual(
      [
        'put /api/queues/pause', 'put /api/queues/resume', 'post /api/queues/:queueName/add', 'put /api/queues/:queueName/retry/:queueStatus',
        'put /api/queues/:queueName/promote', 'put /api/queues/:queueName/clean/:queueStatus', 'put /api/queues/:queueName/pause',
        'put /api/queues/:queueName/resume', 'put /api/queues/:queueName/concurrency', 'put /api/queues/:queueName/rate-limit',
        'put /api/queues/:queueName/rate-limit/release', 'put /api/queues/:queueName/empty', 'put /api/queues/:queueName/obliterate',
        'put /api/queues/:queueName/job-schedulers/:schedulerId/remove', 'patch /api/queues/:queueName/job-schedulers/:schedulerId',
        'put /api/queues/:queueName/job-schedulers/:schedulerId/run', 'put /api/queues/:queueName/:jobId/retry', 'put /api/queues/:queueName/:jobId/clean',
        'put /api/queues/:queueName/:jobId/promote', 'patch /api/queues/:queueName/:jobId/update-data', 'patch /api/queues/:queueName/:jobId/delay',
        'patch /api/queues/:queueName/:jobId/priority', 'put /api/queues/:queueName/:jobId/remove-unprocessed-children',
      ].sort(),
    );
  });

  test.each(['', '/dash'])('every mutating route of Bull Board is refused but the two one-job routes on the dead-letter queue (board path %j)', (base) => {
    for (const route of [...MUTATING, { method: 'post', route: '/api/metrics/history/purge' }]) {
      for (const queueName of [DEAD_LETTER_QUEUE, LEASE_QUEUE]) {
        const path = base + pathOf(route.route, { queueName, jobId: JOB, queueStatus: 'failed', schedulerId: 'every-minute' });
        const refusal = checkRoute(request(route.method.toUpperCase(), path), base || '/', DEAD_LETTER_QUEUE);
        const allowed = queueName === DEAD_LETTER_QUEUE && ONE_JOB_ROUTES.includes(`${route.method} ${route.route}`);
        expect({ path, status: refusal?.status }).toEqual({ path, status: allowed ? undefined : 403 });
      }
    }
  });

  test('the same paths with another verb, outside the board path, or with a job id encoded are judged as such', () => {
    const retry = `/api/queues/${DEAD_LETTER_QUEUE}/${JOB}/retry`;
    for (const method of ['POST', 'PATCH', 'DELETE', 'OPTIONS', 'put']) expect(checkRoute(request(method, retry), '/', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('PUT', retry), '/dash', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('PUT', `/dashboard${retry}`), '/dash', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('PUT', `/api/queues/dead%2Dletter/${encodeURIComponent('a:b')}/clean`), '/', DEAD_LETTER_QUEUE)).toBeUndefined();
    expect(checkRoute(request('PUT', `/api/queues/${DEAD_LETTER_QUEUE}/%E0%A4%A/clean`), '/', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('PUT', `${retry}/`), '/', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('PUT', `/api/queues/${DEAD_LETTER_QUEUE}//retry`), '/', DEAD_LETTER_QUEUE)?.status).toBe(403);
    expect(checkRoute(request('GET', '/api/queues'), '/', DEAD_LETTER_QUEUE)).toBeUndefined();
    expect(checkRoute(request('HEAD', '/'), '/', DEAD_LETTER_QUEUE)).toBeUndefined();
  });

  test('a refusal says the action is not allowed from the dashboard, and for bulk removal that `shardflow dlq purge` does it', () => {
    const refuse = (method: string, path: string) => checkRoute(request(method, path), '/', DEAD_LETTER_QUEUE)!.message;
    for (const path of [`/api/queues/${DEAD_LETTER_QUEUE}/clean/failed`, `/api/queues/${DEAD_LETTER_QUEUE}/empty`, `/api/queues/${DEAD_LETTER_QUEUE}/obliterate`]) {
      expect(refuse('PUT', path)).toMatch(/^Not allowed from the dashboard: PUT .*`shardflow dlq purge/);
    }
    expect(refuse('PUT', `/api/queues/${DEAD_LETTER_QUEUE}/retry/failed`)).toContain('`shardflow dlq replay');
    expect(refuse('POST', `/api/queues/${DEAD_LETTER_QUEUE}/add`)).toBe(
      `Not allowed from the dashboard: POST /api/queues/${DEAD_LETTER_QUEUE}/add. It may only retry or remove one dead letter; the lease queue is read-only.`,
    );
  });

  /** The route Express picks for the request, as Bull Board's adapter registers them (under `/dash`). */
  async function routedTo(method: string, path: string): Promise<{ route: string; params: Record<string, string> } | undefined> {
    const board = express.Router();
    for (const r of API_ROUTES) board[r.method as 'put'](r.route, (req, res) => res.json({ route: `${r.method} ${r.route}`, params: req.params }));
    const root = express.Router();
    root.use('/dash', board);
    return new Promise((resolve, reject) => {
      const res = { json: resolve } as unknown as express.Response;
      const req = { method, url: path, headers: {} } as unknown as express.Request;
      root(req, res, (err?: unknown) => (err ? reject(err) : resolve(undefined)));
    });
  }

  test('whatever the guard lets through, Express routes to one job\'s retry or removal on the dead-letter queue', async () => {
    // Among them `.../clean/retry`, which Express routes to "remove every job of status retry", and
    // `.../retry/clean`, to "retry every job of status clean".
    const words = ['retry', 'clean', 'RETRY', 'Clean', 'failed', 'completed', 'promote', 'release', 'rate-limit', 'job-schedulers', 'empty', 'pause', JOB];
    const queues = [DEAD_LETTER_QUEUE, 'dead%2Dletter', 'DEAD-LETTER', LEASE_QUEUE, 'pause'];
    let allowed = 0;
    for (const queue of queues) {
      for (const a of words) {
        for (const b of words) {
          for (const path of [`/dash/api/queues/${queue}/${a}/${b}`, `/dash/api/queues/${queue}/${a}/${b}/`, `/DASH/api/queues/${queue}/${a}/${b}`]) {
            if (checkRoute(request('PUT', path), '/dash', DEAD_LETTER_QUEUE)) continue;
            allowed++;
            const target = await routedTo('PUT', path);
            expect({ path, route: target?.route, queue: target?.params.queueName }).toEqual({ path, route: expect.stringMatching(/^put \/api\/queues\/:queueName\/:jobId\/(retry|clean)$/), queue: DEAD_LETTER_QUEUE });
          }
        }
      }
    }
    // Both spellings of the dead-letter queue, each word but retry and clean (any case) as the job id, both actions.
    expect(allowed).toBe(2 * (words.length - 4) * 2);
    expect((await routedTo('PUT', `/dash/api/queues/${DEAD_LETTER_QUEUE}/clean/retry`))?.route).toBe('put /api/queues/:queueName/clean/:queueStatus');
  });
});

describe('Dashboard.allowed-hosts', () => {
  const groups = (dashboard: Record<string, string>) =>
    parsePropertyGroups([
      { PropertyGroupId: 'InputStream0', PropertyMap: { 'stream.arn': 'arn:aws:kinesis:us-east-1:123456789012:stream/In' } },
      { PropertyGroupId: 'OutputStream0', PropertyMap: { 'stream.arn': 'arn:aws:kinesis:us-east-1:123456789012:stream/Out' } },
      { PropertyGroupId: 'Dashboard', PropertyMap: dashboard },
    ]);
  const allowedHosts = (dashboard: Record<string, string>) => buildAppConfig(groups(dashboard), {}).config.dashboard.allowedHosts;

  test('defaults to the loopback names, and reads a list as browsers write Host (lower case, IPv6 in brackets)', () => {
    expect(allowedHosts({})).toEqual(['127.0.0.1', 'localhost', '[::1]']);
    expect(allowedHosts({ 'allowed-hosts': ' Dash.Example.com, 10.0.0.5 ,::1, [0:0:0:0:0:0:0:1], shardflow_coordinator ' })).toEqual([
      'dash.example.com', '10.0.0.5', '[::1]', '[::1]', 'shardflow_coordinator',
    ]);
  });

  test.each(['dash.example.com:3000', 'http://dash.example.com', 'dash.example.com/', '', 'a,,b', 'a b', '*.example.com', 'user@dash.example.com', '[dash.example.com]'])(
    'refuses %j with exit 2, naming the group, key, value and what is allowed',
    (value) => {
      let err: unknown;
      try {
        allowedHosts({ 'allowed-hosts': value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).exitCode).toBe(2);
      expect((err as ConfigError).message).toBe(
        `Invalid configuration: property group "Dashboard", key "allowed-hosts": value ${JSON.stringify(value)} is not allowed; allowed: ${DASHBOARD_ALLOWED_HOSTS.allowed}`,
      );
    },
  );
});
