// Counting what a replay selector matches before the replay starts (the dashboard's bulk recovery
// shows it, and the user confirms against it): the same scan and predicate as the replay engine,
// without bodies (lua/events-meta.lua), in windows, up to a budget of events examined.
import type { Keys } from './keys.ts';
import { scanEventMetas, type EventMeta } from './listing.ts';
import type { RedisClient } from './redis.ts';

export interface SelectionCount {
  matched: number;
  scanned: number;
  /** false when the budget ran out before the end of the range (`matched` is then a lower bound). */
  complete: boolean;
}

// Small windows: each is one Lua call, and a long one would hold up ingest and delivery meanwhile.
const CHUNK = 250;

export async function countSelection(
  redis: RedisClient, keys: Keys, endpointId: string, range: { start: string; end: string }, match: (e: EventMeta) => boolean, budget = 1_000_000,
): Promise<SelectionCount> {
  let first = range.start;
  let matched = 0;
  let scanned = 0;
  while (scanned < budget) {
    const metas = await scanEventMetas(redis, keys, endpointId, 'fwd', first, range.end, CHUNK);
    scanned += metas.length;
    for (const m of metas) if (match(m)) matched++;
    if (metas.length < CHUNK) return { matched, scanned, complete: true };
    first = `(${metas.at(-1)!.sid}`;
  }
  return { matched, scanned, complete: false };
}
