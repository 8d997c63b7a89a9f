// Observability on a running Redeliver, every role its own process as in the cluster (controller
// against a real kube-apiserver 1.20, ingest, dispatcher, api; a real redis-server), under traffic:
// deliveries, a failing receiver that blocks one endpoint and dead-letters another, an archived
// endpoint (410), a replay, and a ReplayRequest that fails. Then, with the real tools:
// - `promtool check metrics` on each role's scrape;
// - a real Prometheus scrapes all four roles and evaluates the chart's alert rules on that data;
// - every PromQL expression of every dashboard panel runs on it without error, and the main
//   panels return data;
// - Kubernetes Events are recorded once per change.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { TEST_SECRET_KEY } from '../support/app.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';
import { killAllRoles, startRole, type RoleProcess } from '../support/role-process.ts';
import { eventsFor, getObject, ok, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, waitForCondition } from '../k8s/support.ts';
import { panelsSvg, type PanelSeries } from './panels-svg.ts';
import { startPrometheus, type Prometheus } from './prometheus.ts';
import { run } from './tools.ts';

const ROLES = ['controller', 'ingest', 'dispatcher', 'api'] as const;
const NS = 'shop';
const ORDERS = 30;
const FAST_RETRY = { maxAttempts: 2, backoff: { initialSeconds: 0.05, maxSeconds: 0.1, multiplier: 2, jitter: 0 } };
const DASHBOARDS = 'charts/redeliver/dashboards';
/** Grafana's $__rate_interval is at least four scrape intervals; the test scrapes every second. */
const RATE_INTERVAL = '1m';

/** Panels that must show data after this traffic (the others may rightly be empty, e.g. misses). */
const MAIN_PANELS: Record<string, string[]> = {
  'redeliver-overview.json': ['Ingest rate', 'Delivery success', 'Backlog', 'Oldest pending', 'Blocked partitions', 'Unowned partitions',
    'Ingest requests by outcome', 'Ingest latency', 'Deliveries by outcome', 'Attempt latency', 'Top endpoints by intake',
    'Dead letters by endpoint', 'Backlog by endpoint', 'Blocked partitions by endpoint', 'Partition lease changes', 'Redis connection', 'CPU', 'Resident memory'],
  'redeliver-endpoint.json': ['Intake', 'Delivered', 'Backlog', 'Partitions owned', 'Requests by outcome', 'Ingest latency',
    'Deliveries by outcome', 'Attempts by classification', 'Attempt latency', 'Partitions and owners'],
  'redeliver-controller.json': ['Leader', 'Reconciles', 'Replays succeeded', 'Replays failed', 'Reconciles by kind and outcome', 'Reconcile duration p95', 'Leader by replica', 'Replays finished by phase'],
};

interface PanelJson { type: string; title: string; targets?: Array<{ expr: string }> }

export function panelQueries(file: string, endpoint: string): Array<{ title: string; expr: string }> {
  const d = JSON.parse(readFileSync(`${DASHBOARDS}/${file}`, 'utf8')) as { panels: PanelJson[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({
    title: p.title,
    expr: t.expr.replaceAll('$__rate_interval', RATE_INTERVAL).replaceAll('$endpoint', endpoint),
  })));
}

describe('observability on a running Redeliver (real Prometheus and promtool, kube-apiserver 1.20, redis-server)', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let prom: Prometheus;
  let startedSec = 0;
  let good: Receiver;
  let failing: Receiver;
  const roles = {} as Record<(typeof ROLES)[number], RoleProcess>;
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  const apply = async (obj: object) => ok(await k(['apply', '-f', '-'], JSON.stringify(obj)));
  const endpoint = (name: string, spec: object) => ({ apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', metadata: { name, namespace: NS }, spec });
  const post = (name: string, body: object) => fetch(`${roles.ingest.url}/in/${NS}/${name}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const scrape = async (role: (typeof ROLES)[number]) => (await fetch(`${roles[role].url}/metrics`)).text();
  const replay = (name: string, spec: object) => ({ apiVersion: 'redeliver.io/v1alpha1', kind: 'ReplayRequest', metadata: { name, namespace: NS }, spec });

  before(async function () {
    [env, redis, good, failing] = await Promise.all([
      startKubeWithCrds(), startTestRedis(), startReceiver(() => ({ status: 200 })), startReceiver(() => ({ status: 500 })),
    ]);
    ok(await k(['create', 'namespace', NS]));
    const common = {
      REDIS_URL: redis.url, REDELIVER_SECRET_KEY: TEST_SECRET_KEY, REDELIVER_REDIS_PREFIX: randomPrefix(),
      REDELIVER_HOST: '127.0.0.1', REDELIVER_PORT: '0', REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8', REDELIVER_LOG_LEVEL: 'info',
    };
    const keep = (line: string) => !line.includes('"level":30');
    roles.controller = await startRole('controller', { ...common, KUBECONFIG: env.kubeconfig }, { keep });
    roles.ingest = await startRole('ingest', common, { keep });
    roles.dispatcher = await startRole('dispatcher', common, { keep });
    roles.api = await startRole('api', { ...common, REDELIVER_API_KEYS: 'operator:prometheus-suite-operator-key-0123456789' }, { keep });
    startedSec = Math.floor(Date.now() / 1000);
    prom = await startPrometheus({
      targets: ROLES.map((role) => ({ role, address: new URL(roles[role].url).host })),
      ruleFiles: [`${process.cwd()}/charts/redeliver/alerts/redeliver.rules.yaml`],
    });

    await apply(endpoint('orders', { source: { provider: 'none' }, destination: { url: good.url + '/orders' } }));
    await apply(endpoint('flaky', { source: { provider: 'none' }, destination: { url: failing.url + '/flaky' }, retry: FAST_RETRY }));
    await apply(endpoint('dead', { source: { provider: 'none' }, destination: { url: failing.url + '/dead' }, ordering: { mode: 'none' }, retry: { ...FAST_RETRY, onExhausted: 'deadletter' } }));
    await apply(endpoint('gone', { source: { provider: 'none' }, destination: { url: good.url + '/gone' } }));
    // Breaks a CEL rule of the CRD (1.20 has no CEL; the controller checks it): InvalidSpec.
    await apply(endpoint('bad', { source: { provider: 'hmac', secretRef: { name: 'x', keys: ['k'] } }, destination: { url: good.url + '/bad' } }));
    for (const name of ['orders', 'flaky', 'dead', 'gone']) await waitForCondition(env, 'webhookendpoint', name, 'Ready', 'True', undefined, NS, 30_000);
    await waitForCondition(env, 'webhookendpoint', 'bad', 'Ready', 'False', 'InvalidSpec', NS, 30_000);
    // Ingest learns of endpoints through Redis; the first accepted event says it has them.
    await waitFor('ingest accepts shop/orders', async () => (await post('orders', { n: 0 })).status === 202, 20_000, 100);
    // In waves, each seen by a scrape before the next, so the counters' rates show the traffic.
    for (let n = 1; n < ORDERS; n++) {
      expect((await post('orders', { n })).status).to.equal(202);
      if (n % 5 === 4) {
        const expr = `sum(redeliver_ingest_requests_total{endpoint="shop/orders",outcome="accepted"}) >= ${n + 1}`;
        await waitFor('a scrape of the wave', async () => ((await prom.query(expr)).data?.result.length ?? 0) > 0, 20_000, 100);
      }
    }
    for (let n = 0; n < 3; n++) {
      expect((await post('flaky', { n })).status).to.equal(202);
      expect((await post('dead', { n })).status).to.equal(202);
    }
    expect((await fetch(`${roles.ingest.url}/in/${NS}/nowhere`, { method: 'POST', body: '{}' })).status).to.equal(404);
    ok(await k(['delete', 'webhookendpoint', 'gone', '-n', NS, '--wait=true', '--timeout=30s']));
    await waitFor('ingest answers 410 for the archived endpoint', async () => (await post('gone', { n: 0 })).status === 410, 20_000, 100);

    await good.until((r) => r.filter((x) => x.headers['webhook-id'] && x.body.length > 0).length >= ORDERS, 30_000);
    await waitForCondition(env, 'webhookendpoint', 'flaky', 'Blocked', 'True', undefined, NS, 30_000);
    ok(await k(['create', '-f', '-'], JSON.stringify(replay('orders-again', { endpointRef: { name: 'orders' } }))));
    ok(await k(['create', '-f', '-'], JSON.stringify(replay('elsewhere', { endpointRef: { name: 'orders', namespace: 'default' } }))));
    await waitFor('replay Succeeded', async () => (await getObject(env, 'replayrequest', 'orders-again', NS))?.status?.phase === 'Succeeded', 60_000, 200);
    await waitFor('invalid replay Failed', async () => (await getObject(env, 'replayrequest', 'elsewhere', NS))?.status?.phase === 'Failed', 30_000, 200);
    // Prometheus has scraped the end state once these show (its scrapes are a second apart).
    for (const expr of [
      'sum(redeliver_controller_replays_finished_total{phase="Succeeded"}) >= 1',
      'sum(redeliver_controller_replays_finished_total{phase="Failed"}) >= 1',
      'sum(redeliver_dispatch_blocked_partitions{endpoint="shop/flaky"}) >= 1',
      'sum(redeliver_dispatch_deliveries_total{endpoint="shop/dead",outcome="deadletter"}) >= 3',
      `sum(redeliver_dispatch_deliveries_total{endpoint="shop/orders",outcome="delivered"}) >= ${2 * ORDERS}`,
      'sum(redeliver_ingest_requests_total{outcome="endpoint_not_active"}) >= 1',
    ]) await waitFor(`Prometheus: ${expr}`, async () => ((await prom.query(expr)).data?.result.length ?? 0) > 0, 30_000, 250);
  });

  after(async function () {
    await prom?.stop();
    for (const role of ROLES) {
      roles[role]?.proc.kill('SIGTERM');
      await roles[role]?.exited;
    }
    killAllRoles();
    await Promise.all([good?.close(), failing?.close()]);
    await redis?.stop();
    await env?.stop();
  });

  for (const role of ROLES) {
    it(`promtool check metrics passes on the ${role} role's scrape`, async function () {
      const text = await scrape(role);
      const r = await run('promtool', ['check', 'metrics'], { input: text });
      expect(r.code, `promtool check metrics on ${role}:\n${r.stdout}${r.stderr}`).to.equal(0);
      expect(r.stdout + r.stderr).to.equal('');
      // Every family has HELP, and the runtime metrics carry one prefix, once.
      const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
      for (const f of families) expect(text, f).to.include(`# HELP ${f} `);
      expect(families.filter((f) => f.startsWith('redeliver_process_process_') || /_total$/.test(f) && text.includes(`# TYPE ${f} gauge`))).to.deep.equal([]);
    });
  }

  it('keeps labels bounded: known label names, endpoint only names endpoints (or "unknown")', async function () {
    // Closed sets, plus prom-client's runtime labels (GC kind, heap space, handle type, version).
    const allowed = new Set(['endpoint', 'outcome', 'reason', 'classification', 'via', 'change', 'kind', 'phase', 'le',
      'space', 'type', 'version', 'major', 'minor', 'patch']);
    const endpoints = new Set(['shop/orders', 'shop/flaky', 'shop/dead', 'shop/gone', 'shop/bad', 'unknown']);
    const values = new Map<string, Set<string>>();
    for (const role of ROLES) {
      for (const m of (await scrape(role)).matchAll(/^redeliver_\w+\{([^}]*)\}/gm)) {
        for (const [, name, value] of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) {
          expect(allowed.has(name!), `label ${name} in ${m[0]}`).to.equal(true);
          values.set(name!, (values.get(name!) ?? new Set()).add(value!));
        }
      }
    }
    for (const ep of values.get('endpoint') ?? []) expect(endpoints.has(ep), `endpoint="${ep}"`).to.equal(true);
    // The 404 for /in/shop/nowhere did not make a series of its own.
    expect(values.get('endpoint')).to.include('unknown').and.not.include('shop/nowhere');
    for (const [name, seen] of values) if (name !== 'le') expect(seen.size, `${name}: ${[...seen].join(', ')}`).to.be.lessThan(25);
  });

  it('counts 410 answers for archived endpoints in redeliver_ingest_requests_total', async function () {
    expect(await scrape('ingest')).to.match(/^redeliver_ingest_requests_total\{endpoint="shop\/gone",outcome="endpoint_not_active"\} [1-9]/m);
  });

  it('Prometheus scrapes every role and evaluates the alert rules on their data', async function () {
    const up = await prom.query('up');
    expect(up.data?.result.map((s) => [s.metric.role, s.value[1]]).sort()).to.deep.equal(ROLES.map((r) => [r, '1']).sort());
    const rules = (await prom.get('/api/v1/rules')) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all).to.have.length(10);
    for (const r of all) expect(r.health, `${r.name}: ${r.lastError}`).to.equal('ok');
    // The blocked scope is pending (for: 5m); dead letters fire at once; healthy ones stay quiet.
    let seen: Array<{ labels: Record<string, string>; state: string }> = [];
    const find = (name: string, ep?: string) => seen.find((a) => a.labels.alertname === name && (!ep || a.labels.endpoint === ep));
    const expected = () => find('RedeliverScopeBlocked', 'shop/flaky')?.state === 'pending'
      && find('RedeliverDeadLettersRising', 'shop/dead')?.state === 'firing'
      && find('RedeliverReplayFailed')?.state === 'firing';
    await waitFor('alerts evaluated on the end state', async () => {
      seen = ((await prom.get('/api/v1/alerts')) as { data: { alerts: typeof seen } }).data.alerts;
      return expected();
    }, 20_000, 250).catch(() => undefined);
    const states = seen.map((a) => `${a.labels.alertname}${a.labels.endpoint ? `{${a.labels.endpoint}}` : ''}=${a.state}`).sort();
    expect(expected(), states.join(', ')).to.equal(true);
    for (const quiet of ['RedeliverRedisUnreachable', 'RedeliverControllerNoLeader', 'RedeliverPartitionsUnowned', 'RedeliverNoDispatcher', 'RedeliverIngestErrors']) {
      expect(find(quiet), states.join(', ')).to.equal(undefined);
    }
  });

  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json')).sort()) {
    it(`${file}: every panel query runs on Prometheus, and the main panels return data`, async function () {
      const queries = panelQueries(file, 'shop/orders');
      expect(queries.length).to.be.greaterThan(5);
      const empty: string[] = [];
      for (const q of queries) {
        const r = await prom.query(q.expr);
        expect(r.status, `${q.title}: ${q.expr}: ${r.error}`).to.equal('success');
        if ((r.data?.result.length ?? 0) === 0) empty.push(q.title);
      }
      const titles = new Set(queries.map((q) => q.title));
      for (const main of MAIN_PANELS[file] ?? []) expect(titles.has(main), `${file} has panel ${main}`).to.equal(true);
      expect(empty.filter((t) => (MAIN_PANELS[file] ?? []).includes(t)), `main panels without data in ${file}`).to.deep.equal([]);
    });
  }

  it('draws the main overview panels from the data Prometheus holds (docs/images/dashboard-overview.svg)', async function () {
    const board = JSON.parse(readFileSync(`${DASHBOARDS}/redeliver-overview.json`, 'utf8')) as {
      panels: Array<PanelJson & { fieldConfig?: { defaults?: { unit?: string } }; targets?: Array<{ expr: string; legendFormat?: string }> }>;
    };
    const drawn = ['Ingest requests by outcome', 'Deliveries by outcome', 'Attempt latency', 'Backlog by endpoint', 'Oldest pending by endpoint', 'Blocked partitions by endpoint'];
    const end = Math.ceil(Date.now() / 1000);
    const panels: PanelSeries[] = [];
    for (const title of drawn) {
      const p = board.panels.find((x) => x.title === title)!;
      const series: PanelSeries['series'] = [];
      for (const t of p.targets ?? []) {
        // A short rate window: the traffic lasts well under a minute.
        const result = await prom.queryRange(t.expr.replaceAll('$__rate_interval', '30s'), startedSec, end, 1);
        for (const r of result) {
          const label = (t.legendFormat ?? '').replace(/\{\{(\w+)\}\}/g, (_m, l: string) => r.metric[l] ?? '') || JSON.stringify(r.metric);
          series.push({ label, points: r.values.map(([ts, v]) => [ts, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v)) });
        }
      }
      expect(series.some((x) => x.points.length >= 3), `${title} has a series with data`).to.equal(true);
      panels.push({ title, unit: p.fieldConfig?.defaults?.unit ?? 'short', series });
    }
    const svg = panelsSvg('Redeliver / Overview, drawn from the Prometheus of test/packaging/prometheus.test.ts', panels);
    expect(svg.match(/<polyline /g)?.length ?? 0).to.be.greaterThan(panels.length);
    // REDELIVER_WRITE_PANELS=1 refreshes the picture in the docs.
    if (process.env.REDELIVER_WRITE_PANELS) writeFileSync('docs/images/dashboard-overview.svg', svg);
  });

  it('records each Kubernetes Event once per change (replay Started/Succeeded/Failed, Blocked, InvalidSpec)', async function () {
    const count = async (name: string) => {
      const byReason = new Map<string, number>();
      for (const e of await eventsFor(env, name, NS)) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + ((e as { count?: number }).count ?? 1));
      return Object.fromEntries(byReason);
    };
    expect(await count('orders-again')).to.deep.equal({ Started: 1, Succeeded: 1 });
    expect(await count('elsewhere')).to.deep.equal({ Failed: 1 });
    expect((await count('flaky')).Blocked).to.equal(1);
    expect((await count('bad')).InvalidSpec).to.equal(1);
  });
});
