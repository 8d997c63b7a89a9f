// The event index of an endpoint (keys.eventIndex): event id → `<stream id>|<latest delivery id>`,
// one hash entry per event for both lookups (written by lua/ingest.lua and lua/lib-delivery.lua
// set_latest). An earlier layout kept the latest delivery in a hash of its own (keys.latestDelivery);
// an entry without `|` is read with it, until retention removes the event.
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface EventIndexEntry {
  sid: string;
  /** Its latest delivery (the first, or the newest resend, unblock retry or replay of it). */
  latest: string | undefined;
}

/** Parses an index value; undefined for a missing entry. */
export function parseEventIndex(value: string | null | undefined): EventIndexEntry | undefined {
  if (!value) return undefined;
  const bar = value.indexOf('|');
  return bar < 0 ? { sid: value, latest: undefined } : { sid: value.slice(0, bar), latest: value.slice(bar + 1) || undefined };
}

/** An event's index entry, with the latest delivery of the earlier layout where it has none. */
export async function readEventIndex(redis: RedisClient, keys: Keys, endpointId: string, eventId: string): Promise<EventIndexEntry | undefined> {
  const k = keys.endpoint(endpointId);
  const entry = parseEventIndex(await redis.hget(k.eventIndex, eventId));
  if (!entry || entry.latest) return entry;
  const old = await redis.hget(k.latestDelivery, eventId);
  return old ? { ...entry, latest: old } : entry;
}
