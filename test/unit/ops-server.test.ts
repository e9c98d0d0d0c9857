/**
 * The operations endpoint over real HTTP on a free port: /readyz answers 200 or 503 with every check,
 * and /metrics carries the same checks as `shardflow_readiness_check{check}` (1 passing, 0 failing), read
 * at each scrape, so the worker-not-ready alert needs no kube-state-metrics.
 */
import { Metrics } from '../../shared/metrics';
import { OpsServer, type ReadinessCheck } from '../../shared/ops-server';

function check(name: string, ok: boolean): ReadinessCheck & { healthy: boolean } {
  return {
    name,
    healthy: ok,
    ok() {
      return this.healthy;
    },
    detail() {
      return this.healthy ? 'ok' : 'no answer within 2000 ms';
    },
  };
}

/** The value of `shardflow_readiness_check` for each check in a /metrics text. */
function readiness(text: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const m of text.matchAll(/^shardflow_readiness_check\{[^}]*check="([^"]+)"[^}]*\} (\S+)$/gm)) values[m[1]] = Number(m[2]);
  return values;
}

test('/readyz and the readiness gauge of /metrics follow the checks', async () => {
  const redis = check('redis', true);
  const kinesis = check('kinesis', true);
  const server = new OpsServer(new Metrics({ app: 'orders', role: 'worker', process: 'worker-a-1' }), [redis, kinesis]);
  const url = await server.listen('127.0.0.1', 0);
  try {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('# TYPE shardflow_readiness_check gauge');
    expect(metrics).toMatch(/^shardflow_readiness_check\{check="redis",app="orders",role="worker",process="worker-a-1"\} 1$/m);
    expect(readiness(metrics)).toEqual({ redis: 1, kinesis: 1 });

    redis.healthy = false;
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { redis: { ok: false, detail: 'no answer within 2000 ms' }, kinesis: { ok: true, detail: 'ok' } } });
    expect(readiness(await (await fetch(`${url}/metrics`)).text())).toEqual({ redis: 0, kinesis: 1 });

    redis.healthy = true;
    expect(readiness(await (await fetch(`${url}/metrics`)).text())).toEqual({ redis: 1, kinesis: 1 });
  } finally {
    await server.close();
  }
});
