// The WebhookEndpoint reconciler: fetch (informer cache) → observe (schema, Secrets, Redis) →
// planEndpoint (pure) → apply the actions in order. An action that fails throws, and the work
// queue retries the key with backoff; everything here is safe to repeat.
import type { Log } from '../lib/log.ts';
import { apiMessage, httpStatus, type KubeClient } from '../k8s/client.ts';
import type { EventRecorder } from '../k8s/events.ts';
import { ENDPOINT_KIND, splitKey, type WebhookEndpointObject } from '../k8s/resources.ts';
import type { ResourceValidator } from '../k8s/schema.ts';
import type { SecretRead, SecretReader } from '../k8s/secrets.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Registry } from '../store/registry.ts';
import { observeQueues, partitionsToObserve, readStored } from './endpoint-observe.ts';
import { planEndpoint, type EndpointAction, type PlanOptions } from './endpoint-plan.ts';
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
  const now = deps.now ?? (() => new Date());
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

  const observe = async (obj: WebhookEndpointObject) => {
    const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
    // Validate a copy: the validator fills defaults in, and the informer's objects are shared.
    const res = structuredClone(obj);
    const schemaProblems = deps.validator.validate(res);
    const { stored, unreadable } = await readStored(deps.registry, id);
    if (unreadable) deps.log.warn({ endpoint: id, err: unreadable }, 'registry entry unreadable (another secret key?); it will be rewritten');
    const partitions = partitionsToObserve(stored, schemaProblems.length ? undefined : res);
    const [secrets, queues] = await Promise.all([
      schemaProblems.length ? Promise.resolve(new Map<string, SecretRead>()) : readSecrets(res),
      observeQueues(deps.redis, deps.keys, id, partitions),
    ]);
    return { res, observed: { now: now(), schemaProblems, secrets, queues, ...(stored ? { stored } : {}) } };
  };

  const apply = async (obj: WebhookEndpointObject, action: EndpointAction): Promise<WebhookEndpointObject> => {
    const { namespace, name } = obj.metadata;
    switch (action.type) {
      case 'addFinalizer': {
        const after = await deps.client.patchObject<WebhookEndpointObject>(ENDPOINT_KIND, namespace, name, addFinalizerPatch(obj));
        writes.wrote(obj, after);
        return after;
      }
      case 'archive':
        await deps.registry.setState(action.id, 'archived');
        return obj;
      case 'removeFinalizer': {
        const patch = removeFinalizerPatch(obj);
        if (patch) await deps.client.patchObject(ENDPOINT_KIND, namespace, name, patch).catch(ignore404);
        return obj;
      }
      case 'put':
        await deps.registry.put(action.endpoint);
        return obj;
      case 'event':
        await deps.events.record(obj, action.eventType, action.reason, action.message);
        return obj;
      case 'status':
        writes.wrote(obj, await deps.client.patchStatus<WebhookEndpointObject>(ENDPOINT_KIND, namespace, name, action.status).catch(ignore404));
        return obj;
    }
  };

  return async (key) => {
    const { namespace, name } = splitKey(key);
    const cached = deps.get(namespace, name);
    if (!cached) {
      seenGeneration.delete(key);
      return {};
    }
    // The status this controller last wrote, while the cache has not caught up with it yet.
    let obj = writes.fresh(cached);
    if (obj.metadata.deletionTimestamp) {
      const plan = planEndpoint(obj, { now: now(), schemaProblems: [], secrets: new Map(), queues: emptyQueues }, deps.plan);
      for (const a of plan.actions) obj = await apply(obj, a);
      return {};
    }
    const { res, observed } = await observe(obj);
    const plan = planEndpoint(res, observed, deps.plan);
    // The actions act on the object as it is in the API server (not the defaulted copy).
    for (const a of plan.actions) obj = await apply(obj, a);
    return { ...(plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {}), ...(plan.retry ? { retry: true } : {}) };
  };
}

const emptyQueues = { backlog: 0, blocked: [], deadLettered: 0 };

function ignore404(err: unknown): undefined {
  if (httpStatus(err) === 404) return undefined;
  throw new Error(apiMessage(err), { cause: err });
}
