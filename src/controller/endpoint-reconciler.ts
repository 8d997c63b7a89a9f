// The WebhookEndpoint reconciler: fetch (informer cache) → observe (schema, Secrets, Redis) →
// planEndpoint (pure) → apply the actions in order, through the path standalone mode's YAML folder
// shares (endpoint-sync.ts); here the Secrets come from the API server and the finalizer, Events
// and status go to it. An action that fails throws, and the work queue retries the key with
// backoff; everything here is safe to repeat.
import type { Log } from '../lib/log.ts';
import { apiMessage, httpStatus, type KubeClient } from '../k8s/client.ts';
import type { EventRecorder } from '../k8s/events.ts';
import { ENDPOINT_KIND, splitKey, type WebhookEndpointObject } from '../k8s/resources.ts';
import type { ResourceValidator } from '../k8s/schema.ts';
import type { SecretRead, SecretReader } from '../k8s/secrets.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Registry } from '../store/registry.ts';
import type { PlanOptions } from './endpoint-plan.ts';
import { createEndpointSync } from './endpoint-sync.ts';
import { addFinalizerPatch, removeFinalizerPatch } from './finalizer.ts';
import { createOwnWrites } from './own-writes.ts';
import type { ReconcileResult } from './queue.ts';

export interface EndpointReconcilerDeps {
  client: KubeClient;
  registry: Registry;
  redis: RedisClient;
  keys: Keys;
  log: Log;
  validator: ResourceValidator;
  secrets: SecretReader;
  events: EventRecorder;
  get(namespace: string, name: string): WebhookEndpointObject | undefined;
  plan: PlanOptions;
  now?: () => Date;
}

export function createEndpointReconciler(deps: EndpointReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  const seenGeneration = new Map<string, number>();
  const writes = createOwnWrites<WebhookEndpointObject>();

  const readSecrets = async (res: WebhookEndpointObject): Promise<Map<string, SecretRead>> => {
    const ns = res.metadata.namespace;
    const names = new Set([res.spec?.source?.secretRef?.name, res.spec?.destination?.signing?.secretRef?.name].filter((n): n is string => !!n));
    const key = `${ns}/${res.metadata.name}`;
    if (seenGeneration.get(key) !== res.metadata.generation) for (const n of names) deps.secrets.forget(ns, n);
    seenGeneration.set(key, res.metadata.generation ?? 0);
    const out = new Map<string, SecretRead>();
    for (const n of names) {
      const s = await deps.secrets.read(ns, n);
      if (s) out.set(n, s);
    }
    return out;
  };

  const sync = createEndpointSync(deps, {
    secrets: readSecrets,
    async addFinalizer(obj) {
      const after = await deps.client.patchObject<WebhookEndpointObject>(ENDPOINT_KIND, obj.metadata.namespace, obj.metadata.name, addFinalizerPatch(obj));
      writes.wrote(obj, after);
      return after;
    },
    async removeFinalizer(obj) {
      const patch = removeFinalizerPatch(obj);
      if (patch) await deps.client.patchObject(ENDPOINT_KIND, obj.metadata.namespace, obj.metadata.name, patch).catch(ignore404);
    },
    event: (obj, eventType, reason, message) => deps.events.record(obj, eventType, reason, message),
    async status(obj, status) {
      writes.wrote(obj, await deps.client.patchStatus<WebhookEndpointObject>(ENDPOINT_KIND, obj.metadata.namespace, obj.metadata.name, status).catch(ignore404));
    },
  });

  return async (key) => {
    const { namespace, name } = splitKey(key);
    const cached = deps.get(namespace, name);
    if (!cached) {
      seenGeneration.delete(key);
      return {};
    }
    // The status this controller last wrote, while the cache has not caught up with it yet.
    const { requeueAfterMs, retry } = await sync(writes.fresh(cached));
    return { ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}), ...(retry ? { retry: true } : {}) };
  };
}

function ignore404(err: unknown): undefined {
  if (httpStatus(err) === 404) return undefined;
  throw new Error(apiMessage(err), { cause: err });
}
