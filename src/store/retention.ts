// Retention's Redis side (the policy is src/dispatch/retention.ts): which events the partitions'
// heads still need, and the trim of the events stream with its index entries (lua/trim.lua).
import { CONSUMER_GROUP, consumerName, type Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

/**
 * The events-stream ids of the deliveries at the heads of the endpoint's partitions: the front
 * list, the entry in flight (the consumer's pending one) and the first queued entry. Unordered.
 */
export async function headEventSids(redis: RedisClient, keys: Keys, endpointId: string, partitions: number): Promise<string[]> {
  const k = keys.endpoint(endpointId);
  const sids: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const front = await redis.lrange(k.front(p), 0, -1);
    const pending = await redis.xpending(k.queue(p), CONSUMER_GROUP, '-', '+', 1, consumerName(p)) as Array<[string]>;
    const first = await redis.xrange(k.queue(p), '-', '+', 'COUNT', 1);
    const ids = [...front, ...first.map((e) => e[1][1]!)];
    if (pending[0]) ids.push(...(await redis.xrange(k.queue(p), pending[0][0], pending[0][0])).map((e) => e[1][1]!));
    for (const id of ids) {
      const sid = await redis.hget(k.delivery(id), 'event_sid');
      if (sid) sids.push(sid);
    }
  }
  return sids;
}

/** Removes up to `batch` events older than `minId` (lua/trim.lua); answers how many went. */
export async function trimEvents(redis: RedisClient, keys: Keys, endpointId: string, minId: string, batch: number): Promise<number> {
  const k = keys.endpoint(endpointId);
  return Number(await redis.runScript('rdTrim', [k.events, k.eventIndex, k.latestDelivery, k.deliveryLog], [minId, batch]));
}
