// The live feed behind GET /api/v1/live (Server-Sent Events). While at least one browser listens,
// the hub reads a fingerprint of every endpoint and the progress of replays from Redis
// (store/live.ts) every `intervalMs`, and pushes only what changed: `endpoint` when deliveries
// were created, ended or blocked, `replay` with a replay's counters. One read per tick serves every
// listener; none when nobody listens. Each listener gets only its own endpoints (team scope).
import type { Log } from '../lib/log.ts';
import { errorMessage } from '../errors/index.ts';
import type { Keys } from '../store/keys.ts';
import { endpointPulses, replayStates, type EndpointPulse } from '../store/live.ts';
import type { RedisClient } from '../store/redis.ts';
import { replayIndex } from '../store/replays.ts';
import type { RegistryCache } from '../store/registry.ts';

export type LiveEvent =
  | { type: 'endpoint'; endpoint_id: string; newest_delivery_id: string; created: boolean }
  | { type: 'replay'; id: string; endpoint: string; phase: string; matched: number; enqueued: number; skipped: number; delivered: number; failed: number; enqueue_done: boolean };

export interface LiveListener {
  sees(endpointId: string): boolean;
  send(e: LiveEvent): void;
  /** Ends the listener's stream (the process is closing). */
  end(): void;
}

export interface LiveHub {
  subscribe(l: LiveListener): () => void;
  listeners(): number;
  close(): void;
}

const FINISHED = new Set(['Succeeded', 'Failed', 'Cancelled']);

function replayEvent(s: Record<string, string>): LiveEvent & { type: 'replay' } {
  const n = (f: string) => Number(s[f] ?? 0);
  return { type: 'replay', id: s.id ?? '', endpoint: s.endpoint_id ?? '', phase: s.phase ?? '', matched: n('matched'), enqueued: n('enqueued'),
    skipped: n('skipped'), delivered: n('delivered'), failed: n('failed'), enqueue_done: s.enqueue_done === '1' };
}

export function createLiveHub(deps: { redis: RedisClient; keys: Keys; endpoints: Pick<RegistryCache, 'all'>; log: Log; intervalMs?: number }): LiveHub {
  const listeners = new Set<LiveListener>();
  const interval = deps.intervalMs ?? 500;
  let pulses = new Map<string, EndpointPulse>();
  const replaySeen = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let primed = false;
  let looping = false;
  let closed = false;

  const emit = (e: LiveEvent, endpointId: string) => {
    for (const l of listeners) if (l.sees(endpointId)) l.send(e);
  };

  const readEndpoints = async () => {
    const next = await endpointPulses(deps.redis, deps.keys, deps.endpoints.all().map((e) => e.id));
    for (const [id, p] of next) {
      const before = pulses.get(id);
      if (primed && (!before || before.newest !== p.newest || before.fingerprint !== p.fingerprint)) {
        emit({ type: 'endpoint', endpoint_id: id, newest_delivery_id: p.newestId, created: before?.newest !== p.newest }, id);
      }
    }
    pulses = next;
  };

  const readReplays = async () => {
    const index = await replayIndex(deps.redis, deps.keys);
    // Finished replays do not change any more: only the others are read.
    const open = new Map(Object.entries(index).filter(([id]) => !FINISHED.has(replaySeen.get(id)?.split('|')[0] ?? '')));
    for (const s of await replayStates(deps.redis, deps.keys, open)) {
      const e = replayEvent(s);
      const sig = [e.phase, e.matched, e.enqueued, e.skipped, e.delivered, e.failed, e.enqueue_done].join('|');
      if (primed && replaySeen.get(e.id) !== sig) emit(e, e.endpoint);
      replaySeen.set(e.id, sig);
    }
  };

  const tick = async () => {
    timer = undefined;
    if (closed || listeners.size === 0) {
      looping = false;
      return;
    }
    try {
      await readEndpoints();
      await readReplays();
      primed = true;
    } catch (err) {
      deps.log.debug({ err: errorMessage(err) }, 'live feed read failed; trying again');
    }
    if (!closed && listeners.size > 0) timer = setTimeout(() => void tick(), interval);
    else looping = false;
  };

  return {
    subscribe(l) {
      listeners.add(l);
      // One read loop at most; it stops by itself once nobody listens.
      if (!looping && !closed) {
        looping = true;
        primed = false; // a fresh start must not report everything since the last listener left
        void tick();
      }
      return () => listeners.delete(l);
    },
    listeners: () => listeners.size,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const l of [...listeners]) l.end();
      listeners.clear();
    },
  };
}
