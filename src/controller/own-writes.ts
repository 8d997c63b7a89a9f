// Read-your-own-writes over the informer cache. A reconcile plans from the cached object, but the
// cache learns of this controller's own writes (finalizer, status) only when their watch events
// arrive; a reconcile that runs before that (a requeue, the round after a replay start, a second
// informer event) would plan against the old status and record the same Kubernetes Event again.
//
// So each write is remembered: the resourceVersions it replaced are known to be stale, and while
// the cache still shows one of them, the reconcile uses the status this controller last wrote.
// Any other resourceVersion is the write itself arriving or someone else's newer change: the
// cache is used as it is and the memory of that object is dropped. resourceVersions are only
// compared for equality, as the API conventions require.
import type { KubeObject } from '../k8s/resources.ts';

export interface OwnWrites<T extends KubeObject> {
  /** The object to plan from: the cached one, with the status this controller wrote if the cache lags. */
  fresh(cached: T): T;
  /** Records a write: `before` is what the write was made against, `after` what the API server answered. */
  wrote(before: T, after: T | undefined): void;
  forget(uid: string): void;
}

interface Memory {
  stale: Set<string>;
  latest: KubeObject;
}

const MAX_OBJECTS = 10_000;

export function createOwnWrites<T extends KubeObject>(): OwnWrites<T> {
  const byUid = new Map<string, Memory>();
  return {
    fresh(cached) {
      const m = byUid.get(cached.metadata.uid);
      if (!m) return cached;
      if (!m.stale.has(cached.metadata.resourceVersion ?? '')) {
        byUid.delete(cached.metadata.uid);
        return cached;
      }
      const status = (m.latest as { status?: unknown }).status;
      return { ...cached, ...(status === undefined ? {} : { status }) } as T;
    },
    wrote(before, after) {
      if (!after) return;
      const uid = before.metadata.uid;
      const m = byUid.get(uid) ?? { stale: new Set<string>(), latest: after };
      // Both what this write replaced and this controller's previous write are older than `after`.
      for (const rv of [before.metadata.resourceVersion, m.latest.metadata.resourceVersion]) if (rv && rv !== after.metadata.resourceVersion) m.stale.add(rv);
      m.latest = after;
      byUid.delete(uid);
      byUid.set(uid, m);
      if (byUid.size > MAX_OBJECTS) byUid.delete(byUid.keys().next().value!);
    },
    forget(uid) {
      byUid.delete(uid);
    },
  };
}
