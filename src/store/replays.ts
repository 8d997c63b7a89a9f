// Replay state in Redis. A replay's state hash lives under its endpoint's hash tag, so one Lua
// call (lua/replay-batch.lua) can enqueue a batch of new deliveries AND advance the persisted
// cursor together; a global index maps replay ids to endpoints for listing.
//
// State hash fields: id, endpoint_id, spec (JSON), phase (Pending|Running|Succeeded|Failed|
// Cancelled), cursor (last events-stream id scanned, '' before the first batch), matched,
// enqueued, skipped, delivered, failed (the last two are moved by the dispatcher's finish
// script), enqueue_done ('1' once the scan is complete), created_at, started_at, completed_at,
// updated_at, message.
import { partitionCount } from '../domain/endpoint.ts';
import type { ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export type ReplayState = Record<string, string>;

export async function createReplay(
  redis: RedisClient, keys: Keys, endpointId: string, replayId: string, spec: unknown, pauseLive: boolean,
): Promise<void> {
  const k = keys.endpoint(endpointId);
  const now = new Date().toISOString();
  const tx = redis.multi()
    .hset(k.replay(replayId), 'id', replayId, 'endpoint_id', endpointId, 'spec', JSON.stringify(spec), 'phase', 'Running',
      'cursor', '', 'matched', 0, 'enqueued', 0, 'skipped', 0, 'delivered', 0, 'failed', 0, 'created_at', now,
      'started_at', now, 'updated_at', now)
    .hset(keys.replays, replayId, endpointId);
  // Live traffic of the endpoint goes to the hold streams until the replay ends (pauseLive).
  if (pauseLive) tx.hset(k.endpoint, 'hold_live', '1');
  await tx.exec();
}

export async function getReplay(redis: RedisClient, keys: Keys, replayId: string): Promise<ReplayState | undefined> {
  const endpointId = await redis.hget(keys.replays, replayId);
  if (!endpointId) return undefined;
  const s = await redis.hgetall(keys.endpoint(endpointId).replay(replayId));
  return s.id ? s : undefined;
}

export type BatchResult = { type: 'ok'; enqueued: number; skipped: number } | { type: 'conflict'; cursor: string } | { type: 'not_running'; phase: string };

/** Enqueues `items` (new id, source delivery id — in original receive order) and moves the cursor. */
export async function replayBatch(
  redis: RedisClient, keys: Keys, r: { endpointId: string; replayId: string; expectedCursor: string; newCursor: string;
    destinationUrl: string; last: boolean; items: Array<[string, string]> },
): Promise<BatchResult> {
  const k = keys.endpoint(r.endpointId);
  const reply = (await redis.runScript('rdReplayBatch', [k.replay(r.replayId), k.deliveryLog, k.resendSeq, k.latestDelivery, k.stats], [
    k.base, r.expectedCursor, r.newCursor, new Date().toISOString(), keys.wakeChannel, r.endpointId, r.replayId,
    r.destinationUrl, r.last ? '1' : '0', ...r.items.flat(),
  ])) as [string, string | number, number?];
  if (reply[0] === 'ok') return { type: 'ok', enqueued: Number(reply[1]), skipped: Number(reply[2]) };
  if (reply[0] === 'conflict') return { type: 'conflict', cursor: String(reply[1]) };
  return { type: 'not_running', phase: String(reply[1]) };
}

/** Moves held live entries back to the queues (oldest first) and lets live traffic flow again. */
export async function releaseHold(redis: RedisClient, keys: Keys, ep: ResolvedEndpoint, batch = 1000): Promise<void> {
  const k = keys.endpoint(ep.id);
  const streams: string[] = [];
  for (let p = 0; p < partitionCount(ep.spec); p++) streams.push(k.hold(p), k.queue(p));
  for (;;) {
    const reply = (await redis.runScript('rdReleaseHold', [k.endpoint, ...streams], [batch, keys.wakeChannel, ep.id])) as [string];
    if (reply[0] === 'done') return;
  }
}

export async function setReplayPhase(redis: RedisClient, keys: Keys, endpointId: string, replayId: string, phase: string, message = ''): Promise<void> {
  const now = new Date().toISOString();
  const terminal = ['Succeeded', 'Failed', 'Cancelled'].includes(phase);
  await redis.hset(keys.endpoint(endpointId).replay(replayId), 'phase', phase, 'updated_at', now, 'message', message,
    ...(terminal ? ['completed_at', now] : []));
}
