// The ReplayRequest reconciler: fetch (informer cache) → observe (schema, the engine's record of
// the replay by uid) → planReplay (pure) → apply. Starting a replay is the one action whose result
// the plan needs (started, or refused and why), so after a start the reconciler observes and plans
// once more.
import { isAppError } from '../errors/index.ts';
import type { Log } from '../lib/log.ts';
import { apiMessage, httpStatus, type KubeClient } from '../k8s/client.ts';
import type { EventRecorder } from '../k8s/events.ts';
import { REPLAY_KIND, splitKey, type ReplayRequestObject } from '../k8s/resources.ts';
import type { ResourceValidator } from '../k8s/schema.ts';
import type { ReplayEngine } from '../replay/engine.ts';
import { addFinalizerPatch, removeFinalizerPatch } from './finalizer.ts';
import { createOwnWrites } from './own-writes.ts';
import type { ReconcileResult } from './queue.ts';
import { planReplay, type ReplayAction, type ReplayObserved } from './replay-plan.ts';

export interface ReplayReconcilerDeps {
  client: KubeClient;
  log: Log;
  validator: ResourceValidator;
  events: EventRecorder;
  /** The engine of the current leadership term; undefined while not leading. */
  engine(): ReplayEngine | undefined;
  get(namespace: string, name: string): ReplayRequestObject | undefined;
  pollMs: number;
  now?: () => Date;
  /** Called when a status write moves the request into a final phase (metrics). */
  onFinished?(phase: string): void;
}

const FINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

/** The final phase a status write moves the request into, if it does. */
function finalPhaseReached(obj: ReplayRequestObject, next: string | undefined): string | undefined {
  return next && FINAL.has(next) && obj.status?.phase !== next ? next : undefined;
}

export function createReplayReconciler(deps: ReplayReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  const now = deps.now ?? (() => new Date());
  const writes = createOwnWrites<ReplayRequestObject>();

  const apply = async (engine: ReplayEngine, obj: ReplayRequestObject, action: ReplayAction): Promise<{ obj: ReplayRequestObject; startError?: ReplayObserved['startError'] }> => {
    const { namespace, name } = obj.metadata;
    switch (action.type) {
      case 'addFinalizer': {
        const after = await deps.client.patchObject<ReplayRequestObject>(REPLAY_KIND, namespace, name, addFinalizerPatch(obj));
        writes.wrote(obj, after);
        return { obj: after };
      }
      case 'removeFinalizer': {
        const patch = removeFinalizerPatch(obj);
        if (patch) await deps.client.patchObject(REPLAY_KIND, namespace, name, patch).catch(ignore404);
        return { obj };
      }
      case 'start':
        try {
          await engine.start(action.id, action.spec);
          return { obj };
        } catch (err) {
          // 4xx from the engine: the replay cannot start (now or ever); the plan says which.
          if (isAppError(err) && err.status < 500) return { obj, startError: { code: err.code, message: err.message } };
          throw err;
        }
      case 'cancel':
        await engine.cancel(action.id).catch((err: unknown) => {
          if (!(isAppError(err) && err.code === 'replay_finished')) throw err;
        });
        return { obj };
      case 'event':
        await deps.events.record(obj, action.eventType, action.reason, action.message);
        return { obj };
      case 'status': {
        writes.wrote(obj, await deps.client.patchStatus<ReplayRequestObject>(REPLAY_KIND, namespace, name, action.status).catch(ignore404));
        const phase = finalPhaseReached(obj, action.status.phase);
        if (phase) deps.onFinished?.(phase);
        return { obj };
      }
    }
  };

  return async (key) => {
    const engine = deps.engine();
    if (!engine) return { retry: true };
    const { namespace, name } = splitKey(key);
    const cached = deps.get(namespace, name);
    if (!cached) return {};
    // The status this controller last wrote, while the cache has not caught up with it yet.
    let obj = writes.fresh(cached);
    let startError: ReplayObserved['startError'];
    let started = false;
    let result: ReconcileResult = {};
    // At most two rounds: the second only right after a start, to report its outcome.
    for (let round = 0; round < 2; round++) {
      const res = structuredClone(obj);
      const schemaProblems = deps.validator.validate(res);
      const status = await engine.status(res.metadata.uid);
      const observed: ReplayObserved = { now: now(), schemaProblems, ...(status ? { engine: status } : {}), ...(startError ? { startError } : {}) };
      const plan = planReplay(res, observed, { pollMs: deps.pollMs });
      started = false;
      for (const a of plan.actions) {
        const out = await apply(engine, obj, a);
        obj = out.obj;
        if (a.type === 'start') started = true;
        if (out.startError) startError = out.startError;
      }
      result = { ...(plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {}), ...(plan.retry ? { retry: true } : {}) };
      if (!started) break;
    }
    return result;
  };
}

function ignore404(err: unknown): undefined {
  if (httpStatus(err) === 404) return undefined;
  throw new Error(apiMessage(err), { cause: err });
}
