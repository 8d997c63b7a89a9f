// One definition of an endpoint's backlog, read the same way by the management API (endpoint
// health), the controller (`kubectl get`, the resource's status) and the dispatchers' gauges:
//
//   backlog  every delivery accepted and not yet finished: its partition's queue (the head in
//            flight or being retried included), the front list (an unblock's retry) and the
//            entries held back while a pauseLive replay runs;
//   held     the held part of the backlog;
//   oldest   when the oldest of them was enqueued: a queue or hold entry's stream id is its
//            enqueue time, a front entry's is its delivery record's created_ms;
//   blocked  the partitions an exhausted delivery holds (the `blocked` hash).
//
// Reads only, each on one endpoint's keys (one slot on a cluster).
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface PartitionQueue {
  queued: number;
  front: number;
  held: number;
  /** queued + front + held. */
  backlog: number;
  /** Enqueue time (epoch ms) of the oldest delivery in the backlog, when there is one. */
  oldestMs: number | undefined;
  /** The head: the first of the front list, else the first queue entry's delivery. */
  head: string | undefined;
  /** The front head and the queue head, those that exist (the deliveries being tried). */
  heads: string[];
}

const streamMs = (id: string | undefined) => (id ? Number(id.split('-')[0]) : undefined);

export async function partitionQueue(redis: RedisClient, keys: Keys, endpointId: string, partition: number): Promise<PartitionQueue> {
  const k = keys.endpoint(endpointId);
  const [queued, front, held, firstQueued, frontHead, firstHeld] = await Promise.all([
    redis.xlen(k.queue(partition)),
    redis.llen(k.front(partition)),
    redis.xlen(k.hold(partition)),
    redis.xrange(k.queue(partition), '-', '+', 'COUNT', 1),
    redis.lindex(k.front(partition), 0),
    redis.xrange(k.hold(partition), '-', '+', 'COUNT', 1),
  ]);
  const fields = firstQueued[0]?.[1] ?? [];
  const d = fields.indexOf('d');
  const queueHead = d >= 0 ? fields[d + 1] : undefined;
  const times = [streamMs(firstQueued[0]?.[0]), streamMs(firstHeld[0]?.[0])];
  if (frontHead) {
    const [ms, iso] = await redis.hmget(k.delivery(frontHead), 'created_ms', 'created_at');
    times.push(ms ? Number(ms) : iso ? Date.parse(iso) : undefined);
  }
  const known = times.filter((t): t is number => t !== undefined && Number.isFinite(t));
  return {
    queued, front, held, backlog: queued + front + held,
    oldestMs: known.length ? Math.min(...known) : undefined,
    head: frontHead ?? queueHead,
    heads: [frontHead, queueHead].filter((x): x is string => !!x),
  };
}

/** One partition's figures for the dispatcher that owns it: its queue, and whether it is blocked. */
export async function partitionBacklog(redis: RedisClient, keys: Keys, endpointId: string, partition: number) {
  const [q, blocked] = await Promise.all([
    partitionQueue(redis, keys, endpointId, partition),
    redis.hexists(keys.endpoint(endpointId).blocked, String(partition)),
  ]);
  return { ...q, blocked: blocked === 1 };
}
