// deploy/ (kustomize) and the chart against each other and against a real kube-apiserver 1.20:
// - every file under deploy/ that scripts/render-deploy.ts writes is current (the chart is the
//   one source of truth, so readiness thresholds, annotations and comments cannot drift);
// - each overlay, rendered by the real kustomize (kubectl kustomize), is the chart rendered with
//   the same settings, object for object;
// - `kubectl apply -f crds/` and the documented `kubectl apply -k crds/` both work;
// - every object the chart (in each value variant) and the overlays render is accepted by the
//   API server (`kubectl apply --dry-run=server`), except kinds 1.20 does not serve, named below.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { renderDeploy, SETTINGS } from '../../scripts/render-deploy.ts';
import { startKubeApiServer, type KubeTestEnv } from '../support/kube.ts';
import { ok, SUITE_TIMEOUT_MS } from '../k8s/support.ts';
import { VARIANTS } from './variants.ts';
import { helm, helmTemplate, objectId, parseObjects, runOk, type K8sObject } from './tools.ts';

/**
 * What kube-apiserver 1.20 does not serve, and how it is still checked. policy/v1
 * PodDisruptionBudget (1.21+) and autoscaling/v2 HorizontalPodAutoscaler (1.23+) are sent as
 * policy/v1beta1 and autoscaling/v2beta2, which 1.20 serves with the same fields for what the chart
 * uses (maxUnavailable + selector; a CPU Utilization target). The Prometheus Operator's kinds are
 * left out: their CRDs are not installed here (the rules inside the PrometheusRule are checked by
 * promtool in alerts.test.ts). The chart itself requires 1.25.
 */
const OLDER_VERSION: Record<string, string> = {
  'policy/v1/PodDisruptionBudget': 'policy/v1beta1',
  'autoscaling/v2/HorizontalPodAutoscaler': 'autoscaling/v2beta2',
};
const NOT_IN_1_20 = new Set(['monitoring.coreos.com/v1/PrometheusRule', 'monitoring.coreos.com/v1/ServiceMonitor']);
const for120 = (objs: K8sObject[]) => objs
  .filter((o) => !NOT_IN_1_20.has(`${o.apiVersion}/${o.kind}`) && o.kind !== 'CustomResourceDefinition')
  .map((o): K8sObject => ({ ...o, apiVersion: OLDER_VERSION[`${o.apiVersion}/${o.kind}`] ?? o.apiVersion }));
/** Labels only Helm puts on (deploy/ is rendered without them). */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by'];

function withoutHelmLabels(o: K8sObject): K8sObject {
  const copy = structuredClone(o);
  for (const l of HELM_LABELS) delete copy.metadata.labels?.[l];
  return copy;
}

const byId = (objs: K8sObject[]) => new Map(objs.map((o) => [objectId(o), o]));
const kustomize = async (dir: string) => parseObjects(await runOk('kubectl', ['kustomize', dir]));

describe('deploy/ (kustomize) and the chart, on a real kube-apiserver 1.20', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  const k = (args: string[], input?: string) => env.kubectl(args, input);

  before(async function () {
    env = await startKubeApiServer();
    // Namespaces the variants render into.
    for (const ns of ['redeliver-system', 'shop', 'billing']) ok(await k(['create', 'namespace', ns]));
  });
  after(async function () {
    await env?.stop();
  });

  it('holds exactly what scripts/render-deploy.ts writes from the chart', async function () {
    const files = renderDeploy(await helm());
    expect(Object.keys(files).length).to.be.greaterThan(10);
    for (const [path, text] of Object.entries(files)) expect(readFileSync(path, 'utf8'), `${path} is stale: run scripts/render-deploy.ts`).to.equal(text);
  });

  const compare = async (overlay: string, sets: Record<string, string | boolean>) => {
    const fromKustomize = (await kustomize(overlay)).filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
    const fromChart = (await helmTemplate(sets)).map(withoutHelmLabels);
    expect([...byId(fromKustomize).keys()].sort()).to.deep.equal([...byId(fromChart).keys()].sort());
    const chart = byId(fromChart);
    for (const o of fromKustomize) expect(o, objectId(o)).to.deep.equal(chart.get(objectId(o)));
    return fromKustomize;
  };

  it('overlays/bundled-redis renders the same objects as the chart with its defaults', async function () {
    const objs = await compare('deploy/overlays/bundled-redis', SETTINGS.bundledRedis);
    expect(objs.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name)).to.deep.equal(['redeliver-redis']);
  });

  it('overlays/external-redis renders the same objects as the chart with redis.external.existingSecret', async function () {
    const objs = await compare('deploy/overlays/external-redis', SETTINGS.base);
    expect(objs.filter((o) => o.kind === 'StatefulSet')).to.deep.equal([]);
  });

  it('monitoring renders the chart\'s PrometheusRule and dashboards', async function () {
    const fromKustomize = await kustomize('deploy/monitoring');
    const chart = byId((await helmTemplate(SETTINGS.monitoring)).map(withoutHelmLabels));
    expect(fromKustomize.map((o) => o.kind).sort()).to.deep.equal(['ConfigMap', 'ConfigMap', 'ConfigMap', 'PrometheusRule']);
    for (const o of fromKustomize) expect(o, objectId(o)).to.deep.equal(chart.get(objectId(o)));
  });

  it('installs the CRDs with kubectl apply -f crds/ and with kubectl apply -k crds/', async function () {
    // --validate=false: 1.20's OpenAPI for CRDs lacks x-kubernetes-validations (CEL, 1.25+).
    const applied = ok(await k(['apply', '--validate=false', '-f', 'crds/']));
    expect(applied).to.include('customresourcedefinition.apiextensions.k8s.io/webhookendpoints.redeliver.io');
    expect(applied).to.include('customresourcedefinition.apiextensions.k8s.io/replayrequests.redeliver.io');
    ok(await k(['apply', '--validate=false', '-k', 'crds/']));
    ok(await k(['wait', '--for=condition=Established', 'crd/webhookendpoints.redeliver.io', 'crd/replayrequests.redeliver.io', '--timeout=60s']));
  });

  const dryRun = async (what: string, objs: K8sObject[]) => {
    const served = for120(objs);
    expect(served.length, what).to.be.greaterThan(5);
    const r = await k(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: served }));
    expect(r.code, `${what}: ${r.stderr}`).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(served.length);
  };

  for (const [name, sets] of Object.entries(VARIANTS)) {
    it(`the API server accepts what the chart renders: ${name}`, async function () {
      await dryRun(name, await helmTemplate(sets));
    });
  }

  it('the dry run refuses what the API server would (a misspelt field, a bad value)', async function () {
    const objs = for120(await helmTemplate(VARIANTS['autoscaling and Ingress with TLS']!));
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    const deployment = objs.find((o) => o.kind === 'Deployment')!;
    const bad = [
      { ...hpa, spec: { ...(hpa.spec as object), minReplica: 2 } },
      { ...deployment, spec: { ...(deployment.spec as object), replicas: 'two' } },
    ];
    for (const o of bad) {
      const r = await k(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(o));
      expect(r.code, `${o.kind} accepted`).to.not.equal(0);
    }
  });

  for (const dir of ['deploy/overlays/bundled-redis', 'deploy/overlays/external-redis', 'deploy']) {
    it(`the API server accepts kubectl apply -k ${dir}`, async function () {
      await dryRun(dir, (await kustomize(dir)).filter((o) => o.kind !== 'Namespace'));
    });
  }
});
