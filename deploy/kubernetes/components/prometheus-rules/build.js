#!/usr/bin/env node
/**
 * Writes prometheus-rule.yaml beside this file: the groups of deploy/prometheus/shardflow-rules.yaml as
 * a Prometheus Operator PrometheusRule, so both always carry the same alerts. kustomize can only load files
 * under the component's own folder, hence a copy, and test/unit/promql-metrics.test.ts fails while the
 * copy differs from the rules file. Run after changing the rules: `node deploy/kubernetes/components/prometheus-rules/build.js`
 * (`--stdout` prints it instead).
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { parse, stringify } = require('yaml');

const RULES = join(__dirname, '..', '..', '..', 'prometheus', 'shardflow-rules.yaml');
const OUT = join(__dirname, 'prometheus-rule.yaml');

/** The PrometheusRule for the rules file's text. */
function prometheusRule(rulesText) {
  const { groups } = parse(rulesText);
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'shardflow',
      namespace: 'shardflow',
      labels: { 'app.kubernetes.io/name': 'shardflow' },
    },
    spec: { groups },
  };
}

function render(rulesText) {
  const header = [
    '# Generated from deploy/prometheus/shardflow-rules.yaml by build.js beside this file; edit the rules file',
    '# (its comments say why each rule is as it is) and run `node deploy/kubernetes/components/prometheus-rules/build.js`.',
    "# A Prometheus Operator's Prometheus loads it when its ruleSelector matches these labels: add the label",
    '# your Prometheus selects on (kube-prometheus-stack: `release: <its Helm release>`) in an overlay.',
  ].join('\n');
  // lineWidth 0: no folding, so each expression reads as in the rules file.
  return `${header}\n${stringify(prometheusRule(rulesText), { lineWidth: 0 })}`;
}

if (require.main === module) {
  const text = render(readFileSync(RULES, 'utf8'));
  // --stdout: print instead of writing (the unit test compares the output with the file).
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else writeFileSync(OUT, text);
}
