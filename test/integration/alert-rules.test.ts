/**
 * The alert rules, checked by Prometheus's own tool: `promtool check rules` accepts the rules file and the
 * PrometheusRule's copy of it, and `promtool test rules` runs deploy/prometheus/shardflow-rules.test.yaml,
 * synthetic series with a firing and a quiet case per alert. Rules broken on purpose (copies in a temp
 * folder) fail those cases, so a pass means the cases can tell.
 *
 * promtool comes with Debian's `prometheus` package (`.ci/run` installs it); without it these tests are
 * skipped with one line, or fail under SHARDFLOW_TEST_REQUIRE_PROGRAMS=1 (test/support/programs.ts).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeNeeding } from '../support/programs';
import { ROOT, RULES_FILE } from '../support/promql';

const RULE_TESTS = join(ROOT, 'deploy', 'prometheus', 'shardflow-rules.test.yaml');
const PROMETHEUS_RULE = join(ROOT, 'deploy', 'kubernetes', 'components', 'prometheus-rules', 'prometheus-rule.yaml');

function promtool(...args: string[]): { code: number | null; output: string } {
  const run = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Runs `promtool test rules` on the unit tests beside a copy of the rules with `from` replaced by `to`. */
function testBrokenRules(from: string, to: string): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shardflow-rules-'));
  try {
    const rules = readFileSync(RULES_FILE, 'utf8');
    if (!rules.includes(from)) throw new Error(`the rules no longer contain ${JSON.stringify(from)}: update this break`);
    writeFileSync(join(dir, 'shardflow-rules.yaml'), rules.replace(from, to));
    copyFileSync(RULE_TESTS, join(dir, 'shardflow-rules.test.yaml'));
    return promtool('test', 'rules', join(dir, 'shardflow-rules.test.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeNeeding('promtool')('the alert rules, by promtool', () => {
  test('promtool check rules accepts the rules file', () => {
    const { code, output } = promtool('check', 'rules', RULES_FILE);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/SUCCESS: 7 rules found/) as string });
  });

  test("promtool check rules accepts the PrometheusRule's groups", () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardflow-rules-'));
    try {
      const { spec } = parse(readFileSync(PROMETHEUS_RULE, 'utf8')) as { spec: unknown };
      writeFileSync(join(dir, 'rules.yaml'), JSON.stringify(spec));
      const { code, output } = promtool('check', 'rules', join(dir, 'rules.yaml'));
      expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/SUCCESS: 7 rules found/) as string });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('promtool test rules passes: each alert fires when it should and stays quiet when it should not', () => {
    const { code, output } = promtool('test', 'rules', RULE_TESTS);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/SUCCESS/) as string });
  });

  test.each([
    ['lag per shard and process: a lease move restarts the `for:`', 'max by (app, stream) (shardflow_millis_behind_latest)', 'max by (app, stream, shard, process) (shardflow_millis_behind_latest)', 'ShardflowLagHigh'],
    ["dead letters by increase() alone: a lone first dead letter goes unseen", '          or\n          sum by (app, stream) (shardflow_records_dead_lettered_total unless', '          and\n          sum by (app, stream) (shardflow_records_dead_lettered_total unless', 'ShardflowDeadLettersGrowing'],
    ["unleased shards counted on every coordinator: a former leader's stale counts add up", '\n            * on (app, process) group_left ()\n            (shardflow_coordinator_leader == 1)', '', 'ShardflowShardsUnleased'],
    ['no leader counted on coordinators only: all of them gone goes unseen', 'sum by (app) (shardflow_coordinator_leader) < 1', 'sum by (app) (shardflow_coordinator_leader{role="coordinator"}) < 1', 'ShardflowNoLeader'],
    ['readiness per check: a worker whose failing check changes goes unseen', 'min by (app, process) (shardflow_readiness_check{role="worker"})', 'min by (app, process, check) (shardflow_readiness_check{role="worker"})', 'ShardflowWorkerNotReady'],
    ['readiness of every role: an unready coordinator fires the worker alert', 'shardflow_readiness_check{role="worker"}', 'shardflow_readiness_check', 'ShardflowWorkerNotReady'],
    ['state lost on the exit code alone: a container that recovered keeps it firing', '\n          and on (namespace, pod, container)\n          increase(', '\n          or on (namespace, pod, container)\n          increase(', 'ShardflowStateLost'],
  ])('the promtool cases fail a rule broken this way: %s', (_break, from, to, alert) => {
    const { code, output } = testBrokenRules(from, to);
    expect(code).not.toBe(0);
    expect(output).toContain(`alertname: ${alert}`);
  });
});
