// Drives one replay from this process: holds the replay's lease, enqueues the selected events
// window by window, then watches until every replayed delivery has ended and settles the phase.
//
// The replay cursor: each batch (lua/replay-batch.lua) creates its deliveries AND moves the
// persisted cursor in one atomic step, and only if the cursor is still the one this driver read.
// A process killed at any moment therefore leaves the replay at a batch boundary: whoever drives
// it next (this process after a restart, or another API process once the lease expired) scans on
// from the cursor, so no event is enqueued twice and none is skipped. The lease only avoids
// duplicate work; a stale driver's batch is refused by the cursor check.
import { v7 as uuidv7 } from 'uuid';
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { errorMessage } from '../errors/index.ts';
import type { Log } from '../lib/log.ts';
import type { Keys } from '../store/keys.ts';
import { scanEventMetas, type EventMeta } from '../store/listing.ts';
import type { RedisClient } from '../store/redis.ts';
import { markHoldReleased, releaseHold, replayBatch, replayLease, replayState, setReplaySelected, transitionReplay, type ReplayState } from '../store/replays.ts';
import { chunkSize, compileSelector, planChunks, type ReplaySpec } from './spec.ts';

export interface DriverDeps {
  redis: RedisClient;
  keys: Keys;
  log: Log;
  endpoint(id: string): ResolvedEndpoint | undefined;
  owner: string;
  leaseTtlMs: number;
  batchSize: number;
  pollMs: number;
  /** Replay id → performance.now() at which its next item may be enqueued (rate limit). */
  pacing: Map<string, number>;
  /** Resolves after `ms`, or early once the engine closes. */
  sleep(ms: number): Promise<void>;
  closed(): boolean;
}

/** Lets a pauseLive replay's hold go once (live traffic resumes, held entries first, in order). */
export async function settleHold(d: Pick<DriverDeps, 'redis' | 'keys' | 'endpoint'>, s: ReplayState): Promise<void> {
  if (s.pause_live !== '1' || s.hold_released === '1' || !s.endpoint_id || !s.id) return;
  const ep = d.endpoint(s.endpoint_id);
  if (ep) await releaseHold(d.redis, d.keys, ep, s.id);
  await markHoldReleased(d.redis, d.keys, s.endpoint_id, s.id);
}

export async function driveReplay(d: DriverDeps, replayId: string, endpointId: string): Promise<void> {
  const lease = () => replayLease(d.redis, d.keys, endpointId, replayId, d.owner, d.leaseTtlMs, 'acquire');
  if (!(await lease())) return;
  let validUntil = performance.now() + d.leaseTtlMs * 0.8;
  let lost = false;
  const timer = setInterval(() => {
    const started = performance.now();
    lease().then((ok) => (ok ? (validUntil = started + d.leaseTtlMs * 0.8) : (lost = true)), () => undefined);
  }, Math.max(100, Math.floor(d.leaseTtlMs / 3)));
  const holds = () => !lost && !d.closed() && performance.now() < validUntil;
  d.log.info({ replay: replayId, endpoint: endpointId }, 'driving replay');
  try {
    while (holds()) {
      try {
        if (!(await step(d, replayId, endpointId, holds))) return;
      } catch (err) {
        // Redis unreachable or restarted: nothing is lost (the cursor is in Redis); try again.
        d.log.warn({ replay: replayId, err: errorMessage(err) }, 'replay step failed; retrying');
        await d.sleep(1000);
      }
    }
  } finally {
    clearInterval(timer);
    d.pacing.delete(replayId);
    await replayLease(d.redis, d.keys, endpointId, replayId, d.owner, 0, 'release').catch(() => undefined);
  }
}

/** One step; false when there is nothing more for this driver to do. */
async function step(d: DriverDeps, replayId: string, endpointId: string, holds: () => boolean): Promise<boolean> {
  const s = await replayState(d.redis, d.keys, endpointId, replayId);
  if (!s.id) return false;
  if (s.phase !== 'Running') {
    await settleHold(d, s);
    return false;
  }
  const ep = d.endpoint(endpointId);
  if (!ep) {
    await transitionReplay(d.redis, d.keys, endpointId, replayId, 'fail', `endpoint "${endpointId}" no longer exists`);
    return true;
  }
  if (s.enqueue_done !== '1' && s.selected === undefined) {
    const selected = await countSelection(d, s, ep.id, holds);
    if (selected !== undefined) await setReplaySelected(d.redis, d.keys, ep.id, replayId, selected);
    return true;
  }
  if (s.enqueue_done !== '1') {
    await enqueueWindow(d, s, ep, holds);
    return true;
  }
  const done = await transitionReplay(d.redis, d.keys, endpointId, replayId, 'complete');
  if (done.type === 'ok') {
    d.log.info({ replay: replayId, endpoint: endpointId, phase: done.phase }, 'replay finished');
    return true; // the next step settles the hold
  }
  await d.sleep(d.pollMs);
  return true;
}

/** The next window of the events stream after the cursor, and whether it reaches the scan's end. */
async function readWindow(d: DriverDeps, s: ReplayState, endpointId: string): Promise<{ window: EventMeta[]; last: boolean }> {
  const cursor = s.cursor ?? '';
  const scanEnd = s.scan_end ?? '';
  if (scanEnd === '') return { window: [], last: true };
  const first = cursor === '' ? (s.scan_start ?? '-') : `(${cursor}`;
  const window = await scanEventMetas(d.redis, d.keys, endpointId, 'fwd', first, scanEnd, d.batchSize);
  return { window, last: window.length < d.batchSize || window.at(-1)?.sid === scanEnd };
}

/**
 * Counts what the selector picks over the whole scan range (fixed at creation), before anything
 * is enqueued, so `matched` is a total from the start and progress (delivered of matched) reads
 * against it. Undefined when this driver lost the replay meanwhile.
 */
async function countSelection(d: DriverDeps, s: ReplayState, endpointId: string, holds: () => boolean): Promise<number | undefined> {
  const scanEnd = s.scan_end ?? '';
  if (scanEnd === '') return 0;
  const spec = JSON.parse(s.spec ?? '{}') as ReplaySpec;
  const match = compileSelector(spec.selector ?? {});
  let first = s.scan_start ?? '-';
  let selected = 0;
  for (;;) {
    if (!holds()) return undefined;
    const window = await scanEventMetas(d.redis, d.keys, endpointId, 'fwd', first, scanEnd, d.batchSize);
    selected += window.filter((e) => match(e)).length;
    const last = window.at(-1);
    if (!last || window.length < d.batchSize || last.sid === scanEnd) return selected;
    first = `(${last.sid}`;
  }
}

/** Scans one window and enqueues what the selector picks, batch by batch. */
async function enqueueWindow(d: DriverDeps, s: ReplayState, ep: ResolvedEndpoint, holds: () => boolean): Promise<void> {
  const spec = JSON.parse(s.spec ?? '{}') as ReplaySpec;
  const perSecond = spec.rateLimit?.perSecond;
  let cursor = s.cursor ?? '';
  const { window, last } = await readWindow(d, s, ep.id);
  const match = compileSelector(spec.selector ?? {});
  const chunks = planChunks(window, window.filter((e) => match(e)), chunkSize(d.batchSize, perSecond), cursor);
  for (const [i, chunk] of chunks.entries()) {
    if (chunk.items.length > 0) await pace(d, s, chunk.items.length, perSecond);
    if (!holds()) return;
    const res = await replayBatch(d.redis, d.keys, {
      endpointId: ep.id, replayId: s.id!, expectedCursor: cursor, newCursor: chunk.cursor,
      destinationUrl: spec.destinationOverride?.url ?? '', last: last && i === chunks.length - 1,
      items: chunk.items.map((e) => [uuidv7(), e.latestDeliveryId]),
      layout: { mode: ep.spec.ordering.mode, partitions: partitionCount(ep.spec) },
    });
    if (res.type !== 'ok') return; // another driver moved it, or it was cancelled: re-read the state
    cursor = chunk.cursor;
  }
}

/** Rate limit: the schedule of when the replay's next item may be enqueued (kept by the engine). */
async function pace(d: DriverDeps, s: ReplayState, items: number, perSecond: number | undefined): Promise<void> {
  if (!perSecond) return;
  const id = s.id!;
  const now = performance.now();
  const at = Math.max(now, d.pacing.get(id) ?? now);
  d.pacing.set(id, at + (items / perSecond) * 1000);
  if (at > now) await d.sleep(at - now);
}
