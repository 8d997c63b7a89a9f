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
      e.maxAttempts, e.dedupeWindowSeconds, keys.wakeChannel, e.endpointId, e.partition, e.orderingKey ?? '', k.base],
    // With a replicated acknowledgement configured, the answer waits for the replicas (WAIT).
    redis.ack,
  )) as [number, string, string];
  return { created: res[0] === 1, eventId: res[1], deliveryId: res[2] || undefined };
}
