// The alert rules (charts/redeliver/alerts/redeliver.rules.yaml) checked by the real promtool:
// `check rules`, `test rules` with a unit test per alert (alerts.promtool.yaml: each alert shown
// silent and firing), a runbook section per alert in docs/runbooks.md, and the chart's
// PrometheusRule carrying exactly these rules.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { helmTemplate, run } from './tools.ts';

const RULES = 'charts/redeliver/alerts/redeliver.rules.yaml';
const TESTS = 'test/packaging/alerts.promtool.yaml';

interface Rule { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleFile { groups: Array<{ name: string; rules: Rule[] }> }
interface PromtoolTests { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> }

const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);

describe('alert rules (real promtool)', function () {
  this.timeout(60_000);

  it('pass promtool check rules', async function () {
    const r = await run('promtool', ['check', 'rules', RULES]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass promtool test rules, and every alert is tested both silent and firing', async function () {
    const r = await run('promtool', ['test', 'rules', TESTS]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const cases = (parse(readFileSync(TESTS, 'utf8')) as PromtoolTests).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${a.alert} has a firing case`).to.equal(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${a.alert} has a silent case`).to.equal(true);
    }
  });

  it('cover what a team pages on, each with severity, summary and a runbook section', function () {
    expect(alerts.map((a) => a.alert)).to.include.members([
      'RedeliverScopeBlocked', 'RedeliverOldestPendingHigh', 'RedeliverDeadLettersRising', 'RedeliverIngestErrors',
      'RedeliverPartitionsUnowned', 'RedeliverNoDispatcher', 'RedeliverRedisUnreachable', 'RedeliverReplayFailed',
      'RedeliverControllerNoLeader', 'RedeliverControllerReconcileErrors',
    ]);
    const runbooks = readFileSync('docs/runbooks.md', 'utf8');
    for (const a of alerts) {
      expect(a.labels?.severity, a.alert).to.be.oneOf(['critical', 'warning']);
      expect(a.annotations?.summary, a.alert).to.be.a('string');
      expect(runbooks, `docs/runbooks.md has a section for ${a.alert}`).to.match(new RegExp(`^## ${a.alert}$`, 'm'));
      expect(a.annotations?.runbook_url).to.equal(`docs/runbooks.md#${a.alert!.toLowerCase()}`);
    }
  });

  it('are what the chart ships as a PrometheusRule, with alertLabels merged under each alert', async function () {
    const objs = await helmTemplate({ 'prometheusRule.enabled': true, 'prometheusRule.alertLabels.team': 'payments' });
    const pr = objs.find((o) => o.kind === 'PrometheusRule');
    expect(pr?.apiVersion).to.equal('monitoring.coreos.com/v1');
    const shipped = (pr!.spec as RuleFile).groups;
    const expected = rules.groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, labels: { ...r.labels, team: 'payments' } })) }));
    expect(shipped).to.deep.equal(expected);
  });
});
