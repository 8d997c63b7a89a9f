// Writes the Grafana dashboards of charts/redeliver/dashboards/ from the panel lists below, so the
// three stay alike in layout and conventions: `npm exec --no -- node scripts/dashboards.ts`.
// test/packaging/dashboards.test.ts checks the files are what this script writes, and runs every
// panel's PromQL on a real Prometheus that scraped a running Redeliver.
import { writeFileSync } from 'node:fs';

type Unit = 'reqps' | 's' | 'short' | 'percentunit' | 'bytes' | 'ops' | 'none';
interface Target { expr: string; legend?: string }
interface Panel { title: string; description: string; unit: Unit; targets: Target[]; kind?: 'stat' | 'timeseries'; stack?: boolean; thresholds?: number[] }
interface Row { row: string; panels: Panel[] }
interface Dashboard { uid: string; title: string; description: string; endpointVariable: boolean; rows: Row[]; tags: string[] }

const DS = { type: 'prometheus', uid: '${datasource}' };
const R = '$__rate_interval';
const E = '{endpoint=~"$endpoint"}';
const EO = (outcome: string) => `{endpoint=~"$endpoint",outcome="${outcome}"}`;
const stat = (title: string, description: string, unit: Unit, expr: string, thresholds?: number[]): Panel =>
  ({ title, description, unit, kind: 'stat', targets: [{ expr }], ...(thresholds ? { thresholds } : {}) });
const series = (title: string, description: string, unit: Unit, targets: Target[], stack = false): Panel =>
  ({ title, description, unit, kind: 'timeseries', targets, stack });
const quantiles = (metric: string, by: string, sel = '') =>
  [0.5, 0.95, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (${by}) (rate(${metric}_bucket${sel}[${R}])))`, legend: `p${q * 100}` }));

const overview: Dashboard = {
  uid: 'redeliver-overview',
  title: 'Redeliver / Overview',
  description: 'Every endpoint at once: intake, delivery, backlog and ordering, the processes.',
  endpointVariable: false,
  tags: ['redeliver'],
  rows: [
    { row: 'Now', panels: [
      stat('Ingest rate', 'Webhooks received per second, all endpoints and outcomes.', 'reqps', `sum(rate(redeliver_ingest_requests_total[${R}]))`),
      stat('Delivery success', 'Share of delivery attempts answered 2xx.', 'percentunit', `sum(rate(redeliver_dispatch_deliveries_total{outcome="delivered"}[${R}])) / sum(rate(redeliver_dispatch_deliveries_total[${R}]))`),
      stat('Backlog', 'Deliveries queued and not finished.', 'short', 'sum(redeliver_dispatch_backlog)'),
      stat('Oldest pending', 'Age of the oldest queued delivery.', 's', 'max(redeliver_dispatch_oldest_pending_seconds)', [300, 900]),
      stat('Blocked partitions', 'Ordering scopes stopped behind an exhausted delivery.', 'short', 'sum(redeliver_dispatch_blocked_partitions)', [1]),
      stat('Unowned partitions', 'Partitions no dispatcher holds a lease on.', 'short', 'sum(max by (endpoint) (redeliver_dispatch_partitions)) - sum(redeliver_dispatch_owned_partitions)', [1]),
    ] },
    { row: 'Intake and delivery', panels: [
      series('Ingest requests by outcome', 'Webhooks per second by outcome (accepted, duplicate, or the error code).', 'reqps', [{ expr: `sum by (outcome) (rate(redeliver_ingest_requests_total[${R}]))`, legend: '{{outcome}}' }], true),
      series('Ingest latency', 'Time to answer an accepted webhook (the event is stored by then).', 's', quantiles('redeliver_ingest_request_duration_seconds', 'le')),
      series('Deliveries by outcome', 'Delivery attempts per second by outcome.', 'ops', [{ expr: `sum by (outcome) (rate(redeliver_dispatch_deliveries_total[${R}]))`, legend: '{{outcome}}' }], true),
      series('Attempt latency', 'Duration of outbound attempts.', 's', quantiles('redeliver_dispatch_attempt_duration_seconds', 'le')),
      series('Top endpoints by intake', 'The ten busiest endpoints.', 'reqps', [{ expr: `topk(10, sum by (endpoint) (rate(redeliver_ingest_requests_total[${R}])))`, legend: '{{endpoint}}' }]),
      series('Dead letters by endpoint', 'Deliveries set aside after exhausting their retries (onExhausted: deadletter).', 'short', [{ expr: `sum by (endpoint) (increase(redeliver_dispatch_deliveries_total{outcome="deadletter"}[${R}]))`, legend: '{{endpoint}}' }]),
    ] },
    { row: 'Backlog and ordering', panels: [
      series('Backlog by endpoint', 'Deliveries queued per endpoint.', 'short', [{ expr: 'sum by (endpoint) (redeliver_dispatch_backlog)', legend: '{{endpoint}}' }]),
      series('Oldest pending by endpoint', 'Age of the oldest queued delivery per endpoint.', 's', [{ expr: 'max by (endpoint) (redeliver_dispatch_oldest_pending_seconds)', legend: '{{endpoint}}' }]),
      series('Blocked partitions by endpoint', 'Partitions blocked per endpoint.', 'short', [{ expr: 'sum by (endpoint) (redeliver_dispatch_blocked_partitions)', legend: '{{endpoint}}' }]),
      series('Partition lease changes', 'Leases acquired and lost by the dispatchers (moves between pods).', 'short', [{ expr: `sum by (change) (increase(redeliver_dispatch_lease_changes_total[${R}]))`, legend: '{{change}}' }]),
    ] },
    { row: 'Processes', panels: [
      series('Redis connection', '1 while a process has a ready Redis connection.', 'short', [{ expr: 'min by (instance) (redeliver_redis_connected)', legend: '{{instance}}' }]),
      series('CPU', 'CPU seconds per second, per process.', 'short', [{ expr: `sum by (instance) (rate(redeliver_process_cpu_seconds_total[${R}]))`, legend: '{{instance}}' }]),
      series('Resident memory', 'Resident set size per process.', 'bytes', [{ expr: 'sum by (instance) (redeliver_process_resident_memory_bytes)', legend: '{{instance}}' }]),
      series('Event loop lag p99', 'Node.js event loop delay, 99th percentile.', 's', [{ expr: 'max by (instance) (redeliver_nodejs_eventloop_lag_p99_seconds)', legend: '{{instance}}' }]),
    ] },
  ],
};

const endpoint: Dashboard = {
  uid: 'redeliver-endpoint',
  title: 'Redeliver / Endpoint',
  description: 'One WebhookEndpoint in detail: pick it with the endpoint variable (namespace/name).',
  endpointVariable: true,
  tags: ['redeliver'],
  rows: [
    { row: '$endpoint', panels: [
      stat('Intake', 'Webhooks received per second.', 'reqps', `sum(rate(redeliver_ingest_requests_total${E}[${R}]))`),
      stat('Delivered', 'Deliveries answered 2xx per second.', 'ops', `sum(rate(redeliver_dispatch_deliveries_total${EO('delivered')}[${R}]))`),
      stat('Backlog', 'Deliveries queued.', 'short', `sum(redeliver_dispatch_backlog${E})`),
      stat('Oldest pending', 'Age of the oldest queued delivery.', 's', `max(redeliver_dispatch_oldest_pending_seconds${E})`, [300, 900]),
      stat('Blocked partitions', 'Partitions stopped behind an exhausted delivery.', 'short', `sum(redeliver_dispatch_blocked_partitions${E})`, [1]),
      stat('Partitions owned', 'Partitions with a dispatcher, of all the endpoint has.', 'percentunit', `sum(redeliver_dispatch_owned_partitions${E}) / max(redeliver_dispatch_partitions${E})`),
    ] },
    { row: 'Intake', panels: [
      series('Requests by outcome', 'Webhooks per second by outcome.', 'reqps', [{ expr: `sum by (outcome) (rate(redeliver_ingest_requests_total${E}[${R}]))`, legend: '{{outcome}}' }], true),
      series('Ingest latency', 'Time to answer an accepted webhook.', 's', quantiles('redeliver_ingest_request_duration_seconds', 'le', E)),
      series('Signature failures by reason', 'Requests refused by the signature check.', 'reqps', [{ expr: `sum by (reason) (rate(redeliver_ingest_signature_failures_total${E}[${R}]))`, legend: '{{reason}}' }]),
      series('Duplicates', 'Requests answered as duplicates of a stored event.', 'reqps', [{ expr: `sum(rate(redeliver_ingest_dedupe_hits_total${E}[${R}]))`, legend: 'duplicates' }]),
    ] },
    { row: 'Delivery', panels: [
      series('Deliveries by outcome', 'Attempts per second by outcome.', 'ops', [{ expr: `sum by (outcome) (rate(redeliver_dispatch_deliveries_total${E}[${R}]))`, legend: '{{outcome}}' }], true),
      series('Attempts by classification', 'Attempts per second by result class (delivered, consumer_5xx, timeouts, …).', 'ops', [{ expr: `sum by (classification) (rate(redeliver_dispatch_attempt_duration_seconds_count${E}[${R}]))`, legend: '{{classification}}' }], true),
      series('Attempt latency', 'Duration of outbound attempts.', 's', quantiles('redeliver_dispatch_attempt_duration_seconds', 'le', E)),
      series('Early sends', 'Deliveries sent before Redis confirmed their claim, and the misses sent again.', 'ops', [
        { expr: `sum by (via) (rate(redeliver_dispatch_pipelined_total${E}[${R}]))`, legend: '{{via}}' },
        { expr: `sum(rate(redeliver_dispatch_pipeline_misses_total${E}[${R}]))`, legend: 'misses' },
      ]),
    ] },
    { row: 'Backlog and ownership', panels: [
      series('Backlog', 'Deliveries queued.', 'short', [{ expr: `sum(redeliver_dispatch_backlog${E})`, legend: 'backlog' }]),
      series('Oldest pending', 'Age of the oldest queued delivery.', 's', [{ expr: `max(redeliver_dispatch_oldest_pending_seconds${E})`, legend: 'oldest' }]),
      series('Partitions and owners', 'Partitions of the endpoint, and how many each dispatcher holds.', 'short', [
        { expr: `max(redeliver_dispatch_partitions${E})`, legend: 'partitions' },
        { expr: `sum by (instance) (redeliver_dispatch_owned_partitions${E})`, legend: 'owned by {{instance}}' },
      ]),
      series('Blocked partitions', 'Partitions stopped behind an exhausted delivery.', 'short', [{ expr: `sum(redeliver_dispatch_blocked_partitions${E})`, legend: 'blocked' }]),
    ] },
  ],
};

const controller: Dashboard = {
  uid: 'redeliver-controller',
  title: 'Redeliver / Controller and replays',
  description: 'The controller: leadership, reconciles of WebhookEndpoints and ReplayRequests, replay outcomes.',
  endpointVariable: false,
  tags: ['redeliver'],
  rows: [
    { row: 'Now', panels: [
      stat('Leader', 'Replicas holding the controller Lease (must be 1).', 'short', 'sum(redeliver_controller_leader)', [1]),
      stat('Reconciles', 'Reconciles per second, both kinds.', 'ops', `sum(rate(redeliver_controller_reconciles_total[${R}]))`),
      stat('Reconcile errors', 'Share of reconciles that ended in an error.', 'percentunit', `sum(rate(redeliver_controller_reconciles_total{outcome="error"}[${R}])) / sum(rate(redeliver_controller_reconciles_total[${R}]))`),
      stat('Replays succeeded', 'ReplayRequests that ended Succeeded, since the leader started.', 'short', 'sum(redeliver_controller_replays_finished_total{phase="Succeeded"})'),
      stat('Replays failed', 'ReplayRequests that ended Failed, since the leader started.', 'short', 'sum(redeliver_controller_replays_finished_total{phase="Failed"})', [1]),
    ] },
    { row: 'Reconciles', panels: [
      series('Reconciles by kind and outcome', 'ok, retry (waiting on something), error (retried with backoff).', 'ops', [{ expr: `sum by (kind, outcome) (rate(redeliver_controller_reconciles_total[${R}]))`, legend: '{{kind}} {{outcome}}' }], true),
      series('Reconcile duration p95', 'Time one reconcile takes, by kind.', 's', [{ expr: `histogram_quantile(0.95, sum by (le, kind) (rate(redeliver_controller_reconcile_duration_seconds_bucket[${R}])))`, legend: '{{kind}}' }]),
      series('Leader by replica', '1 on the replica holding the Lease.', 'short', [{ expr: 'max by (instance) (redeliver_controller_leader)', legend: '{{instance}}' }]),
    ] },
    { row: 'Replays', panels: [
      series('Replays finished by phase', 'ReplayRequests reaching Succeeded, Failed or Cancelled.', 'short', [{ expr: `sum by (phase) (increase(redeliver_controller_replays_finished_total[${R}]))`, legend: '{{phase}}' }], true),
      series('Controller memory', 'Resident set size of the controller processes.', 'bytes', [{ expr: 'sum by (instance) (redeliver_process_resident_memory_bytes and on (instance) redeliver_controller_leader)', legend: '{{instance}}' }]),
    ] },
  ],
};

function panelJson(p: Panel, id: number, x: number, y: number, w: number, h: number): object {
  const base = { id, type: p.kind ?? 'timeseries', title: p.title, description: p.description, datasource: DS, gridPos: { h, w, x, y } };
  const targets = p.targets.map((t, i) => ({ datasource: DS, expr: t.expr, legendFormat: t.legend ?? '__auto', refId: String.fromCharCode(65 + i), range: true }));
  const steps = [{ color: 'green', value: null }, ...(p.thresholds ?? []).map((v, i, all) => ({ color: i === all.length - 1 ? 'red' : 'orange', value: v }))];
  if (p.kind === 'stat') {
    return { ...base, targets, fieldConfig: { defaults: { unit: p.unit, thresholds: { mode: 'absolute', steps } }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' } };
  }
  return { ...base, targets,
    fieldConfig: { defaults: { unit: p.unit, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: p.stack ? 20 : 5, showPoints: 'never', stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' } } }, overrides: [] },
    options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } } };
}

function dashboardJson(d: Dashboard): object {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of d.rows) {
    panels.push({ id: id++, type: 'row', title: row.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    const stats = row.panels.filter((p) => p.kind === 'stat');
    const rest = row.panels.filter((p) => p.kind !== 'stat');
    const w = stats.length ? Math.floor(24 / stats.length) : 0;
    stats.forEach((p, i) => panels.push(panelJson(p, id++, i * w, y, w, 4)));
    if (stats.length) y += 4;
    rest.forEach((p, i) => panels.push(panelJson(p, id++, (i % 2) * 12, y + Math.floor(i / 2) * 8, 12, 8)));
    y += Math.ceil(rest.length / 2) * 8;
  }
  const variables: object[] = [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', includeAll: false, multi: false, options: [] }];
  if (d.endpointVariable) {
    const q = 'label_values(redeliver_ingest_requests_total, endpoint)';
    variables.push({ name: 'endpoint', label: 'Endpoint', type: 'query', datasource: DS, query: { query: q, refId: 'endpoint' }, definition: q,
      current: {}, hide: 0, includeAll: false, multi: false, refresh: 2, regex: '/^(?!unknown$).*/', sort: 1, options: [] });
  }
  return {
    uid: d.uid, title: d.title, description: d.description, tags: d.tags, editable: true, graphTooltip: 1, schemaVersion: 39, version: 1,
    time: { from: 'now-6h', to: 'now' }, refresh: '30s', timezone: 'browser',
    templating: { list: variables }, annotations: { list: [] },
    links: [{ title: 'Redeliver dashboards', type: 'dashboards', tags: ['redeliver'], asDropdown: true, includeVars: false, keepTime: true }],
    panels,
  };
}

export const DASHBOARDS = { 'redeliver-overview': overview, 'redeliver-endpoint': endpoint, 'redeliver-controller': controller };

export function renderDashboards(): Record<string, string> {
  return Object.fromEntries(Object.entries(DASHBOARDS).map(([file, d]) => [`${file}.json`, JSON.stringify(dashboardJson(d), null, 2) + '\n']));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, text] of Object.entries(renderDashboards())) writeFileSync(new URL(`../charts/redeliver/dashboards/${file}`, import.meta.url), text);
}
