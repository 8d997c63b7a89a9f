// What the live feed (api/live.ts) reads: a small fingerprint of each endpoint — its newest
// delivery log entry, its counters and its blocked partitions — and the progress of replays. One
// read per tick, whatever the number of browsers listening; each command touches one key, so the
// reads work on Redis Cluster as on one node.
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface EndpointPulse {
  /** Stream id of the newest delivery created ('' when none). */
  newest: string;
  /** The newest delivery's id. */
  newestId: string;
  /** Counters and blocked partitions in one string: it changes whenever a delivery ends or blocks. */
  fingerprint: string;
}

export async function endpointPulses(redis: RedisClient, keys: Keys, endpointIds: readonly string[]): Promise<Map<string, EndpointPulse>> {
  // One command per key, not one pipeline: on Redis Cluster a pipeline must stay in one slot.
  const read = async (id: string) => {
    const k = keys.endpoint(id);
    const [log, stats, blocked] = await Promise.all([redis.xrevrange(k.deliveryLog, '+', '-', 'COUNT', 1), redis.hgetall(k.stats), redis.hgetall(k.blocked)]);
    const newest = log[0];
    return [id, { newest: newest?.[0] ?? '', newestId: newest?.[1][1] ?? '', fingerprint: JSON.stringify([stats, blocked]) }] as const;
  };
  return new Map(await Promise.all(endpointIds.map(read)));
}

/** The state hashes of the given replays (replay id → endpoint id), missing ones left out. */
export async function replayStates(redis: RedisClient, keys: Keys, replays: ReadonlyMap<string, string>): Promise<Array<Record<string, string>>> {
  const states = await Promise.all([...replays].map(([id, ep]) => redis.hgetall(keys.endpoint(ep).replay(id))));
  return states.filter((s) => s.id);
}
