// Retention (spec.retention.seconds): events older than it are dropped with their index entries;
// delivery records and their attempts expire by themselves once they end (finish.lua sets the
// TTL). An event still referenced by the head of a partition (a blocked or long-retried delivery)
// is kept: the cut-off never passes the oldest event at a head, so nothing queued loses its payload.
// Run for every endpoint in the registry (disabled and archived ones too) by one dispatcher at a
// time (a lease key), on its own timer, a bounded number of batches per endpoint and run.
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Shared } from '../lib/runtime.ts';
import { headEventSids, trimEvents } from '../store/retention.ts';

const BATCH = 1000;

async function oldestHeadEvent(shared: Shared, ep: ResolvedEndpoint): Promise<string | undefined> {
  return (await headEventSids(shared.redis, shared.keys, ep.id, partitionCount(ep.spec))).sort(compareStreamIds)[0];
}

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

export async function applyRetention(shared: Shared, ep: ResolvedEndpoint, nowMs: number, maxBatches = 50): Promise<number> {
  let minId = `${nowMs - ep.spec.retention.seconds * 1000}-0`;
  const head = await oldestHeadEvent(shared, ep);
  if (head && compareStreamIds(head, minId) < 0) minId = head;
  let removed = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await trimEvents(shared.redis, shared.keys, ep.id, minId, BATCH);
    removed += n;
    if (n < BATCH) break;
  }
  return removed;
}
