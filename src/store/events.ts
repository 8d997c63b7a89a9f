// Writing accepted events: one Lua call (store/lua/ingest.lua) does dedupe, event, delivery and
// queue entry atomically, under the endpoint's hash tag.
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface NewEvent {
  endpointId: string;
  eventId: string;
  deliveryId: string;
  eventType: string;
  providerEventId: string | undefined;
  receivedAt: string;
  headers: Record<string, string>;
  body: Buffer;
  maxAttempts: number;
  dedupeWindowSeconds: number;
  partition: number;
  orderingKey: string | undefined;
  /**
   * What dedupe claims within the window (a duplicate if already held): the provider event id, or
   * `sha256:<hex>` of the body; and a key only recorded for later claims (domain/event.ts
   * dedupeKeys). Default: claim providerEventId.
   */
  dedupe?: { claim: string | undefined; record: string | undefined };
  /** Lower-cased names of the headers that were verification material (hidden by the API). */
  verificationHeaders?: readonly string[];
}

export interface AppendResult {
  created: boolean;
  /** The stored event's id: the new one, or the original on a duplicate. */
  eventId: string;
  deliveryId: string | undefined;
}

export async function appendEvent(redis: RedisClient, keys: Keys, e: NewEvent): Promise<AppendResult> {
  const k = keys.endpoint(e.endpointId);
  const res = (await redis.runScriptBatched(
    'rdIngest',
    [k.events],
    [e.eventId, e.eventType, e.providerEventId ?? '', e.receivedAt, JSON.stringify(e.headers), e.body, e.deliveryId,
      e.maxAttempts, e.dedupeWindowSeconds, k.wake, e.endpointId, e.partition, e.orderingKey ?? '', k.base,
      e.dedupe ? e.dedupe.claim ?? '' : e.providerEventId ?? '', (e.verificationHeaders ?? []).join(','), e.dedupe?.record ?? '',
      Date.parse(e.receivedAt)],
    // With a replicated acknowledgement configured, the answer waits for the replicas (WAIT).
    redis.ack,
  )) as [number, string, string];
  return { created: res[0] === 1, eventId: res[1], deliveryId: res[2] || undefined };
}
