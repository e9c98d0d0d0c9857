/**
 * The Grafana dashboard (deploy/grafana/shardflow.json) and the alert rules
 * (deploy/prometheus/shardflow-rules.yaml) are read, not hoped: every PromQL expression parses with
 * Prometheus's own grammar, and every metric it names is one a coordinator or a worker declares on its
 * /metrics page (`# TYPE` lines, from the same registry the processes serve; the browser test of the
 * Prometheus UI checks running processes too). A renamed metric fails here. The dashboard covers what
 * issue #28 lists, each alert has its runbook and a firing and a quiet promtool case, and the optional
 * PrometheusRule carries the same rules.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Metrics } from '../../shared/metrics';
import {
  dashboardExpressions,
  declaredMetrics,
  familyOf,
  groupingLabels,
  panelsOf,
  parsePromQL,
  readDashboard,
  readRules,
  ROOT,
  RULES_FILE,
  ruleExpressions,
  substituteGrafanaVariables,
  undeclared,
  type Expression,
} from '../support/promql';

/** The alerts issue #28 asks for. */
const ALERTS = ['ShardflowLagHigh', 'ShardflowDeadLettersGrowing', 'ShardflowOutputFailing', 'ShardflowStateLost', 'ShardflowNoLeader', 'ShardflowShardsUnleased', 'ShardflowWorkerNotReady'];
/** Alerts about one process's own state, grouped by process: its readiness. */
const ABOUT_A_PROCESS = ['ShardflowWorkerNotReady'];
const RUNBOOKS = 'https://github.com/shardflow/shardflow/blob/main/docs/runbooks.md';
const COMPONENT = join(ROOT, 'deploy', 'kubernetes', 'components', 'prometheus-rules');

const dashboard = readDashboard();
const rules = readRules();
const alerts = rules.groups.flatMap((g) => g.rules);
const expressions: Expression[] = [...dashboardExpressions(dashboard), ...ruleExpressions(rules)];

/** What a process of `role` declares, read from the text its /metrics page serves. */
async function declaredBy(role: 'coordinator' | 'worker'): Promise<{ text: string; declared: Map<string, string> }> {
  const text = await new Metrics({ app: 'promql-test', role, process: `${role}-1` }).registry.metrics();
  return { text, declared: declaredMetrics(text) };
}

describe('the PromQL of the dashboard and the alert rules', () => {
  test('there is some: every panel target and variable query, every rule', () => {
    expect(expressions.filter((e) => e.where.startsWith('panel')).length).toBeGreaterThan(30);
    expect(expressions.filter((e) => e.where.startsWith('rule')).length).toBe(ALERTS.length);
  });

  test.each(expressions.map((e) => [e.where, e.expr]))('%s parses with Prometheus\'s grammar and names a metric in each selector', (_where, expr) => {
    const { errors, selectors } = parsePromQL(expr);
    expect(errors).toEqual([]);
    expect(selectors.length).toBeGreaterThan(0);
    expect(selectors.filter((s) => s.metric === undefined)).toEqual([]);
  });

  test('names only metrics a coordinator or a worker declares on /metrics', async () => {
    const declared = [(await declaredBy('coordinator')).declared, (await declaredBy('worker')).declared];
    expect(undeclared(expressions, declared)).toEqual([]);
  });

  test('can rely on every process exporting the leader and leases gauges, at 0 where they do not apply', async () => {
    // ShardflowNoLeader counts a worker's 0 when every coordinator is gone; ShardflowShardsUnleased a
    // coordinator's 0 when no worker reports.
    expect((await declaredBy('worker')).text).toMatch(/^shardflow_coordinator_leader\{[^}]*role="worker"[^}]*\} 0$/m);
    expect((await declaredBy('coordinator')).text).toMatch(/^shardflow_leases_held\{[^}]*role="coordinator"[^}]*\} 0$/m);
  });
});

describe('the check itself', () => {
  test('finds a syntax error, which the parser reports as an error node rather than by throwing', () => {
    expect(parsePromQL('sum by (app (shardflow_leases_held)').errors).not.toEqual([]);
    expect(parsePromQL('rate(shardflow_records_read_total[5m]').errors).not.toEqual([]);
  });

  test("substitutes Grafana's interval variables, and reports a dashboard variable outside a label value", () => {
    expect(parsePromQL(substituteGrafanaVariables('rate(shardflow_records_read_total{app=~"$app"}[$__rate_interval])')).errors).toEqual([]);
    const declared = declaredMetrics('# TYPE shardflow_leases_held gauge\n');
    const misplaced = { where: 'panel "x" A', expr: substituteGrafanaVariables('shardflow_leases_held{app=~"$app"} > $threshold') };
    expect(undeclared([misplaced], [declared])).toEqual(['panel "x" A: grafana_variable_outside_a_label_value']);
  });

  test('finds metric names in every selector form, and maps a histogram\'s series to it, not a counter\'s', () => {
    const names = parsePromQL('a_total + on () b_bucket{le="1"} + {__name__="c"} + {"d.e", x="y"} + rate(f[5m]) offset 1m').selectors.map((s) => s.metric);
    expect(names).toEqual(['a_total', 'b_bucket', 'c', 'd.e', 'f']);
    const declared = declaredMetrics('# TYPE h histogram\n# TYPE c_total counter\n# TYPE s summary\n');
    expect(['h_bucket', 'h_sum', 'h_count', 's_count', 's_bucket', 'c_total_count', 'h'].map((n) => familyOf(n, declared))).toEqual(['h', 'h', 'h', 's', undefined, undefined, 'h']);
  });

  test('reports a metric no process declares, naming where it is used', () => {
    const declared = declaredMetrics('# TYPE shardflow_leases_held gauge\n');
    expect(undeclared([{ where: 'panel "x" A', expr: 'sum(shardflow_leases_held) - sum(shardflow_shards_unleased)' }], [declared])).toEqual(['panel "x" A: shardflow_shards_unleased']);
    expect(undeclared([{ where: 'panel "x" A', expr: 'kube_pod_container_status_ready' }], [declared])).toEqual(['panel "x" A: kube_pod_container_status_ready']);
  });
});

/** The expressions of each panel, joined, with the metrics and grouping labels they name. */
const panelQueries = panelsOf(dashboard)
  .filter((p) => p.targets?.length)
  .map((p) => {
    const exprs = p.targets!.map((t) => substituteGrafanaVariables(t.expr ?? ''));
    return { title: p.title!, metrics: new Set(exprs.flatMap((e) => parsePromQL(e).selectors.map((s) => s.metric))), by: new Set(exprs.flatMap(groupingLabels)) };
  });

describe('the dashboard', () => {
  // What issue #28 lists, as the metric and the label a panel must group by. The sink's AIMD window needs
  // a metric shardflow does not export yet.
  test.each([
    ['records in per stream', ['shardflow_records_read_total'], 'stream'],
    ['records out per output', ['shardflow_records_written_total'], 'output'],
    ['lag per shard', ['shardflow_millis_behind_latest'], 'shard'],
    ['worst lag per stream', ['shardflow_millis_behind_latest'], 'stream'],
    ['dead letters by reason', ['shardflow_records_dead_lettered_total'], 'reason'],
    ['leases per worker', ['shardflow_leases_held'], 'process'],
    ['unleased shards', ['shardflow_shards', 'shardflow_leases_held'], 'app'],
    ['sink throttling per output', ['shardflow_put_records_throttled_records_total'], 'output'],
    ['output failing per output', ['shardflow_sink_output_failing'], 'output'],
    ['Redis errors per process', ['shardflow_redis_errors_total'], 'process'],
    ['leader per coordinator', ['shardflow_coordinator_leader'], 'process'],
    ['CPU per process', ['process_cpu_seconds_total'], 'process'],
    ['memory per process', ['process_resident_memory_bytes'], 'process'],
  ] as const)('has a panel for %s', (_what, metrics, by) => {
    const panel = panelQueries.find((p) => metrics.every((m) => p.metrics.has(m)) && p.by.has(by));
    expect({ metrics, by, found: panel?.title !== undefined }).toEqual({ metrics, by, found: true });
  });

  test("uses the dashboard's Prometheus variable, unique panel ids, and a grid without overlaps", () => {
    const panels = panelsOf(dashboard) as { id: number; type: string; title: string; datasource?: { uid?: string }; targets?: { datasource?: { uid?: string } }[]; gridPos: { x: number; y: number; w: number; h: number } }[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect({ panel: p.title, uids: [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)] }).toEqual({ panel: p.title, uids: Array(1 + (p.targets ?? []).length).fill('${datasource}') });
    }
    const cells = new Map<string, string>();
    const misplaced: string[] = [];
    for (const { title, gridPos: g } of panels) {
      if (g.x < 0 || g.x + g.w > 24) misplaced.push(`${title}: beyond the 24 columns`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const taken = cells.get(`${x},${y}`);
          if (taken !== undefined) misplaced.push(`${title} overlaps ${taken} at ${x},${y}`);
          cells.set(`${x},${y}`, title);
        }
      }
    }
    expect(misplaced).toEqual([]);
    const variables = new Set(dashboard.templating.list.map((v) => v.name));
    const used = JSON.stringify(dashboard.panels).match(/\$\{?(?!__)\w+/g) ?? [];
    expect([...new Set(used.map((u) => u.replace(/^\$\{?/, '')))].filter((v) => !variables.has(v))).toEqual([]);
  });
});

describe('the alert rules', () => {
  const runbooks = readFileSync(join(ROOT, 'docs', 'runbooks.md'), 'utf8');
  const tests = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'shardflow-rules.test.yaml'), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
  const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);

  test('are the alerts issue #28 asks for', () => {
    expect(alerts.map((r) => r.alert)).toEqual(ALERTS);
  });

  test.each(ALERTS)('%s has a severity, a runbook section that says what, how to confirm and what to do, and promtool cases firing and quiet', (name) => {
    const rule = alerts.find((r) => r.alert === name)!;
    expect(['warning', 'critical']).toContain(rule.labels?.severity);
    expect(rule.annotations?.runbook_url).toBe(`${RUNBOOKS}#${name.toLowerCase()}`);
    const section = runbooks.split(/^## /m).find((s) => s.startsWith(`${name}\n`));
    expect(section).toBeDefined();
    for (const part of ['**What it means.**', '**How to confirm.**', '**What to do.**']) expect(section).toContain(part);
    const mine = cases.filter((c) => c.alertname === name);
    expect({ firing: mine.some((c) => (c.exp_alerts ?? []).length > 0), quiet: mine.some((c) => (c.exp_alerts ?? []).length === 0) }).toEqual({ firing: true, quiet: true });
  });

  test.each(ALERTS)('%s aggregates by application (or namespace), never by shard, nor by process unless about the process itself: a lease move must not restart its `for:`', (name) => {
    const labels = groupingLabels(alerts.find((r) => r.alert === name)!.expr);
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.filter((l) => l === 'shard' || (l === 'process' && !ABOUT_A_PROCESS.includes(name)))).toEqual([]);
    expect(labels.includes('app') || labels.includes('namespace')).toBe(true);
    // A process's readiness is its own (nothing moves), but per check a change of failing check would restart it.
    if (ABOUT_A_PROCESS.includes(name)) expect(labels.filter((l) => l !== 'app')).toEqual(['process']);
  });
});

describe('the PrometheusRule component (deploy/kubernetes/components/prometheus-rules)', () => {
  const file = readFileSync(join(COMPONENT, 'prometheus-rule.yaml'), 'utf8');

  test('is what build.js makes of the rules file (run `node deploy/kubernetes/components/prometheus-rules/build.js` after changing the rules)', () => {
    expect(execFileSync(process.execPath, [join(COMPONENT, 'build.js'), '--stdout']).toString()).toBe(file);
    const rule = parse(file) as { apiVersion: string; kind: string; metadata: { namespace: string }; spec: unknown };
    expect({ apiVersion: rule.apiVersion, kind: rule.kind, namespace: rule.metadata.namespace }).toEqual({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespace: 'shardflow' });
    expect(rule.spec).toEqual(parse(readFileSync(RULES_FILE, 'utf8')));
  });

  test('is a kustomize Component that the default kustomization does not apply (without the CRD, `kubectl apply -k` would fail)', () => {
    expect(parse(readFileSync(join(COMPONENT, 'kustomization.yaml'), 'utf8'))).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component', resources: ['prometheus-rule.yaml'] });
    const main = parse(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'kustomization.yaml'), 'utf8')) as { resources: string[]; components?: string[] };
    expect([...main.resources, ...(main.components ?? [])].filter((r) => r.startsWith('components'))).toEqual([]);
  });
});
