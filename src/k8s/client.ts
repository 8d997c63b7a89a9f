// The few Kubernetes API calls the controller makes, on top of @kubernetes/client-node's generated
// clients. Every request has a deadline: a hung API server must not hang a reconcile or the
// leader election's renew loop (the data plane never waits on any of this).
//
// Patches: custom objects take a JSON patch (RFC 6902) by default. Finalizer changes use one with
// a `test` of the resourceVersion, so two writers can never drop each other's finalizers; status
// is written with `add /status` (replaces it whole, and works when there is no status yet).
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type Middleware,
  type V1Lease,
} from '@kubernetes/client-node';
import { GROUP, VERSION, type Kind, type KubeObject } from './resources.ts';

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

export interface EventInput {
  namespace: string;
  involved: { kind: string; name: string; namespace: string; uid: string; resourceVersion?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  component: string;
  instance: string;
}

/** What the controller needs from the API server; tests may pass another implementation. */
export interface KubeClient {
  listObjects<T extends KubeObject>(kind: Kind): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  getObject<T extends KubeObject>(kind: Kind, namespace: string, name: string): Promise<T | undefined>;
  patchObject<T extends KubeObject>(kind: Kind, namespace: string, name: string, ops: JsonPatchOp[]): Promise<T>;
  patchStatus<T extends KubeObject>(kind: Kind, namespace: string, name: string, status: object): Promise<T>;
  /** A Secret's data, decoded; undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  createEvent(e: EventInput): Promise<void>;
  getLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replaceLease(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export interface KubeClientOptions {
  /** Deadline of each request (default 10 s). */
  requestTimeoutMs?: number;
}

/** The HTTP status of a failed API call (0 when there was no answer: refused, timed out…). */
export function httpStatus(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : 0;
}

/** The API server's own message (`Status.message`) of a failed call, else the error's. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      if (body) return body;
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const orUndefinedOn404 = <T>(p: Promise<T>): Promise<T | undefined> =>
  p.catch((err: unknown) => {
    if (httpStatus(err) === 404) return undefined;
    throw err;
  });

function deadline(ms: number): Middleware {
  return {
    pre: async (ctx) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      return ctx;
    },
    post: async (res) => res,
  };
}

export function createKubeClient(kubeConfig: KubeConfig, opts: KubeClientOptions = {}): KubeClient {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [deadline(opts.requestTimeoutMs ?? 10_000)],
  });
  const custom = new CustomObjectsApi(config);
  const core = new CoreV1Api(config);
  const coordination = new CoordinationV1Api(config);
  // Per-call options (observable middleware, appended to the deadline middleware above).
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const at = (kind: Kind, namespace: string, name: string) => ({ group: GROUP, version: VERSION, plural: kind.plural, namespace, name });

  return {
    listObjects: (kind) => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: kind.plural }),
    getObject: (kind, namespace, name) => orUndefinedOn404(custom.getNamespacedCustomObject(at(kind, namespace, name))),
    patchObject: (kind, namespace, name, ops) => custom.patchNamespacedCustomObject({ ...at(kind, namespace, name), body: ops }, jsonPatch),
    patchStatus: (kind, namespace, name, status) =>
      custom.patchNamespacedCustomObjectStatus({ ...at(kind, namespace, name), body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch),
    async getSecret(namespace, name) {
      const secret = await orUndefinedOn404(core.readNamespacedSecret({ namespace, name }));
      if (!secret) return undefined;
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
      return data;
    },
    async createEvent(e) {
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: e.namespace,
        body: {
          metadata: { generateName: `${e.involved.name}.`, namespace: e.namespace },
          involvedObject: { apiVersion: `${GROUP}/${VERSION}`, ...e.involved },
          type: e.type,
          reason: e.reason,
          message: e.message,
          source: { component: e.component },
          reportingComponent: e.component,
          reportingInstance: e.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    },
    getLease: (namespace, name) => orUndefinedOn404(coordination.readNamespacedLease({ namespace, name })),
    createLease: (namespace, body) => coordination.createNamespacedLease({ namespace, body }),
    replaceLease: (namespace, name, body) => coordination.replaceNamespacedLease({ namespace, name, body }),
  };
}
