// Helpers shared by the operator suites: a control plane with Redeliver's CRDs installed, a
// controller with test-speed timings, and polling for conditions the API server reports.
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { createController, type Controller, type ControllerOptions } from '../../src/controller/index.ts';
import type { Shared } from '../../src/lib/runtime.ts';
import { startKubeApiServer, type KubectlResult, type KubeTestEnv, type StartOptions } from '../support/kube.ts';

// A cold machine builds kube-apiserver first (several minutes on 2 cores).
export const SUITE_TIMEOUT_MS = 15 * 60_000;

export const CRD_FILES = ['crds/webhookendpoints.yaml', 'crds/replayrequests.yaml'];

/** Fails with kubectl's own stderr, which says far more than "expected 1 to equal 0". */
export function ok(r: KubectlResult): string {
  expect(r.code, `kubectl failed: ${r.stderr}`).to.equal(0);
  return r.stdout;
}

/**
 * The API server with the CRDs and the controller's namespace. `--validate=false`: kubectl
 * validates a CRD against the server's own OpenAPI for CustomResourceDefinition, and 1.20's has
 * no `x-kubernetes-validations` (CEL came in 1.25), so it refuses the field; the server itself
 * drops unknown fields, and the controller checks those rules in code. (`-f crds/` works too, see
 * test/packaging/deploy.test.ts; naming the files keeps this independent of the folder's layout.)
 */
export async function startKubeWithCrds(opts: StartOptions = {}): Promise<KubeTestEnv> {
  const env = await startKubeApiServer(opts);
  try {
    ok(await env.kubectl(['apply', '--validate=false', ...CRD_FILES.flatMap((f) => ['-f', f])]));
    ok(await env.kubectl(['wait', '--for=condition=Established', 'crd/webhookendpoints.redeliver.io', 'crd/replayrequests.redeliver.io', '--timeout=60s']));
    ok(await env.kubectl(['create', 'namespace', 'redeliver-system']));
  } catch (err) {
    await env.stop();
    throw err;
  }
  return env;
}

export function kubeConfigOf(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** Test-speed timings: leases of seconds, a status refresh every 500 ms. */
export const FAST: Omit<ControllerOptions, 'kubeConfig'> = {
  leaseDurationMs: 3000,
  renewDeadlineMs: 2000,
  retryPeriodMs: 250,
  refreshMs: 500,
  replayPollMs: 200,
  layoutQuietMs: 1000,
  secretTtlMs: 1000,
};

export async function startController(shared: Shared, kubeconfig: string, opts: Partial<ControllerOptions> = {}): Promise<Controller> {
  const c = createController(shared, { kubeConfig: kubeConfigOf(kubeconfig), ...FAST, ...opts });
  await c.start?.();
  return c;
}

/** Polls `probe` until it returns a value other than undefined/false. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ObjectView {
  metadata: { name: string; namespace: string; uid: string; generation: number; resourceVersion: string; finalizers?: string[]; deletionTimestamp?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: ConditionView[]; observedGeneration?: number };
}

export async function getObject(env: KubeTestEnv, kind: string, name: string, namespace = 'default'): Promise<ObjectView | undefined> {
  const r = await env.kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as ObjectView;
}

export const condition = (o: ObjectView | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** Waits until the object's condition matches (status, and reason when given). */
export function waitForCondition(env: KubeTestEnv, kind: string, name: string, type: string, status: string, reason?: string, namespace = 'default', timeoutMs = 20_000): Promise<ObjectView> {
  return waitFor(`${kind}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`, async () => {
    const o = await getObject(env, kind, name, namespace);
    const c = condition(o, type);
    return c && c.status === status && (!reason || c.reason === reason) ? o : undefined;
  }, timeoutMs, 200);
}

export interface EventView {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

export async function eventsFor(env: KubeTestEnv, name: string, namespace = 'default'): Promise<EventView[]> {
  const r = ok(await env.kubectl(['get', 'events', '-n', namespace, '--field-selector', `involvedObject.name=${name}`, '-o', 'json']));
  return (JSON.parse(r) as { items: EventView[] }).items;
}

export function yamlDoc(obj: unknown): string {
  return JSON.stringify(obj);
}

export function webhookEndpoint(name: string, spec: Record<string, unknown>, namespace = 'default') {
  return { apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', metadata: { name, namespace }, spec };
}
