// A replay's progress as the engine reports it, read from its state hash (store/replays.ts).
import type { ReplayState } from '../store/replays.ts';
import type { ReplayPhase, ReplaySpec } from './spec.ts';

export interface ReplayStatus {
  id: string;
  endpoint: string;
  spec: ReplaySpec;
  phase: ReplayPhase;
  message: string;
  /** Events the selector picks in the replay's range: counted before the first batch, so a total. */
  matched: number;
  /** New deliveries created. */
  enqueued: number;
  /** Matched events whose source delivery had expired (retention), so none was created. */
  skipped: number;
  /** Replayed deliveries that ended DELIVERED. */
  delivered: number;
  /** Replayed deliveries that ended FAILED. */
  failed: number;
  /** Whether the scan of the range is complete. */
  enqueueDone: boolean;
  /** Receive time of the last event scanned (the persisted cursor), when any. */
  scannedThrough: string | undefined;
  pauseLive: boolean;
  createdAt: string;
  startedAt: string | undefined;
  completedAt: string | undefined;
  updatedAt: string;
}

const num = (v: string | undefined) => Number(v ?? 0) || 0;
const opt = (v: string | undefined) => (v ? v : undefined);

export function toStatus(s: ReplayState): ReplayStatus {
  let spec: ReplaySpec;
  try {
    spec = JSON.parse(s.spec ?? '{}') as ReplaySpec;
  } catch {
    spec = { endpoint: s.endpoint_id ?? '', selector: {} };
  }
  const cursorMs = s.cursor ? Number(s.cursor.split('-')[0]) : NaN;
  return {
    id: s.id ?? '',
    endpoint: s.endpoint_id ?? '',
    spec,
    phase: (s.phase ?? 'Pending') as ReplayPhase,
    message: s.message ?? '',
    // Until the count is stored (the first moments of a replay), what the batches matched so far.
    matched: s.selected !== undefined ? num(s.selected) : num(s.matched),
    enqueued: num(s.enqueued),
    skipped: num(s.skipped),
    delivered: num(s.delivered),
    failed: num(s.failed),
    enqueueDone: s.enqueue_done === '1',
    scannedThrough: Number.isFinite(cursorMs) ? new Date(cursorMs).toISOString() : undefined,
    pauseLive: s.pause_live === '1',
    createdAt: s.created_at ?? '',
    startedAt: opt(s.started_at),
    completedAt: opt(s.completed_at),
    updatedAt: s.updated_at ?? '',
  };
}
