// Replay state in Redis. A replay's state hash lives under its endpoint's hash tag, so one Lua
// call (lua/replay-batch.lua) can enqueue a batch of new deliveries AND advance the persisted
// cursor together; a global index maps replay ids to endpoints for listing.
//
// State hash fields: id, endpoint_id, spec (JSON), phase (Running|Succeeded|Failed|Cancelled),
// cursor (last events-stream id scanned, '' before the first batch), scan_start / scan_end (the
// stream ids the scan covers, fixed at creation), selected (events the selector picks in that
// range, counted before the first batch so progress reads against a total), matched, enqueued,
// skipped, delivered, failed
// (the last two are moved by the dispatcher's finish script), enqueue_done ('1' once the scan is
// complete), pause_live ('1'/'0'), hold_released ('1' once a pauseLive hold was let go),
// created_at, started_at, completed_at, updated_at, message.
import { partitionCount } from '../domain/endpoint.ts';
import type { ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export type ReplayState = Record<string, string>;

export type CreateResult =
  | { type: 'created'; scanEnd: string }
  | { type: 'exists'; phase: string }
  | { type: 'endpoint_not_active'; state: string }
  | { type: 'hold_busy' };

/**
 * Creates the state (phase Running) and, with pauseLive, starts holding live traffic. The scan
 * covers [scanStart, the last event before `scanEndBound` at this instant].
 */
export async function createReplay(
  redis: RedisClient, keys: Keys,
  r: { endpointId: string; replayId: string; spec: unknown; pauseLive: boolean; scanStart: string; scanEndBound: string },
): Promise<CreateResult> {
  const k = keys.endpoint(r.endpointId);
  // The index first: a replay whose state never got written is simply not found by getReplay.
  await redis.hset(keys.replays, r.replayId, r.endpointId);
  const reply = (await redis.runScript('rdReplayCreate', [k.replay(r.replayId), k.endpoint, k.events], [
    r.replayId, r.endpointId, JSON.stringify(r.spec), new Date().toISOString(), r.pauseLive ? '1' : '0', r.scanStart, r.scanEndBound,
  ])) as [string, string?];
  switch (reply[0]) {
    case 'created':
      return { type: 'created', scanEnd: reply[1] ?? '' };
    case 'exists':
      return { type: 'exists', phase: String(reply[1]) };
    case 'endpoint_not_active':
      await redis.hdel(keys.replays, r.replayId);
      return { type: 'endpoint_not_active', state: String(reply[1]) };
    default:
      await redis.hdel(keys.replays, r.replayId);
      return { type: 'hold_busy' };
  }
}

export async function getReplay(redis: RedisClient, keys: Keys, replayId: string): Promise<ReplayState | undefined> {
  const endpointId = await redis.hget(keys.replays, replayId);
  if (!endpointId) return undefined;
  const s = await redis.hgetall(keys.endpoint(endpointId).replay(replayId));
  return s.id ? s : undefined;
}

/** One replay's state hash (empty when it is gone). */
export async function replayState(redis: RedisClient, keys: Keys, endpointId: string, replayId: string): Promise<ReplayState> {
  return redis.hgetall(keys.endpoint(endpointId).replay(replayId));
}

/** The fields the replay engine's sweep looks at: phase, pause_live, hold_released. */
export async function replayPhase(redis: RedisClient, keys: Keys, endpointId: string, replayId: string): Promise<Array<string | null>> {
  return redis.hmget(keys.endpoint(endpointId).replay(replayId), 'phase', 'pause_live', 'hold_released');
}

/** Every replay in the index: replay id → endpoint id. */
export async function replayIndex(redis: RedisClient, keys: Keys): Promise<Record<string, string>> {
  return redis.hgetall(keys.replays);
}

export type BatchResult = { type: 'ok'; enqueued: number; skipped: number } | { type: 'conflict'; cursor: string } | { type: 'not_running'; phase: string };

/** Enqueues `items` (new id, source delivery id — in original receive order) and moves the cursor. */
export async function replayBatch(
  redis: RedisClient, keys: Keys, r: { endpointId: string; replayId: string; expectedCursor: string; newCursor: string;
    destinationUrl: string; last: boolean; items: Array<[string, string]>; layout: { mode: string; partitions: number } },
): Promise<BatchResult> {
  const k = keys.endpoint(r.endpointId);
  const reply = (await redis.runScript('rdReplayBatch', [k.replay(r.replayId), k.deliveryLog, k.resendSeq, k.eventIndex, k.stats], [
    k.base, r.expectedCursor, r.newCursor, new Date().toISOString(), k.wake, r.endpointId, r.replayId,
    r.destinationUrl, r.last ? '1' : '0', r.layout.mode, r.layout.partitions, ...r.items.flat(),
  ])) as [string, string | number, number?];
  if (reply[0] === 'ok') return { type: 'ok', enqueued: Number(reply[1]), skipped: Number(reply[2]) };
  if (reply[0] === 'conflict') return { type: 'conflict', cursor: String(reply[1]) };
  return { type: 'not_running', phase: String(reply[1]) };
}

export type TransitionResult = { type: 'ok'; phase: string } | { type: 'not_running'; phase: string } | { type: 'not_done' };

/** Running → Cancelled | Succeeded/Failed (once every replayed delivery ended) | Failed (lua/replay-transition.lua). */
export async function transitionReplay(
  redis: RedisClient, keys: Keys, endpointId: string, replayId: string, action: 'cancel' | 'complete' | 'fail', message = '',
): Promise<TransitionResult> {
  const reply = (await redis.runScript('rdReplayTransition', [keys.endpoint(endpointId).replay(replayId)],
    [action, new Date().toISOString(), message])) as [string, string?];
  if (reply[0] === 'ok') return { type: 'ok', phase: String(reply[1]) };
  if (reply[0] === 'not_running') return { type: 'not_running', phase: String(reply[1]) };
  return { type: 'not_done' };
}

/**
 * Records how many events the replay's selector picks in its range (counted once, before the first
 * batch). HSETNX: drivers that counted the same fixed range agree, and the first count stays.
 */
export async function setReplaySelected(redis: RedisClient, keys: Keys, endpointId: string, replayId: string, selected: number): Promise<void> {
  const state = keys.endpoint(endpointId).replay(replayId);
  // Only on a replay that still exists: a state hash of one field would be a stray key.
  if (await redis.hexists(state, 'phase')) await redis.hsetnx(state, 'selected', selected);
}

/** Acquires or renews (true) the lease of the process driving a replay, or releases it. */
export async function replayLease(
  redis: RedisClient, keys: Keys, endpointId: string, replayId: string, owner: string, ttlMs: number, op: 'acquire' | 'release',
): Promise<boolean> {
  const reply = await redis.runScript('rdReplayLease', [keys.endpoint(endpointId).replayLease(replayId)], [owner, ttlMs, op]);
  return Number(reply) === 1;
}

/**
 * Moves held live entries back to the queues (oldest first) and lets live traffic flow again.
 * With `replayId`, only when that replay owns the hold (a late retry never frees a newer hold).
 */
export async function releaseHold(redis: RedisClient, keys: Keys, ep: ResolvedEndpoint, replayId = '', batch = 1000): Promise<void> {
  const k = keys.endpoint(ep.id);
  const streams: string[] = [];
  for (let p = 0; p < partitionCount(ep.spec); p++) streams.push(k.hold(p), k.queue(p));
  for (;;) {
    const reply = (await redis.runScript('rdReleaseHold', [k.endpoint, ...streams], [batch, k.wake, ep.id, replayId])) as [string];
    if (reply[0] !== 'more') return;
  }
}

/** Records that a replay's pauseLive hold was let go (so a restarted engine does not do it again). */
export async function markHoldReleased(redis: RedisClient, keys: Keys, endpointId: string, replayId: string): Promise<void> {
  await redis.hset(keys.endpoint(endpointId).replay(replayId), 'hold_released', '1');
}
