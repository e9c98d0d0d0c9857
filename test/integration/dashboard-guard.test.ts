/**
 * The dashboard's least privilege, against a real coordinator over HTTP: only retrying or removing one
 * dead letter changes anything; every other mutating Bull Board route answers 403 and changes nothing;
 * a foreign Host answers 421 (before authentication), a foreign Origin 403 (after it).
 */
import { request } from 'node:http';
import { appRoutes } from '@bull-board/api/dist/routes';
import { Queue } from 'bullmq';
import { createStream, putAll, readAll } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { waitForLog } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { freePort } from '../../cli/local/free-port';
import { AppKeys, DEAD_LETTER_QUEUE, LEASE_QUEUE } from '../../shared/redis/keys';

const h = useClusterHarness();
const TOKEN = 'guard-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** An HTTP request with a Host header of our choosing (fetch does not let one set it). */
function withHost(port: number, method: string, path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('only one dead letter\'s retry and removal get through; everything else is refused and changes nothing', async () => {
  const app = h.app('it-guard');
  const inputArn = await createStream(h.client, uniqueName('gin'), 1);
  const outputArn = await createStream(h.client, uniqueName('gout'), 1);
  const port = await freePort();
  // The worker dead-letters text that is not JSON; the coordinator's replayer passes bytes through, so a retry delivers.
  const worker = h.start('worker', writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn)), app);
  const coordinator = h.start(
    'coordinator',
    writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { SerializationType: { type: 'STRING' }, Dashboard: { port: String(port), 'auth.bearer.token': TOKEN } })),
    app,
  );
  await waitForLog(worker, 'worker running');
  await waitForLog(coordinator, 'dashboard listening');
  await putAll(h.client, inputArn, ['bad-1', 'bad-2', 'bad-3'].map((text) => ({ PartitionKey: text, Data: Buffer.from(text) })));

  const keys = new AppKeys(app);
  const deadLetters = new Queue(DEAD_LETTER_QUEUE, { connection: h.redis, prefix: keys.bullPrefix });
  const leases = new Queue(LEASE_QUEUE, { connection: h.redis, prefix: keys.bullPrefix });
  try {
    const letters = await waitFor(async () => {
      const failed = await deadLetters.getJobs(['failed']);
      return failed.length === 3 && failed.every((job) => job.data.parked) ? failed : undefined;
    }, 30_000, 'three parked dead letters');
    const byText = new Map(letters.map((job) => [Buffer.from(job.data.payload as string, 'base64').toString(), job]));
    const [retried, removed, kept] = ['bad-1', 'bad-2', 'bad-3'].map((text) => byText.get(text)!.id!);
    const counts = await deadLetters.getJobCounts();
    const leaseCounts = await leases.getJobCounts();
    const base = `http://127.0.0.1:${port}`;
    const own = { ...auth, origin: base };

    // The page offers retries of failed letters only (Bull Board has no option to hide its other buttons).
    const board = (await (await fetch(`${base}/api/queues`, { headers: auth })).json()) as { queues: Array<{ name: string; readOnlyMode: boolean; allowRetries: boolean; allowCompletedRetries: boolean }> };
    expect(board.queues.find((q) => q.name === DEAD_LETTER_QUEUE)).toMatchObject({ readOnlyMode: false, allowRetries: true, allowCompletedRetries: false });
    expect(board.queues.find((q) => q.name === LEASE_QUEUE)).toMatchObject({ readOnlyMode: true, allowRetries: false });

    // Every mutating route Bull Board 9 defines (and a few shapes around them), with and without the page's own Origin.
    const refused: Array<[string, string]> = appRoutes.api
      .flatMap((r) => [r.method].flat().flatMap((method) => [r.route].flat().map((route) => ({ method: method as string, route }))))
      .filter((r) => r.method !== 'get')
      .map((r): [string, string] => [r.method.toUpperCase(), r.route.replace(':queueName', DEAD_LETTER_QUEUE).replace(':jobId', kept).replace(':queueStatus', 'failed').replace(':schedulerId', 'every-minute')])
      .filter(([method, path]) => !(method === 'PUT' && (path.endsWith(`/${kept}/retry`) || path.endsWith(`/${kept}/clean`))));
    expect(refused).toHaveLength(21);
    refused.push(
      ['PUT', `/api/queues/${LEASE_QUEUE}/shardId-000000000000/retry`],
      ['PUT', `/api/queues/${LEASE_QUEUE}/shardId-000000000000/clean`],
      ['PUT', `/api/queues/${DEAD_LETTER_QUEUE}/clean/retry`],
      ['DELETE', `/api/queues/${DEAD_LETTER_QUEUE}/${kept}`],
      ['POST', '/api/metrics/history/purge'],
    );
    const body = JSON.stringify({ name: 'injected', data: { parked: true, payload: Buffer.from('injected').toString('base64') }, concurrency: 1, max: 1, duration: 1000, delay: 1, priority: 1, every: 1000 });
    for (const [method, path] of refused) {
      for (const headers of [auth, own]) {
        const res = await fetch(`${base}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body });
        expect({ method, path, status: res.status, text: await res.text() }).toEqual({ method, path, status: 403, text: expect.stringContaining('Not allowed from the dashboard') });
      }
    }
    // A purge says where purging is done.
    expect(await (await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/empty`, { method: 'PUT', headers: auth })).text()).toContain('shardflow dlq purge');
    // The form a cross-site page can send without a CORS preflight.
    const plain = await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/add`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body });
    expect(plain.status).toBe(403);

    expect(await deadLetters.getJobCounts()).toEqual(counts);
    expect(await leases.getJobCounts()).toEqual(leaseCounts);
    expect(await deadLetters.isPaused()).toBe(false);
    expect(await leases.isPaused()).toBe(false);
    expect(await deadLetters.getJob('injected')).toBeUndefined();
    for (const id of [retried, removed, kept]) expect((await deadLetters.getJobState(id))).toBe('failed');

    // Host before authentication: a foreign name gets 421 with or without credentials, a known one 401 without.
    expect((await withHost(port, 'GET', '/api/queues', `evil.example:${port}`)).status).toBe(421);
    expect((await withHost(port, 'PUT', `/api/queues/${DEAD_LETTER_QUEUE}/${kept}/retry`, `evil.example:${port}`, auth)).status).toBe(421);
    expect((await withHost(port, 'GET', '/api/queues', `localhost:${port}`)).status).toBe(401);
    expect((await withHost(port, 'GET', '/api/queues', `localhost:${port}`, auth)).status).toBe(200);
    expect((await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/${kept}/retry`, { method: 'PUT', headers: { origin: 'http://evil.example' } })).status).toBe(401);

    // A page of another origin may read (the browser keeps the answer from it) but not retry.
    expect((await fetch(`${base}/api/queues`, { headers: { ...auth, origin: 'http://evil.example' } })).status).toBe(200);
    const foreign: Array<Record<string, string>> = [{ origin: 'http://evil.example' }, { origin: `http://localhost:${port}` }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of foreign) {
      const res = await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/${kept}/retry`, { method: 'PUT', headers: { ...auth, ...headers } });
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
    }
    expect(await deadLetters.getJobState(kept)).toBe('failed');

    // The two actions the dashboard is for, as Bull Board's page sends them.
    expect((await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/${encodeURIComponent(retried)}/retry`, { method: 'PUT', headers: own })).status).toBe(204);
    expect((await fetch(`${base}/api/queues/${DEAD_LETTER_QUEUE}/${encodeURIComponent(removed)}/clean`, { method: 'PUT', headers: own })).status).toBe(204);
    await waitFor(async () => (await readAll(h.client, outputArn)).some((r) => r.data.toString() === 'bad-1') || undefined, 30_000, 'the retried letter in the output');
    await waitFor(async () => (await deadLetters.getJobState(retried)) === 'completed' || undefined, 10_000, 'the retried letter completed');
    expect(await deadLetters.getJob(removed)).toBeUndefined();
    expect(await deadLetters.getJobState(kept)).toBe('failed');
    expect((await readAll(h.client, outputArn)).map((r) => r.data.toString()).filter((t) => t.startsWith('bad-') || t === 'injected')).toEqual(['bad-1']);
  } finally {
    await deadLetters.close();
    await leases.close();
  }
});
