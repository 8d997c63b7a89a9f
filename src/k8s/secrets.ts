// Reading the Secrets that endpoints reference, one GET per Secret, with a short-lived cache.
//
// Why not a Secret informer: it would hold every Secret of the cluster (or of every namespace with
// endpoints) in memory and need list/watch on Secrets; GETs need only `get`, work with the chart's
// per-namespace Secret Roles, and touch only the Secrets actually referenced. A value found is
// reused for `ttlMs` (default 60 s), so the periodic status refresh does not re-read Secrets; a
// Secret not found or unreadable is never cached (the next reconcile asks again); `forget` drops
// an entry when an endpoint's spec changes. So a rotated Secret reaches Redis within `ttlMs`.
import { apiMessage, httpStatus, type KubeClient } from './client.ts';

export type SecretRead = { data: Record<string, string> } | { error: string };

export interface SecretReader {
  /** undefined: the Secret does not exist. */
  read(namespace: string, name: string): Promise<SecretRead | undefined>;
  forget(namespace: string, name: string): void;
}

export function createSecretReader(client: KubeClient, opts: { ttlMs?: number; now?: () => number } = {}): SecretReader {
  const ttl = opts.ttlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { data: Record<string, string>; at: number }>();
  return {
    async read(namespace, name) {
      const key = `${namespace}/${name}`;
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttl) return { data: hit.data };
      try {
        const data = await client.getSecret(namespace, name);
        if (!data) {
          cache.delete(key);
          return undefined;
        }
        cache.set(key, { data, at: now() });
        return { data };
      } catch (err) {
        cache.delete(key);
        const status = httpStatus(err);
        // 403: RBAC does not let the controller read Secrets in this namespace (see docs/operator.md).
        if (status === 403) return { error: `forbidden: ${apiMessage(err)}` };
        throw err;
      }
    },
    forget: (namespace, name) => void cache.delete(`${namespace}/${name}`),
  };
}
