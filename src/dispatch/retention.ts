// Retention (spec.retention.seconds): events older than it are dropped with their index entries;
// delivery records and their attempts expire by themselves once they end (finish.lua sets the
// TTL). An event still referenced by the head of a partition (a blocked or long-retried delivery)
// is kept: the cut-off never passes the oldest event at a head, so nothing queued loses its payload.
// Run for every endpoint in the registry (disabled and archived ones too) by one dispatcher at a
// time (a lease key), on its own timer, a bounded number of batches per endpoint and run.
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Shared } from '../lib/runtime.ts';
import { CONSUMER_GROUP, consumerName } from '../store/keys.ts';

const BATCH = 1000;

async function oldestHeadEvent(shared: Shared, ep: ResolvedEndpoint): Promise<string | undefined> {
  const k = shared.keys.endpoint(ep.id);
  const heads: string[] = [];
  for (let p = 0; p < partitionCount(ep.spec); p++) {
    const front = await shared.redis.lrange(k.front(p), 0, -1);
    const pending = await shared.redis.xpending(k.queue(p), CONSUMER_GROUP, '-', '+', 1, consumerName(p)) as Array<[string]>;
    const first = await shared.redis.xrange(k.queue(p), '-', '+', 'COUNT', 1);
    const ids = [...front, ...first.map((e) => e[1][1]!)];
    if (pending[0]) ids.push(...(await shared.redis.xrange(k.queue(p), pending[0][0], pending[0][0])).map((e) => e[1][1]!));
    for (const id of ids) {
      const sid = await shared.redis.hget(k.delivery(id), 'event_sid');
      if (sid) heads.push(sid);
    }
  }
  return heads.sort(compareStreamIds)[0];
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
  const k = shared.keys.endpoint(ep.id);
  let removed = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = Number(await shared.redis.runScript('rdTrim', [k.events, k.eventIndex, k.latestDelivery, k.deliveryLog], [minId, BATCH]));
    removed += n;
    if (n < BATCH) break;
  }
  return removed;
}
