// The Helm chart with the real helm 3 (scripts/helm.sh): `helm lint --strict` and `helm template`
// across value variants, values.schema.json refusing bad values with messages that name the
// field, the CRDs identical to crds/, NOTES.txt telling the ingest URL and the dashboards, and
// the rendered workloads' settings (HPA, Ingress, external Redis, bundled Redis maxmemory).
import { readFileSync, readdirSync, mkdtempSync, cpSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CHART, helm, helmTemplate, run, type K8sObject } from './tools.ts';
import { VARIANTS } from './variants.ts';


const setArgs = (sets: Record<string, string | number | boolean>) =>
  Object.entries(sets).flatMap(([k, v]) => [typeof v === 'string' ? '--set-string' : '--set', `${k}=${String(v)}`]);

const find = (objs: K8sObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
type Container = { args?: string[]; env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; volumeMounts?: Array<{ name: string; mountPath: string }> };
const container = (d: K8sObject | undefined) => (d?.spec as { template: { spec: { containers: Container[] } } } | undefined)?.template.spec.containers[0];
const env = (d: K8sObject | undefined, name: string) => container(d)?.env?.find((e) => e.name === name);

/** NOTES.txt rendered by helm itself (through tpl), since `helm template` skips it. */
async function renderNotes(sets: Record<string, string | number | boolean>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'redeliver-notes-'));
  try {
    cpSync(CHART, dir, { recursive: true });
    renameSync(join(dir, 'templates/NOTES.txt'), join(dir, 'NOTES.txt'));
    writeFileSync(join(dir, 'templates/notes.yaml'), 'notes: |\n{{ tpl (.Files.Get "NOTES.txt") . | indent 2 }}\n');
    const r = await run(await helm(), ['template', 'redeliver', dir, '-n', 'shop', '--show-only', 'templates/notes.yaml', ...setArgs(sets)]);
    expect(r.code, r.stderr).to.equal(0);
    return (parse(r.stdout) as { notes: string }).notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Helm chart (real helm 3)', function () {
  this.timeout(300_000);

  for (const [name, sets] of Object.entries(VARIANTS)) {
    it(`passes helm lint --strict and renders: ${name}`, async function () {
      const lint = await run(await helm(), ['lint', '--strict', CHART, ...setArgs(sets)]);
      expect(lint.code, lint.stdout + lint.stderr).to.equal(0);
      const objs = await helmTemplate(sets);
      for (const role of ['controller', 'ingest', 'dispatcher', 'api']) expect(find(objs, 'Deployment', `redeliver-${role}`), role).to.not.equal(undefined);
    });
  }

  it('refuses bad values with messages that name the field', async function () {
    const cases: Array<[Record<string, string | number | boolean>, RegExp]> = [
      [{ 'redis.bundled.appendfsync': 'no' }, /redis\.bundled\.appendfsync: .*must be one of the following: "everysec", "always"/],
      [{ 'ingest.replicas': 0 }, /ingest\.replicas: Must be greater than or equal to 1/],
      [{ 'redis.external.url': 'http://redis:6379' }, /redis\.external\.url: Does not match pattern/],
      [{ 'redis.external.url': 'redis://:hunter2@redis:6379' }, /redis\.external\.url: Does not match pattern/],
      [{ 'redis.bundled.maxmemory': '1G' }, /redis\.bundled\.maxmemory: Does not match pattern/],
      [{ 'dispatcher.autoscaling.targetCPUUtilizationPercentage': 150 }, /dispatcher\.autoscaling\.targetCPUUtilizationPercentage: Must be less than or equal to 100/],
      [{ 'ingest.replica': 3 }, /ingest: Additional property replica is not allowed/],
      [{ 'image.pullPolicy': 'Sometimes' }, /image\.pullPolicy: .*must be one of the following/],
    ];
    for (const [sets, message] of cases) {
      const r = await run(await helm(), ['template', 'redeliver', CHART, ...setArgs(sets)]);
      expect(r.code, JSON.stringify(sets)).to.not.equal(0);
      expect(r.stderr, JSON.stringify(sets)).to.match(message);
    }
  });

  it('ships CRDs identical to crds/', function () {
    const yamls = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    expect(yamls(`${CHART}/crds`)).to.deep.equal(yamls('crds'));
    for (const f of yamls('crds')) expect(readFileSync(`${CHART}/crds/${f}`, 'utf8'), f).to.equal(readFileSync(`crds/${f}`, 'utf8'));
  });

  it('bundled Redis: AOF, noeviction with maxmemory below the memory limit', async function () {
    const objs = await helmTemplate({});
    const redis = container(find(objs, 'StatefulSet', 'redeliver-redis'));
    const args = redis?.args ?? [];
    const arg = (flag: string) => args[args.indexOf(flag) + 1];
    expect(arg('--appendonly')).to.equal('yes');
    expect(arg('--maxmemory-policy')).to.equal('noeviction');
    const bytes = (v: string) => Number(/^(\d+)/.exec(v)![1]) * ({ kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 } as Record<string, number>)[/[a-zA-Z]+$/.exec(v)![0]]!;
    const limit = (redis as { resources?: { limits?: { memory?: string } } } | undefined)?.resources?.limits?.memory ?? '';
    expect(bytes(arg('--maxmemory')!)).to.be.greaterThan(0).and.lessThan(bytes(limit) * 0.9);
    expect(env(find(objs, 'Deployment', 'redeliver-ingest'), 'REDIS_URL')?.value).to.equal('redis://redeliver-redis:6379');
  });

  it('external Redis: password from its Secret into the URL, a private CA trusted, no bundled Redis', async function () {
    const objs = await helmTemplate(VARIANTS['external Redis URL with password Secret and TLS CA']!);
    expect(objs.filter((o) => o.metadata.name.startsWith('redeliver-redis'))).to.deep.equal([]);
    for (const role of ['controller', 'ingest', 'dispatcher', 'api']) {
      const d = find(objs, 'Deployment', `redeliver-${role}`);
      expect(env(d, 'REDIS_PASSWORD')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
      expect(env(d, 'REDIS_URL')?.value).to.equal('rediss://:$(REDIS_PASSWORD)@redis.example.com:6380/0');
      // Kubernetes expands $(VAR) only from entries listed before.
      const names = container(d)!.env!.map((e) => e.name);
      expect(names.indexOf('REDIS_PASSWORD')).to.be.lessThan(names.indexOf('REDIS_URL'));
      expect(env(d, 'NODE_EXTRA_CA_CERTS')?.value).to.equal('/etc/redeliver/redis-ca/ca.crt');
      expect(container(d)!.volumeMounts).to.deep.include({ name: 'redis-ca', mountPath: '/etc/redeliver/redis-ca', readOnly: true });
    }
  });

  it('autoscaling: HPAs for ingest and dispatcher, whose Deployments leave replicas to them; Ingress routes /in/', async function () {
    const objs = await helmTemplate(VARIANTS['autoscaling and Ingress with TLS']!);
    for (const role of ['ingest', 'dispatcher']) {
      const hpa = find(objs, 'HorizontalPodAutoscaler', `redeliver-${role}`);
      expect(hpa?.apiVersion).to.equal('autoscaling/v2');
      expect((hpa?.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).to.equal(`redeliver-${role}`);
      expect(find(objs, 'Deployment', `redeliver-${role}`)?.spec).to.not.have.property('replicas');
    }
    expect(find(objs, 'Deployment', 'redeliver-api')?.spec).to.have.property('replicas', 1);
    const ingress = find(objs, 'Ingress', 'redeliver-ingest');
    expect((ingress?.spec as { rules: unknown[] }).rules).to.deep.equal([{ host: 'hooks.example.com', http: { paths: [
      { path: '/in/', pathType: 'Prefix', backend: { service: { name: 'redeliver-ingest', port: { name: 'http' } } } },
    ] } }]);
  });

  it('monitoring: one dashboard ConfigMap per dashboard, with the sidecar label and valid JSON', async function () {
    const objs = await helmTemplate(VARIANTS['monitoring: ServiceMonitor, PrometheusRule, dashboards']!);
    const maps = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'));
    expect(maps.map((m) => m.metadata.name).sort()).to.deep.equal(['redeliver-controller-dashboard', 'redeliver-endpoint-dashboard', 'redeliver-overview-dashboard']);
    for (const m of maps) {
      expect(m.metadata.labels?.grafana_dashboard).to.equal('1');
      const [file, json] = Object.entries(m.data as Record<string, string>)[0]!;
      expect(JSON.parse(json)).to.deep.equal(JSON.parse(readFileSync(`${CHART}/dashboards/${file}`, 'utf8')));
    }
    const endpointBoard = JSON.parse(readFileSync(`${CHART}/dashboards/redeliver-endpoint.json`, 'utf8')) as { templating: { list: Array<{ name: string; type: string }> } };
    expect(endpointBoard.templating.list.find((v) => v.name === 'endpoint')?.type).to.equal('query');
    expect(find(objs, 'ServiceMonitor', 'redeliver')).to.not.equal(undefined);
  });

  it('NOTES.txt tells the ingest URL and how to reach the dashboards', async function () {
    const withIngress = await renderNotes({ 'ingest.ingress.enabled': true, 'ingest.ingress.host': 'hooks.example.com', 'ingest.ingress.tls[0].secretName': 't', 'grafanaDashboard.enabled': true });
    expect(withIngress).to.include('https://hooks.example.com/in/<namespace>/<name>');
    expect(withIngress).to.include('Redeliver / Overview');
    expect(withIngress).to.include('kubectl -n shop port-forward svc/redeliver-api 8080:8080');
    const plain = await renderNotes({});
    expect(plain).to.include('kubectl -n shop port-forward svc/redeliver-ingest 8081:8080');
    expect(plain).to.include('grafanaDashboard.enabled=true');
  });

  it('dashboards are what scripts/dashboards.ts writes', async function () {
    const { renderDashboards } = await import('../../scripts/dashboards.ts');
    for (const [file, text] of Object.entries(renderDashboards())) expect(readFileSync(`${CHART}/dashboards/${file}`, 'utf8'), file).to.equal(text);
  });
});
