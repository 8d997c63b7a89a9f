// The dispatcher: spreads partitions over the live dispatchers and runs a worker for each
// partition it holds the lease of.
//
// Membership is a heartbeat hash in Redis; every dispatcher computes the same assignment from it
// by rendezvous hashing, so partitions spread evenly without a coordinator and move as little as
// possible when a dispatcher joins or dies. The assignment is only a wish: what makes a dispatcher
// the owner is the lease (acquired with a new fencing token, renewed every ttl/3). A dead
// dispatcher's leases expire within one TTL and its partitions are taken over by the others.
import { createHash, randomUUID } from 'node:crypto';
import { partitionCount } from '../domain/endpoint.ts';
import { createOutageLog } from '../lib/outage.ts';
import type { RoleHandle, Shared } from '../lib/runtime.ts';
import { errorMessage } from '../errors/index.ts';
import { withDeadline } from '../lib/deadline.ts';
import { acquireLease, parseOwnerWake, releaseLease, type Lease, type OwnerWake } from '../store/dispatch.ts';
import { heartbeat, holdRetentionLease, leaveMembership, listenForWakes, stopListeningForWakes } from '../store/membership.ts';
import type { RedisClient } from '../store/redis.ts';
import { reportBacklog } from './backlog.ts';
import { applyRetention } from './retention.ts';
import { createSender, type Sender } from './sender.ts';
import { startWorker, type Worker } from './worker.ts';

export interface DispatcherOptions {
  id?: string;
  now?: () => number;
  random?: () => number;
  idlePollMs?: number;
  /** How often the owner of an endpoint's partition 0 applies its retention. */
  retentionEveryMs?: number;
}

interface Owned {
  lease: Lease;
  worker: Worker;
  validUntil: number;
}

const partitionKey = (endpointId: string, p: number) => `${endpointId}|${p}`;

/** Rendezvous (highest random weight) hashing: the member with the highest score owns the key. */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = createHash('sha1').update(`${m}|${key}`).digest().readUInt32BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) [best, bestScore] = [m, score];
  }
  return best;
}

export function createDispatcher(shared: Shared, opts: DispatcherOptions = {}): RoleHandle & { owned(): Lease[] } {
  const id = opts.id ?? `dispatcher-${randomUUID().slice(0, 8)}`;
  const now = opts.now ?? Date.now;
  const ttl = shared.config.leaseTtlMs;
  const owned = new Map<string, Owned>();
  let sender: Sender | undefined;
  let subscriber: RedisClient | undefined;
  let redis: RedisClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let maintenanceTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let closed = false;
  let lastRetention = 0;
  // Dispatch loops back off and retry while Redis is down: one line when it starts, one when it ends.
  const outage = createOutageLog(shared.log, 'redis', Date.now, 'the dispatcher backs off and retries quietly until it is back');

  const members = (): Promise<string[]> => heartbeat(shared.redis, shared.keys, id, now(), ttl);

  // Partitions being given up: their worker finishes its attempt in flight, then the lease is
  // released. Not awaited by the tick, so one slow request never delays the renewal of others.
  const draining = new Map<string, Promise<void>>();

  const drop = (key: string, release: boolean) => {
    const o = owned.get(key);
    if (!o) return;
    owned.delete(key);
    shared.metrics.dispatchLeaseChanges.inc({ change: 'lost' });
    const done = (async () => {
      await o.worker.stop();
      if (release) await releaseLease(shared.redis, shared.keys, o.lease).catch(() => undefined);
    })().finally(() => draining.delete(key));
    draining.set(key, done);
  };

  // Per partition, the newest queue entry its workers claimed (kept while the process lives, so a
  // late wake-up about an entry a previous worker already sent is recognised as old news).
  const seen = new Map<string, { lastQueueEntry: string }>();
  const seenEntries = (key: string) => {
    let box = seen.get(key);
    if (!box) seen.set(key, (box = { lastQueueEntry: '0-0' }));
    return box;
  };

  // The endpoints whose wake-up channels this dispatcher listens on (or has asked to): those it
  // owns partitions of. A partition's loop starts once its endpoint's subscription is confirmed,
  // or after at most listenWaitMs from when it was asked for: a wake-up published before the
  // subscription is active is then found by the loop's first claim or its idle poll (2 s).
  // On a cluster, ioredis never settles an SSUBSCRIBE that a node answers with MOVED (its slot
  // moved; ioredis re-reads the slot map and re-sends the subscription itself), so nothing here
  // waits on a subscription for longer than that, and one still unconfirmed after
  // RESUBSCRIBE_MS is asked for again.
  interface Subscription { since: number; confirmed: boolean; done: Promise<void> }
  const subscriptions = new Map<string, Subscription>();
  const listenWaitMs = Math.max(200, Math.min(2000, Math.floor(ttl / 4)));
  const RESUBSCRIBE_MS = 10_000;
  const subscribe = (endpointId: string): Subscription => {
    const sub: Subscription = { since: performance.now(), confirmed: false, done: Promise.resolve() };
    sub.done = listenForWakes(subscriber!, shared.keys, id, endpointId).then(
      () => void (sub.confirmed = true),
      (err: unknown) => {
        // Refused (Redis unreachable): asked for again at the next lease round.
        if (subscriptions.get(endpointId) === sub) subscriptions.delete(endpointId);
        shared.log.debug({ endpoint: endpointId, err: errorMessage(err) }, 'wake-up subscription failed; the idle poll covers it');
      });
    subscriptions.set(endpointId, sub);
    return sub;
  };
  /** Before a partition's loop starts: its endpoint's subscription, awaited for what is left of listenWaitMs. */
  const listen = async (endpointId: string) => {
    const sub = subscriptions.get(endpointId) ?? subscribe(endpointId);
    const left = sub.since + listenWaitMs - performance.now();
    if (sub.confirmed || left <= 0) return;
    await withDeadline(sub.done, left, () => new Error('unconfirmed')).catch(() => undefined);
  };
  /**
   * Each lease round, without waiting on Redis: asks again for a subscription of an owned endpoint
   * that is missing or long unconfirmed, and ends those of endpoints it owns no partition of.
   */
  const syncListening = () => {
    const ownedEndpoints = new Set([...owned.values()].map((o) => o.lease.endpointId));
    const now = performance.now();
    for (const endpointId of ownedEndpoints) {
      const sub = subscriptions.get(endpointId);
      if (!sub || (!sub.confirmed && now - sub.since > RESUBSCRIBE_MS)) subscribe(endpointId);
    }
    for (const endpointId of [...subscriptions.keys()]) {
      if (ownedEndpoints.has(endpointId)) continue;
      subscriptions.delete(endpointId);
      // A stray wake-up for a partition it does not own is ignored.
      stopListeningForWakes(subscriber!, shared.keys, id, endpointId).catch(() => undefined);
    }
  };

  const take = async (endpointId: string, partition: number) => {
    const key = partitionKey(endpointId, partition);
    if (draining.has(key)) return;
    const started = performance.now();
    const token = await acquireLease(shared.redis, shared.keys, { endpointId, partition }, id, ttl);
    if (token === 0) return;
    await listen(endpointId);
    const lease: Lease = { endpointId, partition, owner: id, token };
    const entry: Owned = { lease, validUntil: started + ttl * 0.8, worker: undefined as unknown as Worker };
    entry.worker = startWorker({
      shared, redis: redis!, sender: sender!, lease, now, random: opts.random ?? Math.random, idlePollMs: opts.idlePollMs ?? 2000,
      leaseValidUntil: () => entry.validUntil,
      onLost: () => drop(key, false),
      seen: seenEntries(key),
      outage,
    });
    owned.set(key, entry);
    shared.metrics.dispatchLeaseChanges.inc({ change: 'acquired' });
    shared.log.debug({ endpoint: endpointId, partition, token }, 'partition acquired');
  };

  const renew = async (key: string, o: Owned) => {
    const started = performance.now();
    const token = await acquireLease(shared.redis, shared.keys, o.lease, id, ttl);
    if (token === o.lease.token) o.validUntil = started + ttl * 0.8;
    else drop(key, false);
  };

  const tick = async () => {
    const live = await members();
    const wanted = new Map<string, [string, number]>();
    for (const ep of shared.endpoints.all()) {
      if (ep.spec.state !== 'active') continue;
      for (let p = 0; p < partitionCount(ep.spec); p++) {
        const key = partitionKey(ep.id, p);
        if (ownerOf(key, live) === id) wanted.set(key, [ep.id, p]);
      }
    }
    for (const [key, o] of owned) {
      if (!wanted.has(key)) drop(key, true);
      else await renew(key, o);
    }
    for (const [key, [ep, p]] of wanted) if (!owned.has(key)) await take(ep, p);
    syncListening();
  };

  // Backlog gauges and retention run beside the tick, never inside it: the tick renews leases.
  let maintaining = false;
  const maintain = async () => {
    if (maintaining || closed) return;
    maintaining = true;
    try {
      await reportBacklog(shared, [...owned.values()].map((o) => o.lease));
      if (now() - lastRetention >= (opts.retentionEveryMs ?? 60_000)) {
        lastRetention = now();
        await retention();
      }
    } catch (err) {
      outage.failed(err, { doing: 'maintenance' });
    } finally {
      maintaining = false;
    }
  };

  const retention = async () => {
    const every = opts.retentionEveryMs ?? 60_000;
    if (!(await holdRetentionLease(shared.redis, shared.keys, id, every * 2))) return;
    for (const ep of shared.endpoints.all()) {
      const removed = await applyRetention(shared, ep, now());
      if (removed > 0) shared.log.info({ endpoint: ep.id, removed }, 'retention: old events removed');
    }
  };

  // One lease round runs at a time, with at most one more waiting: a slow round (Redis slow or
  // away) does not pile rounds up behind it, and none starts once the dispatcher is closing.
  let roundWaiting = false;
  const schedule = () => {
    if (roundWaiting) return;
    roundWaiting = true;
    ticking = ticking
      .then(() => {
        roundWaiting = false;
        return closed ? undefined : tick();
      })
      .then(() => outage.succeeded(), (err: unknown) => outage.failed(err, { doing: 'renewing leases' }));
  };

  return {
    owned: () => [...owned.values()].map((o) => o.lease),
    async start() {
      sender = createSender({ allowedDestinations: shared.config.allowedDestinations });
      // Its own connection, without auto-pipelining: each delivery waits on one script call, and
      // auto-pipelining would hold every call until the next tick (measured: ~2x per call).
      redis = shared.connect('dispatch', { enableAutoPipelining: false });
      // Wake-ups come on the owned endpoints' shard channels (keys.ts): `<wake>` carries
      // `endpointId|partition`, `<wake>:<this id>` a partition's new head with its event. On a
      // cluster the client re-reads the slot map every 5 s: a node that gave up a slot (a
      // graceful failover, a reshard) drops its subscriptions there, and ioredis moves them to the
      // new node only when it sees the map change.
      subscriber = shared.connect('dispatch-wake', { shardedSubscribers: true, slotsRefreshInterval: 5000 });
      subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
        if (channel.toString().endsWith(':wake')) {
          owned.get(message.toString())?.worker.wake();
          return;
        }
        let wake: OwnerWake;
        try {
          wake = parseOwnerWake(message);
        } catch (err) {
          shared.log.warn({ err: errorMessage(err) }, 'unreadable wake-up ignored');
          return;
        }
        owned.get(wake.partition)?.worker.wake(wake.delivery);
      });
      shared.endpoints.onChange(() => {
        if (!closed) schedule();
        for (const o of owned.values()) o.worker.wake();
      });
      schedule();
      await ticking;
      timer = setInterval(schedule, Math.max(200, Math.floor(ttl / 3)));
      maintenanceTimer = setInterval(() => void maintain(), 5000);
      void maintain();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      clearInterval(maintenanceTimer);
      await ticking;
      for (const k of [...owned.keys()]) drop(k, true);
      await Promise.all(draining.values());
      await leaveMembership(shared.redis, shared.keys, id).catch(() => undefined);
      // Closing the subscriber connection ends every subscription at once.
      subscriptions.clear();
      await subscriber?.quit().catch(() => undefined);
      await sender?.close();
      await redis?.quit().catch(() => undefined);
    },
  };
}
