// Kubernetes Events (core/v1) on Redeliver's resources, for state changes that `kubectl describe`
// should show: blocked, unblocked, secret missing, invalid spec, registered, archived, replay
// progress. Best effort: an event that cannot be written is logged and dropped, never retried, and
// never fails a reconcile.
import type { Log } from '../lib/log.ts';
import { apiMessage, type KubeClient } from './client.ts';
import type { KubeObject } from './resources.ts';

export interface EventRecorder {
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

const MAX_MESSAGE = 1024;

export function createEventRecorder(opts: { client: KubeClient; component: string; instance: string; log: Log }): EventRecorder {
  return {
    async record(obj, type, reason, message) {
      const m = obj.metadata;
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
