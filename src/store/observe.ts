// What the endpoint reconciler (src/controller/) reads from Redis before planning: the state of
// the endpoint's partitions (keys.ts): queue + front + hold lengths (the backlog), the enqueue time
// of the oldest queued entry (a stream id starts with its ms timestamp), blocked partitions, the
// head delivery's last failure, and the stats hash (deadlettered, last_delivered_ms). Reads only;
// every call is on one endpoint's keys (one slot on a cluster).
import { isoOfMs } from './delivery-record.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface HeadFailure {
  deliveryId: string;
  partition: number;
  attempts: number;
  classification: string;
  statusCode: string;
}

export interface QueueObservation {
  backlog: number;
  /** Enqueue time (ms) of the oldest waiting entry, when there is one. */
  oldestPendingAt?: number;
  blocked: Array<{ partition: number; deliveryId: string }>;
  deadLettered: number;
  lastDeliveredAt?: string;
  /** A head delivery whose last attempt failed (retrying, or blocked). */
  headFailure?: HeadFailure;
}

const streamMs = (id: string | undefined) => (id ? Number(id.split('-')[0]) : undefined);

async function headOf(redis: RedisClient, keys: Keys, id: string, p: number): Promise<string | undefined> {
  const k = keys.endpoint(id);
  const front = await redis.lindex(k.front(p), 0);
  if (front) return front;
  const [first] = await redis.xrange(k.queue(p), '-', '+', 'COUNT', 1);
  const fields = first?.[1] ?? [];
  const i = fields.indexOf('d');
  return i >= 0 ? fields[i + 1] : undefined;
}

async function partitionState(redis: RedisClient, keys: Keys, id: string, p: number) {
  const k = keys.endpoint(id);
  const [queueLen, frontLen, holdLen, firstQueued, firstHeld, head] = await Promise.all([
    redis.xlen(k.queue(p)),
    redis.llen(k.front(p)),
    redis.xlen(k.hold(p)),
    redis.xrange(k.queue(p), '-', '+', 'COUNT', 1),
    redis.xrange(k.hold(p), '-', '+', 'COUNT', 1),
    headOf(redis, keys, id, p),
  ]);
  const oldest = [streamMs(firstQueued[0]?.[0]), streamMs(firstHeld[0]?.[0])].filter((n): n is number => n !== undefined);
  let failure: HeadFailure | undefined;
  if (head) {
    const [status, attempts, reason, code] = await redis.hmget(k.delivery(head), 'status', 'attempts', 'last_failure_reason', 'last_response_status');
    if (reason && status !== 'DELIVERED') {
      failure = { deliveryId: head, partition: p, attempts: Number(attempts ?? 0), classification: reason, statusCode: code ?? '' };
    }
  }
  return { backlog: queueLen + frontLen + holdLen, oldest: oldest.length ? Math.min(...oldest) : undefined, failure };
}

/** `partitions`: how many partitions to look at (the larger of the stored and the desired layout). */
export async function observeQueues(redis: RedisClient, keys: Keys, id: string, partitions: number): Promise<QueueObservation> {
  const k = keys.endpoint(id);
  const [states, blockedHash, stats] = await Promise.all([
    Promise.all(Array.from({ length: partitions }, (_, p) => partitionState(redis, keys, id, p))),
    redis.hgetall(k.blocked),
    redis.hmget(k.stats, 'deadlettered', 'last_delivered_ms'),
  ]);
  const blocked = Object.entries(blockedHash)
    .map(([partition, deliveryId]) => ({ partition: Number(partition), deliveryId }))
    .sort((a, b) => a.partition - b.partition);
  const oldest = states.map((s) => s.oldest).filter((n): n is number => n !== undefined);
  const failure = states.find((s) => s.failure)?.failure;
  return {
    backlog: states.reduce((n, s) => n + s.backlog, 0),
    ...(oldest.length ? { oldestPendingAt: Math.min(...oldest) } : {}),
    blocked,
    deadLettered: Number(stats[0] ?? 0),
    ...(stats[1] ? { lastDeliveredAt: isoOfMs(stats[1]) } : {}),
    ...(failure ? { headFailure: failure } : {}),
  };
}
