/**
 * Every process's operations endpoint: `/metrics` (Prometheus text), `/healthz` (the process is up)
 * and `/readyz` (it can reach what it needs: Redis, Kinesis), whose checks `/metrics` also carries as
 * `shardflow_readiness_check{check}`. Plain node:http; no framework needed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';

export interface ReadinessCheck {
  name: string;
  /** The last known result; checks run in the background so /readyz answers at once. */
  ok(): boolean;
  detail(): string;
}

export class OpsServer {
  private server: Server | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly checks: readonly ReadinessCheck[],
  ) {}

  ready(): { ready: boolean; checks: Record<string, { ok: boolean; detail: string }> } {
    const checks = Object.fromEntries(this.checks.map((c) => [c.name, { ok: c.ok(), detail: c.detail() }]));
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Listens; resolves with the URL, or rejects when the port cannot be bound. */
  listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        // Readiness as a metric too: alerts then need no kube-state-metrics, and name the failing check.
        for (const check of this.checks) this.metrics.readinessCheck.set({ check: check.name }, check.ok() ? 1 : 0);
        void this.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
            res.end(text);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      } else if (path === '/readyz') {
        const state = this.ready();
        res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(state)}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics, /healthz or /readyz\n');
      }
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const { port: bound } = server.address() as AddressInfo;
        resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A readiness check refreshed by probing every `everyMs`. */
export class PeriodicCheck implements ReadinessCheck {
  private healthy = false;
  private lastDetail = 'not checked yet';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly probe: () => Promise<void>,
    private readonly everyMs: number,
    private readonly timeoutMs = 2000,
  ) {}

  start(): void {
    const run = async () => {
      try {
        await Promise.race([this.probe(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs).unref())]);
        this.healthy = true;
        this.lastDetail = 'ok';
      } catch (err) {
        this.healthy = false;
        this.lastDetail = (err as Error).message ?? String(err);
      }
      this.timer = setTimeout(() => void run(), this.everyMs);
      this.timer.unref();
    };
    void run();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  ok(): boolean {
    return this.healthy;
  }

  detail(): string {
    return this.lastDetail;
  }
}
