// Renders deploy/ (plain manifests for kustomize and GitOps tools) from the Helm chart, so the two
// cannot drift: the chart is the one source, and this script writes its output with the settings
// each kustomization stands for. Run it after changing the chart:
//
//   npm exec --no -- node scripts/render-deploy.ts
//
// test/packaging/deploy.test.ts fails when a file differs from what this script writes, and checks
// that each overlay renders the same objects as the chart with the same settings.
//
//   deploy/base            the roles, RBAC, Services, PDBs; REDIS_URL from Secret redeliver-redis
//   deploy/overlays/external-redis   base as it is (you create the redeliver-redis Secret)
//   deploy/overlays/bundled-redis    base + the chart's single Redis (AOF), REDIS_URL pointed at it
//   deploy/monitoring      PrometheusRule and Grafana dashboard ConfigMaps (Prometheus Operator)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const RELEASE = 'redeliver';
export const NAMESPACE = 'redeliver-system';

/** The chart values each part of deploy/ is rendered with (the tests render the chart with them too). */
export const SETTINGS = {
  base: { 'redis.external.existingSecret': 'redeliver-redis' },
  bundledRedis: {},
  monitoring: { 'prometheusRule.enabled': true, 'grafanaDashboard.enabled': true },
} as const;

const HEADER = '# Generated from charts/redeliver by scripts/render-deploy.ts: edit the chart, then run the script.\n';
/** Labels that only say Helm made the object. */
const HELM_ONLY = /^\s*(helm\.sh\/chart|app\.kubernetes\.io\/managed-by): .*\n/gm;

function helmBin(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/helm.sh')], { encoding: 'utf8' });
  const m = r.stdout.match(/^HELM=(.+)$/m);
  if (r.status !== 0 || !m) throw new Error(`scripts/helm.sh failed: ${r.stderr}`);
  return m[1]!;
}

/** `helm template` output, split by the template file each document came from. */
export function renderChart(helm: string, sets: Record<string, string | boolean>): Map<string, string[]> {
  const args = ['template', RELEASE, join(ROOT, 'charts/redeliver'), '--namespace', NAMESPACE];
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${String(v)}`);
  const r = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const bySource = new Map<string, string[]>();
  for (const doc of r.stdout.split(/^---\n/m)) {
    const m = doc.match(/^# Source: redeliver\/(\S+)\n/);
    if (!m) continue;
    const body = doc.slice(m[0].length).replace(HELM_ONLY, '').trimEnd() + '\n';
    bySource.set(m[1]!, [...(bySource.get(m[1]!) ?? []), body]);
  }
  return bySource;
}

const fileOf = (docs: string[]) => HEADER + docs.join('---\n');
const baseName = (source: string) => source.replace(/^templates\//, '');

const kustomization = (comment: string, body: string) =>
  `${comment.trim().split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;

export function renderDeploy(helm = helmBin()): Record<string, string> {
  const files: Record<string, string> = {};
  const base = renderChart(helm, SETTINGS.base);
  const baseFiles: string[] = [];
  for (const [source, docs] of base) {
    if (!source.startsWith('templates/')) continue; // the CRDs come from crds/ itself
    files[`deploy/base/${baseName(source)}`] = fileOf(docs);
    baseFiles.push(baseName(source));
  }
  files['deploy/base/kustomization.yaml'] = kustomization(`
Redeliver's roles, RBAC, Services and disruption budgets, rendered from the chart (default values,
redis.external.existingSecret=redeliver-redis). Use an overlay: overlays/bundled-redis or
overlays/external-redis. Create the Secrets first (docs/deploy.md): redeliver-key (key "key"),
redeliver-api-keys (key "keys") and, for external Redis, redeliver-redis (key "url").`, `namespace: ${NAMESPACE}
resources:
  - ../../crds
  - namespace.yaml
${baseFiles.sort().map((f) => `  - ${f}`).join('\n')}
`);

  const bundled = renderChart(helm, SETTINGS.bundledRedis);
  files['deploy/overlays/bundled-redis/redis.yaml'] = fileOf(bundled.get('templates/redis.yaml') ?? []);
  files['deploy/overlays/bundled-redis/kustomization.yaml'] = kustomization(`
The base with the chart's bundled single-node Redis (AOF everysec, noeviction with maxmemory below
its memory limit, a PersistentVolumeClaim, a NetworkPolicy) and every role's REDIS_URL pointed
at it. Not highly available: for production use overlays/external-redis.`, `resources:
  - ../../base
  - redis.yaml
patches:
  - path: redis-url.yaml
    target:
      kind: Deployment
`);
  const url = /value: "(redis:\/\/[^"]+)"/.exec((bundled.get('templates/deployment-ingest.yaml') ?? []).join(''))?.[1];
  files['deploy/overlays/bundled-redis/redis-url.yaml'] = `${HEADER}# REDIS_URL, the first env entry of every role, from the bundled Redis instead of the Secret.
- op: test
  path: /spec/template/spec/containers/0/env/0/name
  value: REDIS_URL
- op: replace
  path: /spec/template/spec/containers/0/env/0
  value:
    name: REDIS_URL
    value: ${url}
`;
  files['deploy/overlays/external-redis/kustomization.yaml'] = kustomization(`
The base as it is: every role reads REDIS_URL from the Secret redeliver-redis (key "url"), e.g.
  kubectl -n ${NAMESPACE} create secret generic redeliver-redis \\
    --from-literal=url='rediss://:PASSWORD@redis.example.com:6380/0'
rediss:// turns TLS on; a managed Redis, Sentinel-fronted Redis or Redis Cluster all work.`, `resources:
  - ../../base
`);

  const monitoring = renderChart(helm, SETTINGS.monitoring);
  const monitoringFiles: string[] = [];
  for (const source of ['templates/prometheusrule.yaml', 'templates/grafana-dashboard.yaml']) {
    files[`deploy/monitoring/${baseName(source)}`] = fileOf(monitoring.get(source) ?? []);
    monitoringFiles.push(baseName(source));
  }
  files['deploy/monitoring/kustomization.yaml'] = kustomization(`
Alerts (PrometheusRule, needs the Prometheus Operator's CRDs; runbooks in docs/runbooks.md) and the
Grafana dashboards as ConfigMaps labelled for the Grafana sidecar (grafana_dashboard: "1").
Apply beside an overlay: kubectl apply -k deploy/monitoring`, `namespace: ${NAMESPACE}
resources:
${monitoringFiles.map((f) => `  - ${f}`).join('\n')}
`);
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [path, text] of Object.entries(renderDeploy())) {
    mkdirSync(dirname(join(ROOT, path)), { recursive: true });
    writeFileSync(join(ROOT, path), text);
  }
}
