// A list + watch cache of one resource type (client-node's informer), made to keep going:
//
// - client-node re-lists by itself when a watch ends with 410 Gone (its resourceVersion is too
//   old) and re-watches after a normal close; but on any other error (API server unreachable,
//   403, 5xx) it calls the error handlers and stops. Here an error schedules a restart with
//   exponential backoff (1 s doubling to 30 s), which resumes the watch from the last
//   resourceVersion, or re-lists if that is gone. So a controller cut off from the API server
//   catches up by itself when it comes back.
// - a periodic resync hands every cached object to `onResync`, so the work queue sees everything
//   again even if a handler or a reconcile was lost.
import { makeInformer, type KubeConfig, type KubernetesObject, type KubernetesListObject } from '@kubernetes/client-node';
import type { Log } from '../lib/log.ts';

export interface ResourceWatch<T> {
  /** Starts listing and watching; resolves after the first attempt (whether or not it worked). */
  start(): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
  get(namespace: string, name: string): T | undefined;
  list(): readonly T[];
  /** True once a full list has been received. */
  synced(): boolean;
}

export interface ResourceWatchOptions<T> {
  kubeConfig: KubeConfig;
  /** API path of the collection, e.g. /apis/redeliver.io/v1alpha1/webhookendpoints. */
  path: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Called for every add, update and delete. */
  onChange: (obj: T, verb: 'add' | 'update' | 'delete') => void;
  onResync?: (obj: T) => void;
  resyncMs?: number;
  log: Log;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function createResourceWatch<T>(opts: ResourceWatchOptions<T>): ResourceWatch<T> {
  type Obj = T & KubernetesObject;
  const minBackoff = opts.minBackoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  let backoff = minBackoff;
  let hasSynced = false;
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  // The list/watch attempt under way: stop() waits for it, since client-node opens the watch after
  // the list without looking again whether it was stopped meanwhile.
  let attempt: Promise<void> = Promise.resolve();
  const run = () => {
    attempt = informer.start().catch(() => undefined);
    return attempt;
  };

  const informer = makeInformer<Obj>(opts.kubeConfig, opts.path, async () => {
    const list = await opts.list();
    hasSynced = true;
    backoff = minBackoff;
    return list as unknown as KubernetesListObject<Obj>;
  });
  informer.on('add', (o) => opts.onChange(o, 'add'));
  informer.on('update', (o) => opts.onChange(o, 'update'));
  informer.on('delete', (o) => opts.onChange(o, 'delete'));
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    const delay = backoff;
    backoff = Math.min(backoff * 2, maxBackoff);
    opts.log.warn({ path: opts.path, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'watch failed; restarting');
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void run(), delay);
  });

  return {
    async start() {
      stopped = false;
      await run();
      if (opts.onResync && opts.resyncMs) {
        resyncTimer = setInterval(() => {
          for (const o of informer.list()) opts.onResync!(o);
        }, opts.resyncMs);
        resyncTimer.unref();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(restartTimer);
      clearInterval(resyncTimer);
      await attempt;
      await informer.stop();
    },
    get: (namespace, name) => informer.get(name, namespace),
    list: () => informer.list(),
    synced: () => hasSynced,
  };
}
