// Every Redis key Redeliver uses is built here, and only here (the bullmq anchor).
//
// All keys of one endpoint carry the hash tag `{namespace/name}`, so every multi-key Lua script
// touches a single slot and Redis Cluster works. The few global keys (the registry index and
// the registry channel) are never touched by a multi-key script together with endpoint keys.
// The wake-up channels are shard channels (SPUBLISH/SSUBSCRIBE) under the endpoint's tag: a
// wake-up stays on the shard that holds the endpoint instead of crossing every node of a cluster.
//
// Hot-path scripts (ingest.lua, replay-batch.lua, lib-head.lua) receive the endpoint's key base
// (`base` below) and append the same suffixes as here (eventidx, d:<id>, q:<p>, hold:<p>, dlog,
// stats, latest, endpoint, dedupe:<id>, replay:<id>, lease:<p>, front:<p>): a change of suffix
// here must be made there.
//
// <p> below is the configured prefix (`rd` by default; tests use a random one).

export interface EndpointKeys {
  /**
   * Hash: the endpoint's registry entry (`config` = JSON with sealed secrets, `state`, `generation`;
   * while a pauseLive replay runs, `hold_live` = '1' and `hold_replay` = that replay's id).
   */
  readonly endpoint: string;
  /** Stream: every accepted event in receive order. Fields: id, type, pid, at, h (headers JSON), b (raw body). */
  readonly events: string;
  /** Hash: event id → `<stream entry id in events>|<latest delivery id>` (store/event-index.ts). */
  readonly eventIndex: string;
  /** Stream: one entry per delivery created (field d = delivery id); the listing index, newest last. */
  readonly deliveryLog: string;
  /** Hash: counters (ingested, deduped, delivered, failed, deadlettered, …). */
  readonly stats: string;
  /** Hash: partition → delivery id that blocks it (onExhausted: block). */
  readonly blocked: string;
  /** Hash: event id → last resend_seq handed out for it (resends, unblock retries, replays). */
  readonly resendSeq: string;
  /**
   * Hash: event id → id of its latest delivery, as an earlier layout kept it (now in eventIndex);
   * only read for entries written before, and trimmed with them by retention.
   */
  readonly latestDelivery: string;
  /** `<p>:{endpoint}:` — the base that Lua scripts build per-id keys from (same hash tag). */
  readonly base: string;
  /** String with TTL: provider event id → our event id, for the dedupe window. */
  dedupe(providerEventId: string): string;
  /** Hash: one delivery record (seed 001 fields). */
  delivery(deliveryId: string): string;
  /** List of JSON: every attempt of one delivery, oldest first. */
  attempts(deliveryId: string): string;
  /** Stream with consumer group `dispatch`, consumer `p<partition>`: the partition's FIFO of delivery ids. */
  queue(partition: number): string;
  /** List: delivery ids to send before the queue's head (an unblock `retry` puts its new delivery here). */
  front(partition: number): string;
  /** Stream: live queue entries held while a `pauseLive` replay runs; moved to `queue` after it. */
  hold(partition: number): string;
  /** Hash: one replay's state (spec JSON, phase, persisted cursor, counters). */
  replay(replayId: string): string;
  /**
   * String with TTL: id of the process driving the replay (src/replay/). Renewed while it drives;
   * when it expires (the process died), another API process adopts the replay at its cursor.
   */
  replayLease(replayId: string): string;
  /** String with TTL: `owner:token` of the dispatcher that owns the partition. */
  lease(partition: number): string;
  /** Counter: last fencing token handed out for the partition (monotonic, never expires). */
  fence(partition: number): string;
  /**
   * Shard channel: `endpointId|partition` that has new work (a hint; dispatchers also poll). The
   * scripts that queue work (ingest, resend, unblock, replay) publish on it.
   */
  readonly wake: string;
  /**
   * Shard channel of one dispatcher for this endpoint (`<wake>:<owner id>`, built the same way by
   * ingest.lua): a partition it owns went from empty to one delivery — JSON (endpoint `ep`,
   * partition `p`, queue entry `q`, delivery `d`, event `e`, type `t`, max attempts `m`, headers
   * JSON `h`), a newline, then the raw body.
   */
  ownerWake(ownerId: string): string;
}

export interface Keys {
  readonly prefix: string;
  /** Set: ids (`namespace/name`) of every endpoint in the registry. */
  readonly endpointIndex: string;
  /** Pub/sub channel: an endpoint id whose registry entry changed. */
  readonly registryChannel: string;
  /**
   * Stream: audit log of every management write (fields at, who, scope, action, target, status,
   * result, detail JSON); capped at about 100,000 entries.
   */
  readonly audit: string;
  /** Hash: dispatcher id → heartbeat ms, for spreading partitions across live dispatchers. */
  readonly dispatchers: string;
  /** String with TTL: the dispatcher currently applying retention to every endpoint. */
  readonly retentionLease: string;
  /** Hash: replay id → endpoint id (the replay's own state lives under the endpoint's tag). */
  readonly replays: string;
  /**
   * Hash with TTL: one dashboard session, by the sha256 of its cookie token (the token itself is
   * never stored). Fields: key_id, created_at, expires_at.
   */
  session(tokenHash: string): string;
  endpoint(endpointId: string): EndpointKeys;
}

export const CONSUMER_GROUP = 'dispatch';
export const consumerName = (partition: number) => `p${partition}`;

export function createKeys(prefix: string): Keys {
  // Built once per endpoint: the hot paths ask for an endpoint's keys on every request.
  const built = new Map<string, EndpointKeys>();
  return {
    prefix,
    endpointIndex: `${prefix}:endpoints`,
    registryChannel: `${prefix}:registry`,
    audit: `${prefix}:audit`,
    dispatchers: `${prefix}:dispatchers`,
    retentionLease: `${prefix}:retention-lease`,
    replays: `${prefix}:replays`,
    session: (h) => `${prefix}:session:${h}`,
    endpoint(endpointId: string): EndpointKeys {
      let keys = built.get(endpointId);
      if (!keys) {
        if (built.size >= 10_000) built.clear(); // ids can come from request paths: stay bounded
        keys = endpointKeys(prefix, endpointId);
        built.set(endpointId, keys);
      }
      return keys;
    },
  };
}

function endpointKeys(prefix: string, endpointId: string): EndpointKeys {
  const base = `${prefix}:{${endpointId}}`;
  return {
    endpoint: `${base}:endpoint`,
    events: `${base}:events`,
    eventIndex: `${base}:eventidx`,
    deliveryLog: `${base}:dlog`,
    stats: `${base}:stats`,
    blocked: `${base}:blocked`,
    resendSeq: `${base}:resends`,
    latestDelivery: `${base}:latest`,
    base: `${base}:`,
    hold: (p) => `${base}:hold:${p}`,
    replay: (id) => `${base}:replay:${id}`,
    replayLease: (id) => `${base}:replay:${id}:lease`,
    dedupe: (id) => `${base}:dedupe:${id}`,
    delivery: (id) => `${base}:d:${id}`,
    attempts: (id) => `${base}:d:${id}:attempts`,
    queue: (p) => `${base}:q:${p}`,
    front: (p) => `${base}:front:${p}`,
    lease: (p) => `${base}:lease:${p}`,
    fence: (p) => `${base}:fence:${p}`,
    wake: `${base}:wake`,
    ownerWake: (owner) => `${base}:wake:${owner}`,
  };
}
