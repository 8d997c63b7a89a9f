// The ReplayRequest reconcile as a pure function: plan(resource, observed) → actions. The replay
// itself runs in the shared replay engine (src/replay/), keyed by the ReplayRequest's uid, which
// keeps the replay's state and cursor in Redis; so after a controller restart `engine.status(uid)`
// finds the same replay and nothing is started (or sent) twice.
//
// - Deletion: a Running replay is cancelled, then the finalizer goes.
// - Not started yet: the spec is checked (schema, and what CEL would check on newer clusters),
//   then started. A start refused for a reason that may pass (the endpoint is not registered yet,
//   not active, or another pauseLive replay holds it) leaves the request Pending and retries.
// - Started: phase and counters are copied from the engine while it runs (polled every pollMs).
// - Immutable spec: kube-apiserver < 1.25 has no CEL, so `self == oldSelf` is not enforced there.
//   A spec that differs from the one the engine started with is ignored, and the SpecChangeIgnored
//   condition says so.
// - A replay is never started again once its status shows it started: if Redis lost its state,
//   a Running request turns Failed instead of replaying a second time.
import type { SchemaProblem } from '../k8s/schema.ts';
import { FINALIZER, type ReplayPhase, type ReplayRequestObject, type ReplayStatus } from '../k8s/resources.ts';
import type { ReplaySpec as EngineSpec } from '../replay/spec.ts';
import type { ReplayStatus as EngineStatus } from '../replay/status.ts';
import { findCondition, mergeConditions, sameJson, type ConditionInput } from './conditions.ts';

export interface ReplayObserved {
  now: Date;
  schemaProblems: SchemaProblem[];
  /** The engine's record of this replay (by uid), if it was started. */
  engine?: EngineStatus;
  /** Why the engine refused to start it, when it just did. */
  startError?: { code: string; message: string };
}

export type ReplayAction =
  | { type: 'addFinalizer' }
  | { type: 'removeFinalizer' }
  | { type: 'start'; id: string; spec: EngineSpec }
  | { type: 'cancel'; id: string }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string }
  | { type: 'status'; status: ReplayStatus };

export interface ReplayPlan {
  actions: ReplayAction[];
  requeueAfterMs?: number;
  retry?: boolean;
}

/** Start refusals that may pass later; anything else makes the request Failed. */
const TRANSIENT = new Set(['endpoint_not_found', 'endpoint_not_active', 'replay_conflict']);
const TERMINAL: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Cancelled']);

/** The engine's spec for a ReplayRequest; also the only check the CRD's CEL rules would add. */
export function engineSpec(res: ReplayRequestObject): { spec: EngineSpec } | { problem: string } {
  const ns = res.metadata.namespace;
  const ref = res.spec.endpointRef;
  // A replay re-sends an endpoint's events (optionally elsewhere, destinationOverride); letting a
  // request in one namespace replay another namespace's endpoint would bypass namespaced RBAC.
  if (ref.namespace && ref.namespace !== ns) return { problem: `spec.endpointRef.namespace: must be the ReplayRequest's own namespace "${ns}"` };
  const sel = res.spec.selector ?? {};
  if (sel.from && sel.to && Date.parse(sel.from) > Date.parse(sel.to)) return { problem: 'spec.selector.from: must not be after selector.to' };
  return {
    spec: {
      endpoint: `${ns}/${ref.name}`,
      selector: { ...sel } as EngineSpec['selector'],
      ...(res.spec.destinationOverride ? { destinationOverride: res.spec.destinationOverride } : {}),
      ...(res.spec.rateLimit ? { rateLimit: res.spec.rateLimit } : {}),
      pauseLive: res.spec.pauseLive === true,
    },
  };
}

export function planReplay(res: ReplayRequestObject, observed: ReplayObserved, opts: { pollMs: number }): ReplayPlan {
  const finalizers = res.metadata.finalizers ?? [];
  if (res.metadata.deletionTimestamp) return planDeletion(res, observed, finalizers.includes(FINALIZER));
  const actions: ReplayAction[] = finalizers.includes(FINALIZER) ? [] : [{ type: 'addFinalizer' }];
  if (observed.engine) return withStatus(res, observed, actions, fromEngine(res, observed.engine), opts);
  const phase = res.status?.phase;
  if (phase && phase !== 'Pending') {
    // Started before, but the engine has no record (Redis lost it): never start a second time.
    if (TERMINAL.has(phase)) return { actions };
    return withStatus(res, observed, actions, { phase: 'Failed', reason: 'StateLost', message: 'the replay state is gone from Redis; it was not restarted, to avoid sending events twice' }, opts);
  }
  return planStart(res, observed, actions, opts);
}

function planDeletion(res: ReplayRequestObject, observed: ReplayObserved, hasFinalizer: boolean): ReplayPlan {
  if (!hasFinalizer) return { actions: [] };
  const actions: ReplayAction[] = [];
  if (observed.engine?.phase === 'Running') {
    actions.push({ type: 'cancel', id: res.metadata.uid });
    actions.push({ type: 'event', eventType: 'Normal', reason: 'Cancelled', message: 'the ReplayRequest was deleted while running: replay cancelled' });
  }
  actions.push({ type: 'removeFinalizer' });
  return { actions };
}

function planStart(res: ReplayRequestObject, observed: ReplayObserved, actions: ReplayAction[], opts: { pollMs: number }): ReplayPlan {
  const problems = observed.schemaProblems.map((p) => `${p.field}: ${p.message}`);
  const converted = problems.length ? undefined : engineSpec(res);
  if (converted && 'problem' in converted) problems.push(converted.problem);
  if (!converted || 'problem' in converted) {
    return withStatus(res, observed, actions, { phase: 'Failed', reason: 'InvalidSpec', message: problems.join('; ') }, opts);
  }
  if (!observed.startError) return { actions: [...actions, { type: 'start', id: res.metadata.uid, spec: converted.spec }] };
  const { code, message } = observed.startError;
  if (!TRANSIENT.has(code)) return withStatus(res, observed, actions, { phase: 'Failed', reason: camel(code), message }, opts);
  return { ...withStatus(res, observed, actions, { phase: 'Pending', reason: camel(code), message: `${message}; retrying` }, opts), retry: true };
}

interface Target {
  phase: ReplayPhase;
  reason: string;
  message: string;
  counters?: Pick<ReplayStatus, 'matched' | 'enqueued' | 'delivered' | 'failed' | 'startedAt' | 'completedAt'>;
  specIgnored?: string;
}

const camel = (code: string) => code.replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase());

function fromEngine(res: ReplayRequestObject, e: EngineStatus): Target {
  const message = e.message || (e.phase === 'Running'
    ? `${e.delivered} of ${e.matched} delivered, ${e.failed} failed, ${e.enqueued} enqueued`
    : e.phase);
  const now = engineSpec(res);
  const specIgnored = 'spec' in now && !sameJson(normalize(now.spec), normalize(e.spec))
    ? `the spec changed after the replay started (generation ${res.metadata.generation ?? 1}); the change is ignored: the replay runs with the spec it started with. Create a new ReplayRequest instead.`
    : undefined;
  return {
    phase: e.phase,
    reason: e.phase,
    message,
    counters: {
      matched: e.matched, enqueued: e.enqueued, delivered: e.delivered, failed: e.failed,
      ...(e.startedAt ? { startedAt: e.startedAt } : {}),
      ...(e.completedAt ? { completedAt: e.completedAt } : {}),
    },
    ...(specIgnored ? { specIgnored } : {}),
  };
}

/** Specs compared as JSON, with empty lists and absent fields treated alike. */
function normalize(spec: EngineSpec): unknown {
  return JSON.parse(JSON.stringify(spec, (_k, v: unknown) => (Array.isArray(v) && v.length === 0 ? undefined : v)));
}

function withStatus(res: ReplayRequestObject, observed: ReplayObserved, actions: ReplayAction[], t: Target, opts: { pollMs: number }): ReplayPlan {
  const status = replayStatus(res, observed, t);
  const out = [...actions, ...replayEvents(res, t)];
  if (!sameJson(res.status ?? {}, status)) out.push({ type: 'status', status });
  return { actions: out, ...(t.phase === 'Running' ? { requeueAfterMs: opts.pollMs } : {}) };
}

function replayStatus(res: ReplayRequestObject, observed: ReplayObserved, t: Target): ReplayStatus {
  const conditions: ConditionInput[] = [{ type: 'Complete', status: TERMINAL.has(t.phase) ? 'True' : 'False', reason: t.reason, message: t.message }];
  if (t.specIgnored) conditions.push({ type: 'SpecChangeIgnored', status: 'True', reason: 'SpecImmutable', message: t.specIgnored });
  const c = t.counters ?? { matched: 0, enqueued: 0, delivered: 0, failed: 0 };
  return {
    observedGeneration: res.metadata.generation ?? 1,
    phase: t.phase,
    matched: c.matched ?? 0,
    enqueued: c.enqueued ?? 0,
    delivered: c.delivered ?? 0,
    failed: c.failed ?? 0,
    ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    ...(c.completedAt ? { completedAt: c.completedAt } : {}),
    message: t.message || t.phase,
    conditions: mergeConditions(res.status?.conditions, conditions, res.metadata.generation ?? 1, observed.now),
  };
}

function replayEvents(res: ReplayRequestObject, t: Target): ReplayAction[] {
  const out: ReplayAction[] = [];
  const prevPhase = res.status?.phase;
  if (t.phase !== prevPhase || findCondition(res.status?.conditions, 'Complete')?.reason !== t.reason) {
    const warning = t.phase === 'Failed' || (t.phase === 'Pending' && t.reason !== 'Pending');
    const reason = t.phase === 'Running' ? 'Started' : t.phase === 'Pending' ? t.reason : t.phase;
    out.push({ type: 'event', eventType: warning ? 'Warning' : 'Normal', reason, message: t.message });
  }
  if (t.specIgnored && !findCondition(res.status?.conditions, 'SpecChangeIgnored')) {
    out.push({ type: 'event', eventType: 'Warning', reason: 'SpecChangeIgnored', message: t.specIgnored });
  }
  return out;
}
