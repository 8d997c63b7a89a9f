// What the live feed (api/live.ts) reads: a small fingerprint of each endpoint — its newest
// delivery log entry, its counters and its blocked partitions — and the progress of replays. One
// pipeline per read, whatever the number of browsers listening; each key read belongs to one
// endpoint, so the reads work on Redis Cluster as on one node.
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
  const pipe = redis.pipeline();
  for (const id of endpointIds) {
    const k = keys.endpoint(id);
    pipe.xrevrange(k.deliveryLog, '+', '-', 'COUNT', 1).hgetall(k.stats).hgetall(k.blocked);
  }
  const replies = (await pipe.exec()) ?? [];
  const out = new Map<string, EndpointPulse>();
  endpointIds.forEach((id, i) => {
    const [err1, log] = replies[i * 3] ?? [];
    const [err2, stats] = replies[i * 3 + 1] ?? [];
    const [err3, blocked] = replies[i * 3 + 2] ?? [];
    if (err1 || err2 || err3) return;
    const newest = (log as Array<[string, string[]]>)[0];
    out.set(id, {
      newest: newest?.[0] ?? '',
      newestId: newest?.[1][1] ?? '',
      fingerprint: JSON.stringify([stats, blocked]),
    });
  });
  return out;
}

/** The state hashes of the given replays (replay id → endpoint id), missing ones left out. */
export async function replayStates(redis: RedisClient, keys: Keys, replays: ReadonlyMap<string, string>): Promise<Array<Record<string, string>>> {
  const entries = [...replays];
  const pipe = redis.pipeline();
  for (const [id, ep] of entries) pipe.hgetall(keys.endpoint(ep).replay(id));
  const replies = (await pipe.exec()) ?? [];
  return replies.map(([err, s]) => (err ? {} : (s as Record<string, string>))).filter((s) => s.id);
}
