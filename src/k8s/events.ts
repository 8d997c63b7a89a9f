// Kubernetes Events (core/v1) on Redeliver's resources, for state changes that `kubectl describe`
// should show: blocked, unblocked, secret missing, invalid spec, registered, archived, replay
// progress. Best effort, but not give-up-at-once: an API server that is busy or briefly away (no
// answer, 429, 5xx, a generated-name clash) is asked again a few times within a few seconds, in
// order, before the reconcile goes on; an event that still cannot be written (or is refused: 403,
// 422) is logged and dropped, and never fails a reconcile.
//
// Events on changes only: the plans decide from the object in the informer cache, which can lag
// behind the status this controller just wrote (the watch event has not arrived yet), so the next
// reconcile may plan the same event again. The recorder therefore remembers the last event it
// recorded for each object (by uid) and drops an identical repeat. A real change back and forth
// (Blocked, Unblocked, Blocked) differs from the last one each time and is recorded every time.
import type { Log } from '../lib/log.ts';
import { apiMessage, httpStatus, type KubeClient } from './client.ts';
import type { KubeObject } from './resources.ts';

export interface EventRecorder {
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

const MAX_MESSAGE = 1024;
/** Pauses before the 2nd, 3rd and 4th try of an event the API server did not take. */
const RETRY_DELAYS_MS = [250, 1000, 2500];

/** Worth another try: no answer (timeout, refused), throttled, a server error, a name clash. */
export function retriable(err: unknown): boolean {
  const code = httpStatus(err);
  return code === 0 || code === 409 || code === 429 || code >= 500;
}
/** Objects whose last event is remembered; the oldest is forgotten first (bounded memory). */
const REMEMBERED = 10_000;

export function createEventRecorder(opts: { client: KubeClient; component: string; instance: string; log: Log; retryDelaysMs?: number[] }): EventRecorder {
  const delays = opts.retryDelaysMs ?? RETRY_DELAYS_MS;
  const last = new Map<string, string>();
  const remember = (uid: string, what: string) => {
    last.delete(uid); // re-insert: Map order is insertion order, so this keeps it the newest
    last.set(uid, what);
    if (last.size > REMEMBERED) last.delete(last.keys().next().value!);
  };
  return {
    async record(obj, type, reason, message) {
      const m = obj.metadata;
      const what = JSON.stringify([type, reason, message]);
      if (m.uid && last.get(m.uid) === what) return;
      if (m.uid) remember(m.uid, what);
      const event = {
        namespace: m.namespace,
        involved: { kind: obj.kind, name: m.name, namespace: m.namespace, uid: m.uid, ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}) },
        type,
        reason,
        message: message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + '…' : message,
        component: opts.component,
        instance: opts.instance,
      };
      for (let attempt = 0; ; attempt++) {
        try {
          await opts.client.createEvent(event);
          break;
        } catch (err) {
          const pause = delays[attempt];
          if (pause === undefined || !retriable(err)) {
            opts.log.warn({ object: `${m.namespace}/${m.name}`, reason, tries: attempt + 1, err: apiMessage(err) }, 'could not record an event');
            break;
          }
          await new Promise((r) => setTimeout(r, pause));
        }
      }
      opts.log.info({ kind: obj.kind, object: `${m.namespace}/${m.name}`, type, reason }, message);
    },
  };
}
