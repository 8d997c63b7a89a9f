// Dispatcher membership and the process-wide leases the dispatchers share, in Redis: a heartbeat
// hash (dispatcher id → ms of its last beat) from which every dispatcher computes the same
// partition assignment, the retention lease (one dispatcher applies retention at a time), and the
// wake-up channels a dispatcher listens on. Global keys: each call touches one key.
// The wake-up channels are the endpoints' shard channels (keys.ts).
import type { Keys } from './keys.ts';
import type { RedisClient, RedisCommands } from './redis.ts';

/**
 * Records this dispatcher's beat and answers the live members (a beat within `ttlMs`); members
 * silent for ten TTLs are removed from the hash.
 */
export async function heartbeat(redis: RedisClient, keys: Keys, id: string, nowMs: number, ttlMs: number): Promise<string[]> {
  await redis.hset(keys.dispatchers, id, nowMs);
  const all = await redis.hgetall(keys.dispatchers);
  const live: string[] = [];
  for (const [m, beat] of Object.entries(all)) {
    if (nowMs - Number(beat) <= ttlMs) live.push(m);
    else if (nowMs - Number(beat) > ttlMs * 10) await redis.hdel(keys.dispatchers, m);
  }
  return live;
}

/** Leaves the membership (on close): the others take the partitions over at their next tick. */
export async function leaveMembership(redis: RedisClient, keys: Keys, id: string): Promise<void> {
  await redis.hdel(keys.dispatchers, id);
}

/** Takes or keeps the retention lease for `ttlMs`; false while another dispatcher holds it. */
export async function holdRetentionLease(redis: RedisClient, keys: Keys, id: string, ttlMs: number): Promise<boolean> {
  const mine = await redis.set(keys.retentionLease, id, 'PX', ttlMs, 'NX');
  return mine === 'OK' || (await redis.get(keys.retentionLease)) === id;
}

/**
 * Listens, on a dispatcher's subscriber connection, for the wake-ups of one endpoint it owns
 * partitions of: the endpoint's plain wake channel and its own (keys.ts `wake`, `ownerWake`).
 * Both are shard channels under the endpoint's tag, so on a Redis Cluster they stay on the shard
 * that holds the endpoint (the client needs `shardedSubscribers`); resolves once Redis confirms.
 */
export async function listenForWakes(subscriber: RedisCommands, keys: Keys, ownerId: string, endpointId: string): Promise<void> {
  const k = keys.endpoint(endpointId);
  await subscriber.ssubscribe(k.wake, k.ownerWake(ownerId));
}

/** Stops listening for an endpoint's wake-ups (the dispatcher owns none of its partitions any more). */
export async function stopListeningForWakes(subscriber: RedisCommands, keys: Keys, ownerId: string, endpointId: string): Promise<void> {
  const k = keys.endpoint(endpointId);
  await subscriber.sunsubscribe(k.wake, k.ownerWake(ownerId));
}
