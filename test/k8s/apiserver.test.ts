// Proves the test control plane (test/support/kube.ts) is a working
// kube-apiserver: version, built-in resources, and custom resources end to end.
// Custom-resource writes are what crashed with the vendored reflect2 v1.0.1 on
// Go >= 1.18, so the CR create/patch below guards that build fix.
import { expect } from 'chai';
import { startKubeApiServer } from '../support/kube.ts';
import type { KubeTestEnv, KubectlResult } from '../support/kube.ts';

// A cold machine builds kube-apiserver first (several minutes on 2 cores).
const COLD_BUILD_TIMEOUT_MS = 15 * 60_000;

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.redeliver.io' },
  spec: {
    group: 'test.redeliver.io',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [{
      name: 'v1',
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              required: ['size'],
              properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string' } },
            },
            status: { type: 'object', properties: { phase: { type: 'string' } } },
          },
        },
      },
    }],
  },
};

function widget(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'test.redeliver.io/v1', kind: 'Widget', metadata: { name, namespace: 'default' }, spec });
}

/** Fails with kubectl's own stderr, which says far more than "expected 1 to equal 0". */
function ok(r: KubectlResult): string {
  expect(r.code, `kubectl failed: ${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('test control plane: real kube-apiserver 1.20 + etcd', function () {
  this.timeout(COLD_BUILD_TIMEOUT_MS);
  let env: KubeTestEnv | undefined;
  const k = (args: string[], input?: string) => env!.kubectl(args, input);

  before(async function () {
    env = await startKubeApiServer();
  });

  after(async function () {
    await env?.stop();
  });

  it('reports server version v1.20', async function () {
    const v = JSON.parse(ok(await k(['version', '-o', 'json']))) as { serverVersion: { gitVersion: string; major: string; minor: string } };
    expect(v.serverVersion.gitVersion).to.match(/^v1\.20\./);
    expect(v.serverVersion.major).to.equal('1');
    expect(v.serverVersion.minor).to.equal('20');
  });

  it('lists the default namespace', async function () {
    expect(ok(await k(['get', 'ns', '-o', 'name'])).split('\n')).to.include('namespace/default');
  });

  it('serves a CRD: create, read, validate, patch status, delete a custom object', async function () {
    ok(await k(['apply', '-f', '-'], JSON.stringify(WIDGET_CRD)));
    ok(await k(['wait', '--for=condition=Established', 'crd/widgets.test.redeliver.io', '--timeout=60s']));

    ok(await k(['create', '-f', '-'], widget('w1', { size: 3, color: 'blue' })));
    const got = JSON.parse(ok(await k(['get', 'widget', 'w1', '-o', 'json']))) as { spec: { size: number; color: string } };
    expect(got.spec).to.deep.equal({ size: 3, color: 'blue' });

    // The structural schema is enforced by the server.
    const bad = await k(['create', '-f', '-'], widget('w2', { size: 'big' }));
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/spec\.size/);

    // Status goes through its subresource (kubectl sends PATCH .../widgets/w1/status).
    ok(await k(['patch', 'widget', 'w1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready"}}']));
    const status = JSON.parse(ok(await k(['get', '--raw', '/apis/test.redeliver.io/v1/namespaces/default/widgets/w1/status']))) as { status?: { phase?: string } };
    expect(status.status?.phase).to.equal('Ready');

    // With the subresource enabled, status in a main-resource write is ignored.
    ok(await k(['patch', 'widget', 'w1', '--type=merge', '-p', '{"spec":{"size":4},"status":{"phase":"Hacked"}}']));
    const after = JSON.parse(ok(await k(['get', 'widget', 'w1', '-o', 'json']))) as { spec: { size: number }; status: { phase: string } };
    expect(after.spec.size).to.equal(4);
    expect(after.status.phase).to.equal('Ready');

    ok(await k(['delete', 'widget', 'w1', '--wait=true']));
    const gone = await k(['get', 'widget', 'w1']);
    expect(gone.code).to.not.equal(0);
    expect(gone.stderr).to.match(/NotFound|not found/);
  });
});

describe('test control plane with RBAC authorization', function () {
  this.timeout(COLD_BUILD_TIMEOUT_MS);
  let env: KubeTestEnv | undefined;

  before(async function () {
    env = await startKubeApiServer({ rbac: true });
  });

  after(async function () {
    await env?.stop();
  });

  it('lets the admin (system:masters) do anything and denies an unbound service account', async function () {
    const admin = await env!.kubectl(['auth', 'can-i', 'create', 'customresourcedefinitions']);
    expect(admin.stdout.trim()).to.equal('yes');
    // Impersonation is allowed for system:masters; the account has no bindings.
    const sa = await env!.kubectl(['auth', 'can-i', 'get', 'pods', '--as=system:serviceaccount:default:nobody']);
    expect(sa.stdout.trim()).to.equal('no');
  });
});
