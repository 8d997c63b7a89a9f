// One WebhookEndpoint through observe → plan → apply, whichever source it comes from (the
// controller's informers, or standalone mode's YAML folder): observe reads the schema problems,
// the Secrets (through the source's target), the registry entry and the endpoint's queues;
// planEndpoint (pure) decides; the registry actions are applied here, the finalizer, Event and
// status actions go to the source's target. So a rule added to the plan — the ordering-layout
// guard, "an invalid spec keeps the last good version", "unchanged writes nothing" — holds in
// both modes. Every action is safe to repeat.
import type { EndpointSync, EndpointTarget } from '../k8s/endpoint-source.ts';
import type { WebhookEndpointObject } from '../k8s/resources.ts';
import type { ResourceValidator } from '../k8s/schema.ts';
import type { SecretRead } from '../k8s/secrets.ts';
import type { Log } from '../lib/log.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Registry } from '../store/registry.ts';
import { observeQueues, partitionsToObserve, readStored } from './endpoint-observe.ts';
import { planEndpoint, type EndpointAction, type EndpointObserved, type PlanOptions } from './endpoint-plan.ts';

export interface EndpointSyncDeps {
  registry: Registry;
  redis: RedisClient;
  keys: Keys;
  log: Log;
  validator: ResourceValidator;
  plan: PlanOptions;
  now?: () => Date;
}

const emptyQueues = { backlog: 0, blocked: [], deadLettered: 0 };

export function createEndpointSync(deps: EndpointSyncDeps, target: EndpointTarget): EndpointSync {
  const now = deps.now ?? (() => new Date());

  const observe = async (obj: WebhookEndpointObject): Promise<{ res: WebhookEndpointObject; observed: EndpointObserved }> => {
    const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
    // Validate a copy: the validator fills defaults in, and the source's objects are shared.
    const res = structuredClone(obj);
    const schemaProblems = deps.validator.validate(res);
    const { stored, unreadable } = await readStored(deps.registry, id);
    if (unreadable) deps.log.warn({ endpoint: id, err: unreadable }, 'registry entry unreadable (another secret key?); it will be rewritten');
    const partitions = partitionsToObserve(stored, schemaProblems.length ? undefined : res);
    const [secrets, queues] = await Promise.all([
      schemaProblems.length ? Promise.resolve(new Map<string, SecretRead>()) : target.secrets(res),
      observeQueues(deps.redis, deps.keys, id, partitions),
    ]);
    return { res, observed: { now: now(), schemaProblems, secrets, queues, ...(stored ? { stored } : {}) } };
  };

  const apply = async (obj: WebhookEndpointObject, action: EndpointAction): Promise<WebhookEndpointObject> => {
    switch (action.type) {
      case 'addFinalizer':
        return target.addFinalizer(obj);
      case 'archive':
        await deps.registry.setState(action.id, 'archived');
        return obj;
      case 'removeFinalizer':
        await target.removeFinalizer(obj);
        return obj;
      case 'put':
        await deps.registry.put(action.endpoint);
        return obj;
      case 'event':
        await target.event(obj, action.eventType, action.reason, action.message);
        return obj;
      case 'status':
        await target.status(obj, action.status);
        return obj;
    }
  };

  return async (original) => {
    let obj = original;
    const deleting = obj.metadata.deletionTimestamp !== undefined;
    const plan = deleting
      ? planEndpoint(obj, { now: now(), schemaProblems: [], secrets: new Map(), queues: emptyQueues }, deps.plan)
      : await observe(obj).then(({ res, observed }) => planEndpoint(res, observed, deps.plan));
    // The actions act on the object as the source holds it (not the defaulted copy).
    for (const a of plan.actions) obj = await apply(obj, a);
    return {
      wrote: plan.actions.some((a) => a.type === 'put' || a.type === 'archive'),
      ...(plan.requeueAfterMs !== undefined && !deleting ? { requeueAfterMs: plan.requeueAfterMs } : {}),
      ...(plan.retry ? { retry: true } : {}),
    };
  };
}
