// Live health of one endpoint, read from Redis for the management API: backlog and the age of the
// oldest pending delivery over every partition, blocked partitions, counters, and whether the
// destination is answering — judged by the outcome of the most recent attempts (the heads of the
// partitions, which are what is being retried, and the newest deliveries).
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { isoOfMs } from './delivery-record.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface EndpointHealth {
  backlog: number;
  held: number;
  oldestPendingMs: number | undefined;
  blocked: Record<string, string>;
  lastDeliveredAt: string | undefined;
  destination: { status: 'healthy' | 'failing' | 'unknown'; lastClassification: string | undefined; lastAttemptAt: string | undefined };
  counters: Record<string, number>;
}

const RECENT = 10;
const idMs = (sid: string | undefined) => (sid ? Number(sid.split('-')[0]) : undefined);

async function partitionFigures(redis: RedisClient, keys: Keys, ep: ResolvedEndpoint) {
  const k = keys.endpoint(ep.id);
  const parts = Array.from({ length: partitionCount(ep.spec) }, (_, p) => p);
  return Promise.all(parts.map(async (p) => {
    const [queued, front, held, first, frontHead, firstHeld] = await Promise.all([
      redis.xlen(k.queue(p)), redis.llen(k.front(p)), redis.xlen(k.hold(p)),
      redis.xrange(k.queue(p), '-', '+', 'COUNT', 1), redis.lindex(k.front(p), 0), redis.xrange(k.hold(p), '-', '+', 'COUNT', 1),
    ]);
    const head = first[0];
    return { queued, front, held, heads: [frontHead, head?.[1][1]], oldest: [idMs(head?.[0]), idMs(firstHeld[0]?.[0])] };
  }));
}

type Outcome = { at: string; reason: string };

/** The most recent attempt with a known outcome among the given delivery records. */
function lastOutcome(records: ReadonlyArray<ReadonlyArray<string | null | undefined>>): Outcome | undefined {
  let last: Outcome | undefined;
  for (const [status, attempts, reason, at] of records) {
    // An attempt in flight has no outcome yet; its record still holds the previous attempt's.
    const hasOutcome = Number(attempts ?? 0) > (status === 'SENDING' ? 1 : 0);
    if (hasOutcome && at && (!last || at > last.at)) last = { at, reason: reason ?? '' };
  }
  return last;
}

function destination(last: Outcome | undefined): EndpointHealth['destination'] {
  if (!last) return { status: 'unknown', lastClassification: undefined, lastAttemptAt: undefined };
  return { status: last.reason ? 'failing' : 'healthy', lastClassification: last.reason || 'consumer_2xx', lastAttemptAt: last.at };
}

export async function endpointHealth(redis: RedisClient, keys: Keys, ep: ResolvedEndpoint, nowMs = Date.now()): Promise<EndpointHealth> {
  const k = keys.endpoint(ep.id);
  const [parts, blocked, stats, recent] = await Promise.all([
    partitionFigures(redis, keys, ep), redis.hgetall(k.blocked), redis.hgetall(k.stats), redis.xrevrange(k.deliveryLog, '+', '-', 'COUNT', RECENT),
  ]);
  const frontHeads = parts.map((p) => p.heads[0]).filter((x): x is string => !!x);
  const ids = [...new Set([...parts.flatMap((p) => p.heads), ...Object.values(blocked), ...recent.map((r) => r[1][1])].filter((x): x is string => !!x))];
  // Times are epoch ms in the record (store/delivery-record.ts): the last attempt's is shown as ISO.
  const records = (await Promise.all(ids.map((id) => redis.hmget(k.delivery(id), 'status', 'attempts', 'last_failure_reason', 'last_attempt_ms', 'created_ms'))))
    .map(([status, attempts, reason, attemptMs, createdMs]) => [status, attempts, reason, isoOfMs(attemptMs ?? undefined), createdMs] as const);
  // Oldest pending: the first queue (or hold) entry's id is its enqueue time; a front entry has its record's.
  const times = parts.flatMap((p) => p.oldest).filter((x): x is number => x !== undefined);
  for (const [i, r] of records.entries()) if (frontHeads.includes(ids[i]!) && r[4]) times.push(Number(r[4]));
  const counters: Record<string, number> = {};
  for (const [name, v] of Object.entries(stats)) if (/^-?\d+$/.test(v)) counters[name] = Number(v);
  return {
    backlog: parts.reduce((n, p) => n + p.queued + p.front, 0),
    held: parts.reduce((n, p) => n + p.held, 0),
    oldestPendingMs: times.length ? Math.max(0, nowMs - Math.min(...times)) : undefined,
    blocked,
    lastDeliveredAt: isoOfMs(stats.last_delivered_ms) || undefined,
    destination: destination(lastOutcome(records)),
    counters,
  };
}

/**
 * One partition's backlog for the dispatcher's gauges: queued entries plus the front list, the
 * enqueue time (ms) of the oldest queued entry (its stream id), and whether it is blocked.
 */
export async function partitionBacklog(redis: RedisClient, keys: Keys, endpointId: string, partition: number) {
  const k = keys.endpoint(endpointId);
  const [queued, front, first, blocked] = await Promise.all([
    redis.xlen(k.queue(partition)),
    redis.llen(k.front(partition)),
    redis.xrange(k.queue(partition), '-', '+', 'COUNT', 1),
    redis.hexists(k.blocked, String(partition)),
  ]);
  return { backlog: queued + front, oldestQueuedMs: idMs(first[0]?.[0]), blocked: blocked === 1 };
}
