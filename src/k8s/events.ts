// Kubernetes Events (core/v1) on Redeliver's resources, for state changes that `kubectl describe`
// should show: blocked, unblocked, secret missing, invalid spec, registered, archived, replay
// progress. Best effort: an event that cannot be written is logged and dropped, never retried, and
// never fails a reconcile.
//
// Events on changes only: the plans decide from the object in the informer cache, which can lag
// behind the status this controller just wrote (the watch event has not arrived yet), so the next
// reconcile may plan the same event again. The recorder therefore remembers the last event it
// recorded for each object (by uid) and drops an identical repeat. A real change back and forth
// (Blocked, Unblocked, Blocked) differs from the last one each time and is recorded every time.
import type { Log } from '../lib/log.ts';
import { apiMessage, type KubeClient } from './client.ts';
import type { KubeObject } from './resources.ts';

export interface EventRecorder {
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

const MAX_MESSAGE = 1024;
/** Objects whose last event is remembered; the oldest is forgotten first (bounded memory). */
const REMEMBERED = 10_000;

export function createEventRecorder(opts: { client: KubeClient; component: string; instance: string; log: Log }): EventRecorder {
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
      try {
        await opts.client.createEvent({
          namespace: m.namespace,
          involved: { kind: obj.kind, name: m.name, namespace: m.namespace, uid: m.uid, ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}) },
          type,
          reason,
          message: message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + '…' : message,
          component: opts.component,
          instance: opts.instance,
        });
      } catch (err) {
        opts.log.warn({ object: `${m.namespace}/${m.name}`, reason, err: apiMessage(err) }, 'could not record an event');
      }
      opts.log.info({ kind: obj.kind, object: `${m.namespace}/${m.name}`, type, reason }, message);
    },
  };
}
