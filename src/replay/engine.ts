// The replay engine: re-delivers a selected range of an endpoint's events as NEW deliveries, in
// their original receive order (design: ReplayRequest). Shared code: the API role drives it now,
// the Kubernetes controller's ReplayRequest reconciler can drive the same engine, by id:
//
//   start(id, spec)  create the replay (idempotent for an existing id) and drive it
//   resume()         adopt every Running replay now, then keep sweeping (process start)
//   cancel(id)       Cancelled: no more enqueuing; a pauseLive hold is let go at once
//   status(id)       progress: phase, matched, enqueued, delivered, failed
//   close()          stop driving (idempotent); another process or a restart carries on
//
// Several processes may run engines on the same Redis: a replay is driven by whoever holds its
// lease (store: replayLease); the sweep adopts replays whose driver died once the lease expired.
// See driver.ts for why a restart neither repeats nor skips an event.
import { randomUUID } from 'node:crypto';
import { AppError, conflict, notFound } from '../errors/index.ts';
import type { ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Log } from '../lib/log.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import { createReplay, getReplay, replayIndex, replayPhase, replayState, transitionReplay } from '../store/replays.ts';
import { driveReplay, settleHold, type DriverDeps } from './driver.ts';
import { parseEndpointRef, scanRange, type ReplaySpec } from './spec.ts';
import { toStatus, type ReplayStatus } from './status.ts';

export interface ReplayEngineDeps {
  redis: RedisClient;
  keys: Keys;
  log: Log;
  endpoints: { get(id: string): ResolvedEndpoint | undefined };
  /** This process' id in replay leases. */
  owner?: string;
  leaseTtlMs?: number;
  /** Events scanned per window (the cursor advances at most this far per batch). */
  batchSize?: number;
  /** How often a driver checks whether the replayed deliveries have all ended. */
  pollMs?: number;
  /** How often resume() looks again for Running replays that nobody drives. */
  sweepMs?: number;
}

export interface ReplayEngine {
  start(id: string, spec: ReplaySpec): Promise<ReplayStatus>;
  resume(): Promise<void>;
  cancel(id: string): Promise<ReplayStatus | undefined>;
  status(id: string): Promise<ReplayStatus | undefined>;
  list(): Promise<ReplayStatus[]>;
  close(): Promise<void>;
}

export function createReplayEngine(deps: ReplayEngineDeps): ReplayEngine {
  const { redis, keys, log } = deps;
  const driving = new Map<string, Promise<void>>();
  const sleepers = new Set<() => void>();
  let closed = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> = Promise.resolve();

  const sleep = (ms: number) =>
    new Promise<void>((ok) => {
      if (closed) return ok();
      const done = () => {
        clearTimeout(t);
        sleepers.delete(done);
        ok();
      };
      const t = setTimeout(done, Math.max(1, ms));
      sleepers.add(done);
    });

  const driver: DriverDeps = {
    redis, keys, log,
    endpoint: (id) => deps.endpoints.get(id),
    owner: deps.owner ?? `replay-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: deps.leaseTtlMs ?? 5000,
    batchSize: deps.batchSize ?? 500,
    pollMs: deps.pollMs ?? 200,
    pacing: new Map(),
    sleep,
    closed: () => closed,
  };

  /** Drives the replay from this process unless it already does. */
  const kick = (id: string, endpointId: string) => {
    if (closed || driving.has(id)) return;
    const run = driveReplay(driver, id, endpointId)
      .catch((err: unknown) => log.error({ err, replay: id }, 'replay driver failed'))
      .finally(() => driving.delete(id));
    driving.set(id, run);
  };

  const sweep = async () => {
    const index = await replayIndex(redis, keys);
    const ids = Object.keys(index);
    const states = await Promise.all(ids.map((id) => replayPhase(redis, keys, index[id]!, id)));
    for (const [i, id] of ids.entries()) {
      const [phase, pauseLive, released] = states[i]!;
      const ep = index[id]!;
      if (phase === 'Running') kick(id, ep);
      else if (pauseLive === '1' && released !== '1') {
        // A hold left behind by a process that died between the end of its replay and the release.
        const s = await replayState(redis, keys, ep, id);
        await settleHold(driver, s);
      }
    }
  };
  const scheduleSweep = () => {
    sweeping = sweeping.then(sweep).catch((err: unknown) => log.warn({ err }, 'replay sweep failed'));
    return sweeping;
  };

  const status = async (id: string) => {
    const s = await getReplay(redis, keys, id);
    return s ? toStatus(s) : undefined;
  };

  return {
    async start(id, spec) {
      const endpointId = parseEndpointRef(spec.endpoint);
      const range = scanRange(spec);
      if (!deps.endpoints.get(endpointId)) {
        throw new AppError('endpoint_not_found', `no endpoint "${endpointId}"`, 404, { details: { field: 'endpoint' } });
      }
      const created = await createReplay(redis, keys, {
        endpointId, replayId: id, spec, pauseLive: spec.pauseLive === true, scanStart: range.start, scanEndBound: range.endBound,
      });
      if (created.type === 'endpoint_not_active') throw conflict('endpoint_not_active', `endpoint "${endpointId}" is ${created.state}; a replay needs an active endpoint`);
      if (created.type === 'hold_busy') throw conflict('replay_conflict', `another pauseLive replay is holding the live traffic of "${endpointId}"`);
      if (created.type === 'created') log.info({ replay: id, endpoint: endpointId, scanEnd: created.scanEnd }, 'replay created');
      kick(id, endpointId);
      const s = await status(id);
      if (!s) throw notFound(`replay "${id}" not found`);
      return s;
    },
    async resume() {
      await scheduleSweep();
      if (closed || sweepTimer) return;
      sweepTimer = setInterval(() => void scheduleSweep(), deps.sweepMs ?? 5000);
      sweepTimer.unref();
    },
    async cancel(id) {
      const s = await getReplay(redis, keys, id);
      if (!s) return undefined;
      const res = await transitionReplay(redis, keys, s.endpoint_id!, id, 'cancel', 'cancelled');
      if (res.type === 'not_running' && res.phase !== 'Cancelled') {
        throw conflict('replay_finished', `replay "${id}" already ended (${res.phase}); only a Running replay can be cancelled`);
      }
      const after = (await getReplay(redis, keys, id)) ?? s;
      await settleHold(driver, after);
      if (res.type === 'ok') log.info({ replay: id, endpoint: s.endpoint_id }, 'replay cancelled');
      return status(id);
    },
    status,
    async list() {
      const index = await replayIndex(redis, keys);
      const all = await Promise.all(Object.keys(index).map(status));
      return all.filter((s): s is ReplayStatus => s !== undefined);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweepTimer);
      for (const wake of [...sleepers]) wake();
      await sweeping;
      await Promise.all([...driving.values()]);
    },
  };
}
