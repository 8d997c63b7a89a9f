// Backlog gauges for the partitions this dispatcher owns: the backlog, the age of its oldest
// delivery and blocked partitions, as store/backlog.ts defines them (the same figures the API and
// `kubectl get` show). Each dispatcher reports only what it owns, so sum() and max() across pods
// give the endpoint's figures.
import { partitionCount } from '../domain/endpoint.ts';
import type { Shared } from '../lib/runtime.ts';
import type { Lease } from '../store/dispatch.ts';
import { partitionBacklog } from '../store/backlog.ts';

export async function reportBacklog(shared: Shared, leases: readonly Lease[]): Promise<void> {
  const byEndpoint = new Map<string, { backlog: number; oldestMs: number; blocked: number }>();
  const t = Date.now();
  await Promise.all(leases.map(async (l) => {
    const { backlog, oldestMs: oldestQueuedMs, blocked } = await partitionBacklog(shared.redis, shared.keys, l.endpointId, l.partition);
    const s = byEndpoint.get(l.endpointId) ?? { backlog: 0, oldestMs: 0, blocked: 0 };
    s.backlog += backlog;
    if (oldestQueuedMs !== undefined) s.oldestMs = Math.max(s.oldestMs, t - oldestQueuedMs);
    s.blocked += blocked ? 1 : 0;
    byEndpoint.set(l.endpointId, s);
  }));
  const m = shared.metrics;
  m.dispatchBacklog.reset();
  m.dispatchOldestPending.reset();
  m.dispatchBlockedPartitions.reset();
  reportOwnership(shared, leases);
  for (const [endpoint, s] of byEndpoint) {
    m.dispatchBacklog.set({ endpoint }, s.backlog);
    m.dispatchOldestPending.set({ endpoint }, s.oldestMs / 1000);
    m.dispatchBlockedPartitions.set({ endpoint }, s.blocked);
  }
}

/**
 * Partitions per active endpoint and how many of them this dispatcher owns (0 included, so that
 * sum() across dispatchers can be compared with the expected count: the PartitionsUnowned alert).
 */
function reportOwnership(shared: Shared, leases: readonly Lease[]): void {
  const m = shared.metrics;
  m.dispatchPartitions.reset();
  m.dispatchOwnedPartitions.reset();
  for (const ep of shared.endpoints.all()) {
    if (ep.spec.state !== 'active') continue;
    m.dispatchPartitions.set({ endpoint: ep.id }, partitionCount(ep.spec));
    m.dispatchOwnedPartitions.set({ endpoint: ep.id }, leases.filter((l) => l.endpointId === ep.id).length);
  }
}
