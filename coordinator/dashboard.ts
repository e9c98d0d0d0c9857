/**
 * The Bull Board dashboard: the lease queue (read-only; one active job per held shard, with live
 * progress: owner, reader, checkpoint, records and bytes, MillisBehindLatest; completed jobs are finished
 * parent shards) and the dead-letter queue (failed jobs; retrying one replays it, removing one drops it,
 * nothing else: see dashboard-guard.ts). Loopback-only unless credentials are configured (basic auth or
 * a bearer token), and only under the Host names of `Dashboard.allowed-hosts`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { RedisClient } from '../shared/redis/connection';
import type { DashboardConfig } from '../shared/config/app-config';
import { ConfigError } from '../shared/config/config-error';
import { DASHBOARD, DASHBOARD_HOST, DASHBOARD_PASSWORD, DASHBOARD_TOKEN, DASHBOARD_USERNAME } from '../shared/config/options';
import { isLoopback } from '../shared/config/properties';
import { DEAD_LETTER_QUEUE, LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import { InputStreamRegistry, type InputStreamRecord } from './input-stream-registry';
import { acceptedHosts, checkHost, checkOrigin, checkRoute, type GuardRequest, type Refusal } from './dashboard-guard';

export function assertDashboardSecure(config: DashboardConfig): void {
  if (!isLoopback(config.host) && !config.basic && !config.token) {
    throw ConfigError.invalidValue(
      DASHBOARD,
      DASHBOARD_HOST.key,
      config.host,
      `a loopback address (127.0.0.1, ::1), or credentials: ${DASHBOARD_USERNAME.key} and ${DASHBOARD_PASSWORD.key} or ${DASHBOARD_TOKEN.key}`,
    );
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Basic auth or a bearer token, when configured; nothing otherwise (loopback only). */
export function authMiddleware(config: DashboardConfig) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!config.basic && !config.token) return next();
    const header = req.headers.authorization ?? '';
    if (config.token && header.startsWith('Bearer ') && same(header.slice(7), config.token)) return next();
    if (config.basic && header.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      if (same(user, config.basic.username) && same(rest.join(':'), config.basic.password)) return next();
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="shardflow"');
    res.status(401).send('authentication required\n');
  };
}

/** Middleware that answers a refusal (text/plain) or passes the request on. */
function refuseWhen(check: (req: GuardRequest) => Refusal | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    const refusal = check({ method: req.method, path: req.path, headers: req.headers, encrypted: 'encrypted' in req.socket });
    if (!refusal) return next();
    res.status(refusal.status).type('text/plain').send(`${refusal.message}\n`);
  };
}

/** The progress a worker publishes on its lease job (see the worker's progress reporter). */
interface LeaseJobProgress {
  owner?: string;
  reader?: string;
  checkpoint?: string | null;
  recordsRead?: number;
  millisBehindLatest?: number;
  recordsFiltered?: number;
  deadLetteredByReason?: Record<string, number>;
  /** The owner's sink counters that are not zero (order violations, misplaced records): they are the worker's, for every lease it holds. */
  ownerSink?: { orderViolations?: number; misplacedRecords?: number };
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * A lease job's title in the dashboard's job list: the stream and shard, and for a held lease what an
 * operator looks at first (owner, reader, checkpoint, lag, records read; then, when not zero, records
 * filtered, dead letters by reason, and the owner's sink order violations and misplaced records), so it
 * reads without opening the Progress tab. The checkpoint is shortened to its last digits: enough to see it
 * move and to tell shards apart.
 */
export function leaseTitle(job: { name?: string; id?: string | number; progress?: unknown }): string {
  const shard = job.name || String(job.id ?? '');
  const p = job.progress;
  if (!p || typeof p !== 'object') return shard;
  const { owner, reader, checkpoint, millisBehindLatest, recordsRead, recordsFiltered, deadLetteredByReason, ownerSink } = p as LeaseJobProgress;
  if (!owner) return shard;
  const parts = [shard, owner];
  if (reader) parts.push(reader);
  parts.push(checkpoint ? `checkpoint …${checkpoint.slice(-10)}` : 'no checkpoint yet');
  if (typeof millisBehindLatest === 'number') parts.push(`lag ${millisBehindLatest.toLocaleString('en-US')} ms`);
  if (typeof recordsRead === 'number') parts.push(`${count(recordsRead)} read`);
  if (recordsFiltered) parts.push(`${count(recordsFiltered)} filtered`);
  const reasons = Object.entries(deadLetteredByReason ?? {}).filter(([, n]) => n > 0);
  if (reasons.length > 0) {
    const total = reasons.reduce((sum, [, n]) => sum + n, 0);
    parts.push(`${count(total)} dead-lettered (${reasons.map(([reason, n]) => `${reason}: ${count(n)}`).join(', ')})`);
  }
  const sink = [ownerSink?.orderViolations ? `${count(ownerSink.orderViolations)} order violations` : '', ownerSink?.misplacedRecords ? `${count(ownerSink.misplacedRecords)} misplaced` : ''].filter(Boolean);
  if (sink.length > 0) parts.push(`owner's sink: ${sink.join(', ')}`);
  return parts.join(' · ');
}

/** The input streams as the lease queue's description lists them: each name, and the state of those not read. */
export function streamsLine(records: ReadonlyMap<string, InputStreamRecord>): string {
  if (records.size === 0) return '';
  const parts = [...records.values()].map((r) => (r.state === 'active' ? r.name : `${r.name} (${r.state === 'deleted' ? 'DELETED in Kinesis' : 'removed from the configuration'} since ${new Date(r.since).toISOString()})`));
  return ` Input streams: ${parts.join(', ')}.`;
}

/** The lease queue's adapter: its description ends with the input streams and their states, refreshed every few seconds. */
class LeaseQueueAdapter extends BullMQAdapter {
  streams = '';

  override getDescription(): string {
    return `${super.getDescription()}${this.streams}`;
  }
}

export class Dashboard {
  private server: Server | undefined;
  private readonly queues: Queue[];
  private readonly leaseAdapter: LeaseQueueAdapter;
  private readonly registry: InputStreamRegistry;
  private streamsTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: DashboardConfig,
    connection: RedisClient,
    keys: AppKeys,
  ) {
    assertDashboardSecure(config);
    const leases = new Queue(LEASE_QUEUE, { connection, prefix: keys.bullPrefix });
    const deadLetters = new Queue(DEAD_LETTER_QUEUE, { connection, prefix: keys.bullPrefix });
    this.queues = [leases, deadLetters];
    const adapter = new ExpressAdapter();
    adapter.setBasePath(config.path === '/' ? '' : config.path);
    // Lease jobs are managed by shardflow: looking is fine, moving them by hand is not.
    const leaseAdapter = new LeaseQueueAdapter(leases, { readOnlyMode: true, displayName: `${keys.app}: shard leases`, description: 'One job per shard of each input stream. Active: leased, titled stream/shard · owner · reader · checkpoint · lag · records read. Completed: finished parent shards.' });
    leaseAdapter.setFormatter('name', leaseTitle);
    this.leaseAdapter = leaseAdapter;
    this.registry = new InputStreamRegistry(connection, keys);
    const deadLetterOptions = {
      allowRetries: true,
      // Bull Board's own option, missing from BullMQAdapter's type: a completed letter reached the output
      // already, and retrying it would write it again.
      allowCompletedRetries: false,
      displayName: `${keys.app}: dead letters`,
      description: 'Records that could not be transformed or delivered. Retry a failed one to replay it through the current transform and sink, or remove it: the only two actions allowed here (`shardflow dlq purge` removes letters in bulk).',
    };
    createBullBoard({
      queues: [
        leaseAdapter,
        new BullMQAdapter(deadLetters, deadLetterOptions),
      ],
      serverAdapter: adapter,
      options: { uiConfig: { boardTitle: `shardflow · ${keys.app}` } },
    });
    this.app = express();
    this.app.disable('x-powered-by');
    const hosts = acceptedHosts(config.allowedHosts, config.host);
    this.app.use(refuseWhen((req) => checkHost(req, hosts)));
    this.app.use(authMiddleware(config));
    this.app.use(refuseWhen((req) => checkOrigin(req) ?? checkRoute(req, config.path, DEAD_LETTER_QUEUE)));
    this.app.use(config.path, adapter.getRouter());
  }

  private readonly app: express.Express;

  /** Reads the input streams' states now and every 5 s, for the lease queue's description. */
  private watchStreams(): void {
    const refresh = () =>
      void this.registry
        .read()
        .then((records) => (this.leaseAdapter.streams = streamsLine(records)))
        .catch(() => undefined);
    refresh();
    this.streamsTimer = setInterval(refresh, 5000);
    this.streamsTimer.unref();
  }

  listen(): Promise<string> {
    this.watchStreams();
    return new Promise((resolve, reject) => {
      const server = this.app.listen(this.config.port, this.config.host);
      this.server = server;
      server.once('error', reject);
      server.once('listening', () => {
        const { port } = server.address() as AddressInfo;
        const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
        resolve(`http://${host}:${port}${this.config.path === '/' ? '/' : `${this.config.path}/`}`);
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.streamsTimer);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
