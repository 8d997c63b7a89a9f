// Live health of one endpoint, read from Redis for the management API: the backlog, its oldest
// delivery's age and blocked partitions (as store/backlog.ts defines them), counters, and whether
// the destination is answering — judged by the outcome of the most recent attempts (the heads of
// the partitions, which are what is being retried, and the newest deliveries).
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { partitionQueue } from './backlog.ts';
import { isoOfMs, lastDeliveredAt } from './delivery-record.ts';
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
    Promise.all(Array.from({ length: partitionCount(ep.spec) }, (_, p) => partitionQueue(redis, keys, ep.id, p))),
    redis.hgetall(k.blocked), redis.hgetall(k.stats), redis.xrevrange(k.deliveryLog, '+', '-', 'COUNT', RECENT),
  ]);
  const ids = [...new Set([...parts.flatMap((p) => p.heads), ...Object.values(blocked), ...recent.map((r) => r[1][1])].filter((x): x is string => !!x))];
  // Times are epoch ms in the record (store/delivery-record.ts): the last attempt's is shown as ISO.
  const records = (await Promise.all(ids.map((id) => redis.hmget(k.delivery(id), 'status', 'attempts', 'last_failure_reason', 'last_attempt_ms'))))
    .map(([status, attempts, reason, attemptMs]) => [status, attempts, reason, isoOfMs(attemptMs ?? undefined)] as const);
  const times = parts.map((p) => p.oldestMs).filter((x): x is number => x !== undefined);
  const counters: Record<string, number> = {};
  for (const [name, v] of Object.entries(stats)) if (/^-?\d+$/.test(v)) counters[name] = Number(v);
  return {
    backlog: parts.reduce((n, p) => n + p.backlog, 0),
    held: parts.reduce((n, p) => n + p.held, 0),
    oldestPendingMs: times.length ? Math.max(0, nowMs - Math.min(...times)) : undefined,
    blocked,
    lastDeliveredAt: lastDeliveredAt(stats.last_delivered_ms, stats.last_delivered_at),
    destination: destination(lastOutcome(records)),
    counters,
  };
}
