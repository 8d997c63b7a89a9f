// The controller's RBAC is enough, and no more than that: the API server runs with
// --authorization-mode=RBAC, deploy/base/rbac.yaml is applied, and a controller authenticated with a
// real token of the `redeliver` ServiceAccount (TokenRequest) registers endpoints, writes status
// and Events, holds its Lease, finalizes deletions and runs a replay. The chart's controller rules
// are checked to be the same as deploy/'s.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Controller } from '../../src/controller/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { eventsFor, getObject, kubeConfigOf, ok, startController, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, waitForCondition, webhookEndpoint } from './support.ts';

const SA = 'system:serviceaccount:redeliver-system:redeliver-controller';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface RbacDoc {
  kind: string;
  metadata: { name: string };
  rules?: Rule[];
}

/** The controller's ClusterRole and leader-election Role rules from a manifest. */
function controllerRules(docs: RbacDoc[]): { cluster: Rule[]; leader: Rule[] } {
  const find = (kind: string, suffix: string) => docs.find((d) => d.kind === kind && d.metadata.name.endsWith(suffix))?.rules ?? [];
  return { cluster: find('ClusterRole', '-controller'), leader: find('Role', '-leader-election') };
}

/**
 * The chart's template with its default values, without Helm (not installed here): the Go
 * template lines are dropped, and so is the body of the `range .Values.rbac.secretNamespaces`
 * (empty by default); `{{ … }}` in names becomes "redeliver".
 */
function chartRbacWithDefaults(): RbacDoc[] {
  const text = readFileSync('charts/redeliver/templates/rbac.yaml', 'utf8');
  const out: string[] = [];
  let inRange = false;
  for (const line of text.replace(/\{\{-? \/\*[\s\S]*?\*\/ -?\}\}/g, '').split('\n')) {
    if (/^\s*\{\{-? range /.test(line)) inRange = true;
    else if (inRange && /^\s*\{\{-? end /.test(line)) inRange = false;
    else if (!inRange && !/^\s*\{\{.*\}\}\s*$/.test(line)) out.push(line.replace(/\{\{[^}]*\}\}/g, 'redeliver'));
  }
  return parseAllDocuments(out.join('\n')).map((d) => d.toJS() as RbacDoc).filter((d) => d && d.kind);
}

describe('controller RBAC: deploy/base/rbac.yaml on an RBAC-enforcing API server (real kube-apiserver 1.20)', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let app: TestApp;
  let controller: Controller | undefined;
  let saKubeconfig: string;
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  const can = async (...args: string[]) => (await k(['auth', 'can-i', ...args, `--as=${SA}`])).stdout.trim();

  before(async function () {
    [env, redis] = await Promise.all([startKubeWithCrds({ rbac: true }), startTestRedis()]);
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'] });
    ok(await k(['apply', '-n', 'redeliver-system', '-f', 'deploy/base/serviceaccounts.yaml', '-f', 'deploy/base/rbac.yaml']));
    // A bound ServiceAccount token from the TokenRequest API (no token controller runs here). Not
    // `kubectl create token`: a kubectl as old as the server (1.20) does not have it.
    const core = kubeConfigOf(env.kubeconfig).makeApiClient(CoreV1Api);
    const request = await core.createNamespacedServiceAccountToken({
      name: 'redeliver-controller', namespace: 'redeliver-system', body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = request.status?.token ?? '';
    expect(token).to.not.equal('');
    const config = JSON.parse(readFileSync(env.kubeconfig, 'utf8')) as { users: Array<{ user: { token: string } }> };
    config.users[0]!.user.token = token;
    saKubeconfig = join(env.dir, 'kubeconfig-redeliver-sa');
    writeFileSync(saKubeconfig, JSON.stringify(config), { mode: 0o600 });
  });
  after(async function () {
    await controller?.close?.();
    await app?.close();
    await Promise.all([env?.stop(), redis?.stop()]);
  });

  it('grants the controller no more than it uses', async function () {
    expect(await can('get', 'secrets', '-n', 'default')).to.equal('yes');
    expect(await can('list', 'secrets', '-n', 'default')).to.equal('no');
    expect(await can('watch', 'secrets', '-n', 'default')).to.equal('no');
    expect(await can('update', 'webhookendpoints.redeliver.io', '-n', 'default')).to.equal('no');
    expect(await can('delete', 'webhookendpoints.redeliver.io', '-n', 'default')).to.equal('no');
    expect(await can('create', 'replayrequests.redeliver.io', '-n', 'default')).to.equal('no');
    expect(await can('update', 'leases.coordination.k8s.io/other', '-n', 'redeliver-system')).to.equal('no');
    expect(await can('update', 'leases.coordination.k8s.io/redeliver-controller', '-n', 'redeliver-system')).to.equal('yes');
    expect(await can('create', 'leases.coordination.k8s.io', '-n', 'default')).to.equal('no');
  });

  it('works with exactly those rules, authenticated as the ServiceAccount', async function () {
    controller = await startController(app.shared, saKubeconfig, { identity: 'rbac-ctl' });
    await waitFor('leadership', async () => controller!.isLeader());
    ok(await k(['apply', '-f', 'examples/endpoints/']));
    for (const name of ['github-events', 'shopify-orders', 'stripe-billing']) {
      await waitForCondition(env, 'webhookendpoint', name, 'Ready', 'True');
    }
    expect((await app.shared.registry.get('default/stripe-billing'))?.sourceSecrets).to.have.length(1);
    expect((await eventsFor(env, 'stripe-billing')).map((e) => e.reason)).to.include('Registered');
    // A CEL-rule violation: status and a Warning event.
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('bad', { source: { provider: 'hmac', secretRef: { name: 'x', keys: ['k'] } }, destination: { url: 'http://127.0.0.1:9/x' } }))));
    await waitForCondition(env, 'webhookendpoint', 'bad', 'Ready', 'False', 'InvalidSpec');
    await waitFor('InvalidSpec event', async () => (await eventsFor(env, 'bad')).some((e) => e.reason === 'InvalidSpec'));
    // A replay (nothing to replay: it finishes at once).
    await waitFor('ingest sees stripe-billing', async () => app.shared.endpoints.get('default/stripe-billing'));
    const name = ok(await k(['create', '-f', 'examples/replay.yaml', '-o', 'name'])).trim().replace(/^.*\//, '');
    await waitFor('replay Succeeded', async () => (await getObject(env, 'replayrequest', name))?.status?.phase === 'Succeeded');
    // Deletion through the finalizer.
    ok(await k(['delete', 'webhookendpoint', 'github-events', '--wait=true', '--timeout=30s']));
    expect((await app.shared.registry.get('default/github-events'))?.spec.state).to.equal('archived');
    const lease = JSON.parse(ok(await k(['get', 'lease', 'redeliver-controller', '-n', 'redeliver-system', '-o', 'json']))) as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).to.equal('rbac-ctl');
  });

  it('has the same controller rules in the Helm chart (default values) as in deploy/', function () {
    const deploy = parseAllDocuments(readFileSync('deploy/base/rbac.yaml', 'utf8')).map((d) => d.toJS() as RbacDoc);
    const chart = chartRbacWithDefaults();
    expect(controllerRules(chart)).to.deep.equal(controllerRules(deploy));
    expect(controllerRules(deploy).cluster).to.have.length(4);
    // The per-namespace Secret Role the chart can make instead (rbac.secretNamespaces): get only.
    const text = readFileSync('charts/redeliver/templates/rbac.yaml', 'utf8');
    const secretsRole = text.slice(text.indexOf('{{- range .Values.rbac.secretNamespaces }}'), text.indexOf('kind: RoleBinding', text.indexOf('{{- range .Values.rbac.secretNamespaces }}')));
    const rules = parseYaml(secretsRole.slice(secretsRole.indexOf('rules:'), secretsRole.indexOf('---', secretsRole.indexOf('rules:')))) as { rules: Rule[] };
    expect(rules.rules).to.deep.equal([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  });
});
