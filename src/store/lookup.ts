// Finding an event by the provider's own id (Stripe's `evt_…`, GitHub's delivery GUID): first the
// dedupe key (one GET per endpoint, while the dedupe window holds it), then the events streams,
// newest first, up to a budget of events examined.
import { parseEventIndex } from './event-index.ts';
import type { Keys } from './keys.ts';
import { scanEventMetas } from './listing.ts';
import type { RedisClient } from './redis.ts';

export interface FoundEvent {
  endpointId: string;
  eventId: string;
  sid: string;
}

// Small windows: each is one Lua call, and a long one would hold up ingest and delivery meanwhile.
const CHUNK = 250;

async function fromDedupe(redis: RedisClient, keys: Keys, pid: string, endpoints: readonly string[]): Promise<FoundEvent | undefined> {
  const ids = await Promise.all(endpoints.map((ep) => redis.get(keys.endpoint(ep).dedupe(pid))));
  for (const [i, eventId] of ids.entries()) {
    if (!eventId) continue;
    const endpointId = endpoints[i]!;
    const entry = parseEventIndex(await redis.hget(keys.endpoint(endpointId).eventIndex, eventId));
    if (entry) return { endpointId, eventId, sid: entry.sid };
  }
  return undefined;
}

async function fromStreams(redis: RedisClient, keys: Keys, pid: string, endpoints: readonly string[], budget: number): Promise<FoundEvent | undefined> {
  const perEndpoint = Math.max(CHUNK, Math.floor(budget / Math.max(1, endpoints.length)));
  for (const endpointId of endpoints) {
    let high = '+';
    for (let scanned = 0; scanned < perEndpoint;) {
      const metas = await scanEventMetas(redis, keys, endpointId, 'rev', high, '-', CHUNK);
      const hit = metas.find((m) => m.providerEventId === pid);
      if (hit) return { endpointId, eventId: hit.id, sid: hit.sid };
      scanned += metas.length;
      if (metas.length < CHUNK) break;
      high = `(${metas.at(-1)!.sid}`;
    }
  }
  return undefined;
}

export async function findByProviderId(
  redis: RedisClient, keys: Keys, pid: string, endpoints: readonly string[], budget = 50_000,
): Promise<FoundEvent | undefined> {
  return (await fromDedupe(redis, keys, pid, endpoints)) ?? fromStreams(redis, keys, pid, endpoints, budget);
}
