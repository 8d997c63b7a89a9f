// Dispatcher membership and the process-wide leases the dispatchers share, in Redis: a heartbeat
// hash (dispatcher id → ms of its last beat) from which every dispatcher computes the same
// partition assignment, the retention lease (one dispatcher applies retention at a time), and the
// wake-up channels a dispatcher listens on. Global keys: each call touches one key.
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
 * Subscribes a dispatcher's subscriber connection to the plain wake-up channel and to its own
 * (keys.ownerWakeChannel). PUBLISH reaches every node of a Redis Cluster, so one subscription on
 * any node hears the wake-ups of every shard.
 */
export async function subscribeWakes(subscriber: RedisCommands, keys: Keys, ownerId: string): Promise<void> {
  await subscriber.subscribe(keys.wakeChannel, keys.ownerWakeChannel(ownerId));
}

export async function unsubscribeAll(subscriber: RedisCommands): Promise<void> {
  await subscriber.unsubscribe();
}
