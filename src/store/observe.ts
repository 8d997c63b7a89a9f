// What the endpoint reconciler (src/controller/) reads from Redis before planning: the backlog
// and the age of its oldest delivery (one definition with the API and the gauges: backlog.ts),
// blocked partitions, the head delivery's last failure, and the stats hash (deadlettered,
// last_delivered_ms). Reads only;
// every call is on one endpoint's keys (one slot on a cluster).
import { partitionQueue } from './backlog.ts';
import { lastDeliveredAt } from './delivery-record.ts';
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

async function partitionState(redis: RedisClient, keys: Keys, id: string, p: number) {
  const q = await partitionQueue(redis, keys, id, p);
  let failure: HeadFailure | undefined;
  if (q.head) {
    const [status, attempts, reason, code] = await redis.hmget(keys.endpoint(id).delivery(q.head), 'status', 'attempts', 'last_failure_reason', 'last_response_status');
    if (reason && status !== 'DELIVERED') {
      failure = { deliveryId: q.head, partition: p, attempts: Number(attempts ?? 0), classification: reason, statusCode: code ?? '' };
    }
  }
  return { backlog: q.backlog, oldest: q.oldestMs, failure };
}

/** `partitions`: how many partitions to look at (the larger of the stored and the desired layout). */
export async function observeQueues(redis: RedisClient, keys: Keys, id: string, partitions: number): Promise<QueueObservation> {
  const k = keys.endpoint(id);
  const [states, blockedHash, stats] = await Promise.all([
    Promise.all(Array.from({ length: partitions }, (_, p) => partitionState(redis, keys, id, p))),
    redis.hgetall(k.blocked),
    redis.hmget(k.stats, 'deadlettered', 'last_delivered_ms', 'last_delivered_at'),
  ]);
  const blocked = Object.entries(blockedHash)
    .map(([partition, deliveryId]) => ({ partition: Number(partition), deliveryId }))
    .sort((a, b) => a.partition - b.partition);
  const oldest = states.map((s) => s.oldest).filter((n): n is number => n !== undefined);
  const failure = states.find((s) => s.failure)?.failure;
  const delivered = lastDeliveredAt(stats[1], stats[2]);
  return {
    backlog: states.reduce((n, s) => n + s.backlog, 0),
    ...(oldest.length ? { oldestPendingAt: Math.min(...oldest) } : {}),
    blocked,
    deadLettered: Number(stats[0] ?? 0),
    ...(delivered ? { lastDeliveredAt: delivered } : {}),
    ...(failure ? { headFailure: failure } : {}),
  };
}
