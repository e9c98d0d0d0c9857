/**
 * The fault tests' pipeline on the bench endpoint: input and output streams, a real coordinator and
 * workers (each with its own AWS_SDK_UA_APP_ID, so fault rules and the PutRecords log can tell the
 * processes apart), a real Redis, and the checks every row makes: processes up, every record delivered,
 * metrics read from a process's /metrics.
 */
import { readAll, type ReadRecord } from './kinesis';
import { compareDelivery, settledOutput, type Delivery } from './delivery';
import { FaultEndpoint } from './fault-endpoint';
import { ClusterHarness } from './harness';
import { localProperties, writeProperties, type Groups } from './properties';
import { waitForLog, type CliProcess } from './cli';
import { dropApp, REDIS_URL, testRedis } from './redis';
import { uniqueName, waitFor } from './wait';
import { AppKeys } from '../../shared/redis/keys';

export const WORKER_UA = 'app/shardflow-worker';

export interface Pipeline {
  app: string;
  inName: string;
  outName: string;
  inArn: string;
  outArn: string;
  properties: string;
  coordinator: CliProcess;
  workers: CliProcess[];
}

export interface PipelineOptions {
  workers?: number;
  reader?: 'POLLING' | 'EFO';
  shards?: number;
  /** Property overrides by group. */
  overrides?: Groups;
  redisUrl?: string;
  /** Wait until every lease is held, spread evenly (default true). */
  settle?: boolean;
  /** Arguments for the workers' node itself (a `--require` preload, say). */
  workerNodeArgs?: string[];
}

export function assertUp(processes: CliProcess[]): void {
  for (const p of processes) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`shardflow ${p.child.spawnargs.slice(2, 3).join(' ')} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-4000)}`);
  }
}

/** Registers the file's hooks: one bench endpoint, a harness on it, apps dropped at the end. */
export function useFaultPipelines(options: { subscriptionMs?: number } = {}): FaultPipelines {
  const f = new FaultPipelines();
  beforeAll(async () => {
    f.ep = await FaultEndpoint.start(options);
    // The harness without its kinesis-local: its processes, producers and apps, on this endpoint.
    f.h.client = f.ep.client;
    f.h.redis = testRedis();
  });
  afterEach(async () => {
    await f.h.stopAll();
    await f.ep.clearChaos();
  });
  afterAll(async () => {
    for (const app of f.apps) await dropApp(f.h.redis, app);
    f.h.redis?.disconnect();
    await f.ep?.stop();
  });
  return f;
}

export class FaultPipelines {
  ep!: FaultEndpoint;
  readonly h = new ClusterHarness();
  readonly apps: string[] = [];

  /** Streams, a coordinator and workers, each with its own app id in the SDK's user agent. */
  async pipeline(prefix: string, options: PipelineOptions = {}): Promise<Pipeline> {
    const { workers = 1, reader = 'POLLING', shards = 4, overrides = {}, redisUrl = REDIS_URL, settle = true, workerNodeArgs = [] } = options;
    const { ep, h } = this;
    const app = h.app(prefix);
    this.apps.push(app);
    const inName = uniqueName('in');
    const outName = uniqueName('out');
    const inArn = await ep.createStream(inName, shards);
    const outArn = await ep.createStream(outName, 2);
    const input: Record<string, string> = reader === 'EFO' ? { 'source.reader.type': 'EFO', 'source.efo.consumer.name': `consumer-${app}` } : { 'source.reader.type': 'POLLING' };
    const groups = localProperties(ep.endpoint, inArn, outArn, { InputStream0: input });
    for (const [group, map] of Object.entries(overrides)) groups[group] = { ...(groups[group] ?? {}), ...map };
    const properties = writeProperties(groups);
    const coordinator = h.start('coordinator', properties, app, { AWS_SDK_UA_APP_ID: 'shardflow-coordinator' }, redisUrl);
    const started = Array.from({ length: workers }, (_, i) => h.start('worker', properties, app, { AWS_SDK_UA_APP_ID: `shardflow-worker-${i + 1}` }, redisUrl, [], workerNodeArgs));
    const p = { app, inName, outName, inArn, outArn, properties, coordinator, workers: started };
    if (settle) await this.settled(p, shards);
    return p;
  }

  /** Leases settle before any record flows, so a rebalance hand-off is not part of what a row measures. */
  async settled(p: Pipeline, shards: number, redis = this.h.redis): Promise<void> {
    const workers = p.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length;
    await waitFor(
      async () => {
        const statuses = Object.values(await redis.hgetall(new AppKeys(p.app).workerStatus)).map((s) => JSON.parse(s) as { leases: unknown[] });
        return statuses.length === workers && statuses.reduce((n, s) => n + s.leases.length, 0) === shards && statuses.every((s) => s.leases.length === shards / workers);
      },
      30_000,
      `${shards} leases spread over ${workers} worker(s)`,
      200,
      () => assertUp([p.coordinator, ...p.workers]),
    );
  }

  /** Waits for every rule to be spent (each has `times`). */
  async rulesSpent(p: Pipeline): Promise<void> {
    let state: unknown;
    await waitFor(
      async () => {
        const rules = await this.ep.chaosState();
        state = rules;
        return rules.every((s) => s.fired >= (s.rule.times ?? 1));
      },
      40_000,
      () => `every fault rule to fire: ${JSON.stringify(state)}`,
      200,
      () => assertUp([p.coordinator, ...p.workers]),
    );
  }

  /**
   * Once the producer has stopped: waits until every input id is in the output and the output has stopped
   * growing (two reads a second apart see the same count, so late duplicates are counted too).
   */
  async delivery(p: Pipeline, alive: CliProcess[] = [p.coordinator, ...p.workers]): Promise<{ result: Delivery; output: ReadRecord[] }> {
    const input = await readAll(this.ep.client, p.inArn);
    const output = await settledOutput(this.ep.client, p.outArn, input, () => assertUp(alive));
    return { result: compareDelivery(input, output), output };
  }

  /** Runs the producer until the rules are spent and at least `minimum` records are acknowledged. */
  async produceThrough(p: Pipeline, minimum: number): Promise<number> {
    const producer = this.h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await this.rulesSpent(p);
    await waitFor(() => producer.produced.length >= minimum, 30_000, `${minimum} records produced`);
    return (await producer.stop()).length;
  }
}

/** A process's operations URL (without a path), from its start-up log line. */
export async function opsUrl(p: CliProcess): Promise<string> {
  await waitForLog(p, 'operations endpoint listening');
  const line = p.output().split('\n').find((l) => l.includes('operations endpoint listening'))!;
  return (JSON.parse(line) as { metrics: string }).metrics.replace(/\/metrics$/, '');
}

/**
 * `fetch`, once more when the connection was closed under it: a pooled keep-alive socket the server
 * closed after its idle timeout just as the client reused it ("other side closed"), seen on a busy
 * machine when two samplers poll one process.
 */
export async function fetchAgain(url: string): Promise<Response> {
  try {
    return await fetch(url);
  } catch {
    return await fetch(url);
  }
}

/** Sum of a metric's samples. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetchAgain(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** `/readyz`: the HTTP status and each check's state. */
export async function readiness(url: string): Promise<{ status: number; checks: Record<string, { ok: boolean; detail: string }> }> {
  const res = await fetchAgain(`${url}/readyz`);
  const body = (await res.json()) as { checks: Record<string, { ok: boolean; detail: string }> };
  return { status: res.status, checks: body.checks };
}
