// The WebhookEndpoint reconcile as a pure function: plan(resource, observed) → actions. No I/O;
// the reconciler (endpoint-reconciler.ts) fetches what is observed and applies the actions in
// order. The sequence is kubebuilder's: deletion through the finalizer → the finalizer itself →
// the child (the registry entry in Redis) → status with conditions → requeue for the next refresh.
//
// Ordering layout (ordering.mode, the number of partitions, ordering.key) is special. Ingest hashes
// an event onto a partition with the layout it has cached, and the dispatcher only serves the
// partitions of the current layout; so changing it while events wait, or while ingest may still be
// hashing with the old one, could deliver a later event of a key before an earlier one, or strand
// events in partitions that no longer exist. The layout stored in Redis therefore only changes when
// that cannot happen: the stored endpoint is not active (ingest refuses it, nothing is hashed),
// has been so for `layoutQuietMs` (every ingest replica has reloaded it), and nothing of it waits
// in any partition. Until then the rest of the spec is applied, the old layout is kept, and the
// Ready condition says so (reason OrderingChangeRefused). See docs/operator.md.
import { ingestPath, partitionCount, type EndpointSpec, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { crossFieldProblems, resolveEndpoint, ResolveError } from '../domain/resolve.ts';
import type { SchemaProblem } from '../k8s/schema.ts';
import { FINALIZER, type EndpointStatus, type WebhookEndpointObject } from '../k8s/resources.ts';
import type { SecretRead } from '../k8s/secrets.ts';
import { findCondition, humanDuration, mergeConditions, sameJson, type ConditionInput } from './conditions.ts';
import type { QueueObservation } from './endpoint-observe.ts';


export interface EndpointObserved {
  now: Date;
  /** Problems of the resource against the CRD schema (the API server checks these too). */
  schemaProblems: SchemaProblem[];
  /** The Secrets the spec references, by name; a name absent from the map was not found. */
  secrets: ReadonlyMap<string, SecretRead>;
  stored?: ResolvedEndpoint;
  queues: QueueObservation;
}

export interface PlanOptions {
  refreshMs: number;
  layoutQuietMs: number;
}

export type EndpointAction =
  | { type: 'addFinalizer' }
  | { type: 'archive'; id: string }
  | { type: 'removeFinalizer' }
  | { type: 'put'; endpoint: ResolvedEndpoint }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string }
  | { type: 'status'; status: EndpointStatus };

export interface EndpointPlan {
  actions: EndpointAction[];
  requeueAfterMs?: number;
  /** The desired state cannot be reached yet (missing Secret): retry with backoff. */
  retry?: boolean;
}

type Desired =
  | { kind: 'invalid'; message: string }
  | { kind: 'unresolved'; reason: 'SecretMissing'; message: string }
  | { kind: 'ok'; endpoint: ResolvedEndpoint; refused?: string; quietLeftMs?: number };

const id = (res: WebhookEndpointObject) => `${res.metadata.namespace}/${res.metadata.name}`;

export function planEndpoint(res: WebhookEndpointObject, observed: EndpointObserved, opts: PlanOptions): EndpointPlan {
  const finalizers = res.metadata.finalizers ?? [];
  if (res.metadata.deletionTimestamp) {
    if (!finalizers.includes(FINALIZER)) return { actions: [] };
    return {
      actions: [
        { type: 'archive', id: id(res) },
        { type: 'event', eventType: 'Normal', reason: 'Archived', message: `endpoint ${id(res)} archived in the registry: ingest answers 410` },
        { type: 'removeFinalizer' },
      ],
    };
  }
  const actions: EndpointAction[] = [];
  if (!finalizers.includes(FINALIZER)) actions.push({ type: 'addFinalizer' });

  const desired = decide(res, observed, opts);
  if (desired.kind === 'ok' && !sameEndpoint(observed.stored, desired.endpoint)) {
    actions.push({ type: 'put', endpoint: desired.endpoint });
    actions.push({ type: 'event', eventType: 'Normal', reason: 'Registered', message: registeredMessage(res, desired.endpoint) });
  }
  const conditions = endpointConditions(res, observed, desired);
  actions.push(...transitionEvents(res, conditions));
  const status = endpointStatus(res, observed, conditions);
  if (!sameJson(res.status ?? {}, status)) actions.push({ type: 'status', status });

  const quiet = desired.kind === 'ok' ? desired.quietLeftMs : undefined;
  return {
    actions,
    requeueAfterMs: quiet !== undefined ? Math.min(opts.refreshMs, quiet) : opts.refreshMs,
    ...(desired.kind === 'unresolved' ? { retry: true } : {}),
  };
}

function decide(res: WebhookEndpointObject, observed: EndpointObserved, opts: PlanOptions): Desired {
  const problems = [...observed.schemaProblems, ...(observed.schemaProblems.length ? [] : crossFieldProblems(res))];
  if (problems.length > 0) return { kind: 'invalid', message: problems.map((p) => `${p.field}: ${p.message}`).join('; ') };
  let endpoint: ResolvedEndpoint;
  try {
    endpoint = resolveEndpoint(res, lookupIn(observed.secrets), observed.now);
  } catch (err) {
    if (!(err instanceof ResolveError)) throw err;
    return { kind: 'unresolved', reason: 'SecretMissing', message: secretMessage(err, res, observed.secrets) };
  }
  return guardLayout(endpoint, observed, opts);
}

const lookupIn = (secrets: ReadonlyMap<string, SecretRead>) => (_ns: string, name: string, key: string) => {
  const s = secrets.get(name);
  return s && 'data' in s ? s.data[key] : undefined;
};

function secretMessage(err: ResolveError, res: WebhookEndpointObject, secrets: ReadonlyMap<string, SecretRead>): string {
  const names = [res.spec.source.secretRef?.name, res.spec.destination.signing?.secretRef.name].filter((n): n is string => !!n);
  const unreadable = names.map((n) => [n, secrets.get(n)] as const).find(([, s]) => s && 'error' in s);
  if (unreadable) return `${err.field}: cannot read Secret "${res.metadata.namespace}/${unreadable[0]}": ${(unreadable[1] as { error: string }).error}`;
  const missing = names.find((n) => !secrets.has(n));
  if (missing) return `${err.field}: Secret "${res.metadata.namespace}/${missing}" not found`;
  return err.message;
}

export interface Layout {
  mode: string;
  partitions: number;
  key?: string;
}

export function layoutOf(spec: EndpointSpec): Layout {
  return { mode: spec.ordering.mode, partitions: partitionCount(spec), ...(spec.ordering.mode === 'key' ? { key: spec.ordering.key } : {}) };
}

const describeLayout = (l: Layout) => `mode ${l.mode}, ${l.partitions} partition${l.partitions === 1 ? '' : 's'}${l.key ? `, key ${l.key}` : ''}`;

function guardLayout(endpoint: ResolvedEndpoint, observed: EndpointObserved, opts: PlanOptions): Desired {
  const stored = observed.stored;
  if (!stored || sameJson(layoutOf(stored.spec), layoutOf(endpoint.spec))) return { kind: 'ok', endpoint };
  const quietFor = observed.now.getTime() - Date.parse(stored.updatedAt);
  const inactive = stored.spec.state !== 'active';
  if (inactive && observed.queues.backlog === 0 && quietFor >= opts.layoutQuietMs) return { kind: 'ok', endpoint };
  const kept = { ...endpoint, spec: { ...endpoint.spec, ordering: stored.spec.ordering } };
  const waitingFor = !inactive
    ? 'set spec.state to disabled (ingest then refuses new events) and let the backlog reach 0, or create a new endpoint with the new layout and move the provider to it'
    : observed.queues.backlog > 0
      ? `the backlog is ${observed.queues.backlog}; a disabled endpoint does not drain, so re-enable it, let it drain and disable it again (or create a new endpoint)`
      : `waiting ${Math.ceil((opts.layoutQuietMs - quietFor) / 1000)}s more until every ingest replica has seen the endpoint disabled`;
  return {
    kind: 'ok',
    endpoint: kept,
    refused: `changing the ordering layout from (${describeLayout(layoutOf(stored.spec))}) to (${describeLayout(layoutOf(endpoint.spec))}) ` +
      `would break per-key order or strand queued events, so the old layout stays in effect (the rest of the spec is applied): ${waitingFor}`,
    ...(inactive && observed.queues.backlog === 0 ? { quietLeftMs: Math.max(0, opts.layoutQuietMs - quietFor) } : {}),
  };
}

/** Same registry content, ignoring updatedAt. */
export function sameEndpoint(a: ResolvedEndpoint | undefined, b: ResolvedEndpoint): boolean {
  if (!a) return false;
  // operatorPaused is the management API's override, kept beside the spec: not the resource's.
  return sameJson({ ...a, updatedAt: '', operatorPaused: undefined }, { ...b, updatedAt: '', operatorPaused: undefined });
}

function registeredMessage(res: WebhookEndpointObject, ep: ResolvedEndpoint): string {
  return `generation ${res.metadata.generation ?? 1} written to the registry (${describeLayout(layoutOf(ep.spec))}, state ${ep.spec.state}); webhooks go to ${ingestPath(ep.id)}`;
}

function readyCondition(res: WebhookEndpointObject, observed: EndpointObserved, desired: Desired): ConditionInput {
  const keeps = observed.stored ? `; generation ${observed.stored.generation} stays in effect` : '; nothing was registered';
  if (desired.kind === 'invalid') return { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: desired.message + keeps };
  if (desired.kind === 'unresolved') return { type: 'Ready', status: 'False', reason: desired.reason, message: desired.message + keeps };
  const state = desired.endpoint.spec.state;
  const serving = state === 'active' ? 'True' : 'False';
  if (desired.refused) return { type: 'Ready', status: serving, reason: 'OrderingChangeRefused', message: desired.refused };
  if (state === 'disabled') return { type: 'Ready', status: 'False', reason: 'Disabled', message: 'spec.state is disabled: ingest answers 410 and nothing is delivered' };
  if (state === 'archived') return { type: 'Ready', status: 'False', reason: 'Archived', message: 'spec.state is archived: ingest answers 410 and nothing is delivered' };
  const paused = desired.endpoint.spec.paused ? '; deliveries are paused (spec.paused)' : '';
  return { type: 'Ready', status: 'True', reason: 'Registered', message: `accepting webhooks at ${ingestPath(id(res))}${paused}` };
}

function blockedCondition(epId: string, q: QueueObservation): ConditionInput {
  const [first, ...more] = q.blocked;
  if (!first) return { type: 'Blocked', status: 'False', reason: 'NotBlocked', message: 'no ordering scope is blocked' };
  const others = more.length ? ` (and ${more.length} more partition${more.length === 1 ? '' : 's'})` : '';
  return {
    type: 'Blocked', status: 'True', reason: 'DeliveryExhausted',
    message: `delivery ${first.deliveryId} used all its attempts and holds partition ${first.partition}${others}; ` +
      `it is retried every spec.retry.blockedRetrySeconds and the scope resumes once it succeeds; ` +
      `to act sooner, retry or skip it: POST /api/v1/endpoints/${epId}/unblock`,
  };
}

function healthCondition(q: QueueObservation): ConditionInput {
  const f = q.headFailure;
  if (f) {
    const code = f.statusCode ? `, HTTP ${f.statusCode}` : '';
    return { type: 'DestinationHealthy', status: 'False', reason: 'AttemptsFailing', message: `delivery ${f.deliveryId} (partition ${f.partition}): attempt ${f.attempts} failed: ${f.classification}${code}` };
  }
  if (q.lastDeliveredAt) return { type: 'DestinationHealthy', status: 'True', reason: 'Delivering', message: `the last delivery succeeded at ${q.lastDeliveredAt}` };
  return { type: 'DestinationHealthy', status: 'Unknown', reason: 'NoDeliveries', message: 'nothing has been delivered yet' };
}

function endpointConditions(res: WebhookEndpointObject, observed: EndpointObserved, desired: Desired) {
  const inputs = [readyCondition(res, observed, desired), blockedCondition(id(res), observed.queues), healthCondition(observed.queues)];
  return mergeConditions(res.status?.conditions, inputs, res.metadata.generation ?? 1, observed.now);
}

const WARNING_READY_REASONS = new Set(['InvalidSpec', 'SecretMissing', 'OrderingChangeRefused']);

/** Events for changes against the status the resource has now (so a restart does not repeat them). */
function transitionEvents(res: WebhookEndpointObject, next: ReturnType<typeof endpointConditions>): EndpointAction[] {
  const prev = res.status?.conditions;
  const changed = (type: string) => {
    const a = findCondition(prev, type);
    const b = findCondition(next, type);
    return b && (!a || a.status !== b.status || a.reason !== b.reason) ? { from: a?.status, to: b } : undefined;
  };
  const event = (eventType: 'Normal' | 'Warning', reason: string, message: string): EndpointAction => ({ type: 'event', eventType, reason, message });
  const out: EndpointAction[] = [];
  const ready = changed('Ready');
  if (ready && WARNING_READY_REASONS.has(ready.to.reason)) out.push(event('Warning', ready.to.reason, ready.to.message));
  const blocked = changed('Blocked');
  if (blocked?.to.status === 'True') out.push(event('Warning', 'Blocked', blocked.to.message));
  if (blocked?.to.status === 'False' && blocked.from === 'True') out.push(event('Normal', 'Unblocked', 'no ordering scope is blocked any more'));
  const health = changed('DestinationHealthy');
  if (health?.to.status === 'False') out.push(event('Warning', 'DestinationUnhealthy', health.to.message));
  if (health?.to.status === 'True' && health.from === 'False') out.push(event('Normal', 'DestinationHealthy', health.to.message));
  return out;
}

function endpointStatus(res: WebhookEndpointObject, observed: EndpointObserved, conditions: EndpointStatus['conditions']): EndpointStatus {
  const q = observed.queues;
  const oldest = q.oldestPendingAt !== undefined ? Math.max(0, Math.floor((observed.now.getTime() - q.oldestPendingAt) / 1000)) : 0;
  return {
    observedGeneration: res.metadata.generation ?? 1,
    conditions,
    ingestPath: ingestPath(id(res)),
    backlog: q.backlog,
    deadLettered: q.deadLettered,
    oldestPendingSeconds: oldest,
    oldestPendingAge: humanDuration(oldest),
    ...(q.lastDeliveredAt ? { lastDeliveredAt: q.lastDeliveredAt } : {}),
    ...(q.blocked[0] ? { blockedDelivery: q.blocked[0].deliveryId } : {}),
  };
}
