/**
 * The PromQL of the Grafana dashboard and of the alert rules, read with Prometheus's own grammar
 * (`@prometheus-io/lezer-promql`, the parser of Prometheus's web UI), and the metrics a process declares
 * on its /metrics page. The parser never throws: a syntax error is an error node in the tree, so
 * `parsePromQL` collects those, and the metric names and label matchers of every selector.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '..', '..');
export const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'shardflow.json');
export const RULES_FILE = join(ROOT, 'deploy', 'prometheus', 'shardflow-rules.yaml');

/** One PromQL expression and where it was found (for failure messages). */
export interface Expression {
  where: string;
  expr: string;
}

export interface Selector {
  metric: string | undefined;
  /** The label names its matchers name (`__name__` left out). */
  labels: string[];
}

export interface ParsedPromQL {
  /** The text around each error node; empty when the expression is valid. */
  errors: string[];
  selectors: Selector[];
}

/**
 * Grafana replaces its variables before Prometheus sees a query: its interval variables by durations, the
 * dashboard's own (`$app`, `${stream}`) by values. Those belong in label values, inside quotes; one
 * anywhere else becomes a selector of a metric no process declares, so the metric check reports it.
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, '5m')
    .replace(/\$__interval\b|\$\{__interval\}/g, '1m')
    .replace(/\$__range\b|\$\{__range\}/g, '1h')
    .replace(/\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]/g, 'grafana_variable_outside_a_label_value');
}

/** A metric name in quotes: no escapes needed, since a name never holds a quote or a backslash. */
const unquote = (literal: string): string => literal.slice(1, -1);

export function parsePromQL(expr: string): ParsedPromQL {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.to + 20)}…`);
      if (node.name !== 'VectorSelector') return;
      const selector: Selector = { metric: undefined, labels: [] };
      const name = node.node.getChild('Identifier');
      if (name) selector.metric = expr.slice(name.from, name.to);
      for (const matcher of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName');
        const value = matcher.getChild('StringLiteral');
        if (!label) continue;
        const labelName = expr.slice(label.from, label.to);
        if (labelName === '__name__' && value) selector.metric = unquote(expr.slice(value.from, value.to));
        else selector.labels.push(labelName);
      }
      // Prometheus 3's quoted metric name: {"metric.name", ...}.
      const quoted = node.node.getChild('LabelMatchers')?.getChild('QuotedLabelName')?.getChild('StringLiteral');
      if (quoted) selector.metric = unquote(expr.slice(quoted.from, quoted.to));
      selectors.push(selector);
    },
  });
  return { errors, selectors };
}

/**
 * Two alerts watch what no shardflow process can report, so they read kube-state-metrics: a process that
 * lost the state exits before a scrape, and readiness is no metric. Only these names, only in these rules.
 */
export const KUBE_STATE_METRICS: Record<string, readonly string[]> = {
  'rule ShardflowStateLost': ['kube_pod_container_status_last_terminated_exitcode', 'kube_pod_container_status_restarts_total'],
  'rule ShardflowWorkerNotReady': ['kube_pod_container_status_ready'],
};
/**
 * The metric families a /metrics page declares (its `# TYPE` lines), by name, with their type. A
 * histogram's series are `<name>_bucket`, `_sum` and `_count`; a summary's `_sum` and `_count`.
 */
export function declaredMetrics(metricsText: string): Map<string, string> {
  const declared = new Map<string, string>();
  for (const match of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) declared.set(match[1], match[2]);
  return declared;
}

/** The family a series name belongs to, or undefined when the page declares none for it. */
export function familyOf(series: string, declared: ReadonlyMap<string, string>): string | undefined {
  if (declared.has(series)) return series;
  const suffix = /_(bucket|sum|count)$/.exec(series);
  if (!suffix) return undefined;
  const family = series.slice(0, -suffix[0].length);
  const type = declared.get(family);
  if (type === 'histogram') return family;
  if (type === 'summary' && suffix[1] !== 'bucket') return family;
  return undefined;
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: GrafanaPanel[];
}

export interface GrafanaDashboard {
  panels: GrafanaPanel[];
  templating: { list: { name: string; type: string; definition?: string; query?: unknown }[] };
}

export function readDashboard(): GrafanaDashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as GrafanaDashboard;
}

/** Every panel, rows' collapsed panels included. */
export function panelsOf(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * Every query of the dashboard, with Grafana's variables substituted (by `substitute`): each panel
 * target's, and the selector inside each `label_values(selector, label)` variable query (Grafana's
 * syntax, not PromQL).
 */
export function dashboardExpressions(dashboard: GrafanaDashboard, substitute: (expr: string) => string = substituteGrafanaVariables): Expression[] {
  const found: Expression[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined) found.push({ where: `panel "${panel.title}" ${target.refId}`, expr: substitute(target.expr) });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const definition = variable.definition ?? '';
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(definition)?.[1];
    found.push({ where: `variable $${variable.name}`, expr: selector === undefined ? definition : substitute(selector) });
  }
  return found;
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}

export function readRules(): RuleFile {
  return parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
}

export function ruleExpressions(rules: RuleFile): Expression[] {
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })));
}

/** The labels an expression's aggregations group by (`by (...)`), in order of appearance. */
export function groupingLabels(expr: string): string[] {
  const labels: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name !== 'AggregateModifier' || !node.node.getChild('By')) return;
      for (const label of node.node.getChild('GroupingLabels')?.getChildren('LabelName') ?? []) labels.push(expr.slice(label.from, label.to));
    },
  });
  return labels;
}

/** `where: metric` for each metric an expression names that none of `declared` declares (nor the exceptions). */
export function undeclared(found: readonly Expression[], declared: readonly ReadonlyMap<string, string>[]): string[] {
  return found.flatMap(({ where, expr }) =>
    parsePromQL(expr)
      .selectors.map((s) => s.metric ?? '(a selector without a metric name)')
      .filter((metric) => !declared.some((d) => familyOf(metric, d)) && !KUBE_STATE_METRICS[where]?.includes(metric))
      .map((metric) => `${where}: ${metric}`),
  );
}
