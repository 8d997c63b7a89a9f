// What a replay is asked to do (the same fields as a ReplayRequest's spec) and the pure parts of
// running it: checking the spec, mapping its time range to events-stream ids (stream ids are the
// receive time in ms), and matching one event against the selector. No I/O here.
import { AppError, badRequest } from '../errors/index.ts';

export const DELIVERY_STATUSES = ['PENDING', 'SENDING', 'DELIVERED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface ReplaySelector {
  /** Events received at or after this time (RFC 3339). */
  from?: string;
  /** Events received before this time (RFC 3339). */
  to?: string;
  /** Status of the event's latest delivery. */
  statuses?: DeliveryStatus[];
  eventTypes?: string[];
  eventIds?: string[];
}

export interface ReplaySpec {
  /** `namespace/name` of the endpoint. */
  endpoint: string;
  selector: ReplaySelector;
  destinationOverride?: { url: string };
  rateLimit?: { perSecond: number };
  pauseLive?: boolean;
}

export const REPLAY_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export type ReplayPhase = (typeof REPLAY_PHASES)[number];

export interface ScanRange {
  /** First id to scan (XRANGE start, inclusive). */
  start: string;
  /** Upper bound for finding the last event to scan (XREVRANGE start: '+' or '(<ms>-0'). */
  endBound: string;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** Parses an RFC 3339 time to ms; throws 400 invalid_field naming `field`. */
export function parseTime(value: string, field: string): number {
  const ms = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms) || ms < 0) throw badRequest('invalid_field', `${field}: must be an RFC 3339 time such as 2026-01-15T10:30:00Z`, { field });
  return ms;
}

/** Checks the parts of a spec a schema cannot, and maps its time range to stream ids. */
export function scanRange(spec: ReplaySpec): ScanRange {
  const sel = spec.selector;
  const from = sel.from === undefined ? undefined : parseTime(sel.from, 'selector.from');
  const to = sel.to === undefined ? undefined : parseTime(sel.to, 'selector.to');
  if (from !== undefined && to !== undefined && from > to) {
    throw badRequest('invalid_time_range', 'selector.from must not be after selector.to', { field: 'selector.from' });
  }
  if (spec.destinationOverride) checkUrl(spec.destinationOverride.url, 'destinationOverride.url');
  if (spec.rateLimit && !(spec.rateLimit.perSecond > 0)) {
    throw badRequest('invalid_field', 'rateLimit.perSecond: must be greater than 0', { field: 'rateLimit.perSecond' });
  }
  for (const s of sel.statuses ?? []) {
    if (!(DELIVERY_STATUSES as readonly string[]).includes(s)) {
      throw badRequest('invalid_field', `selector.statuses: "${s}" is not one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'selector.statuses' });
    }
  }
  return { start: from === undefined ? '-' : `${from}-0`, endBound: to === undefined ? '+' : `(${to}-0` };
}

function checkUrl(url: string, field: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw badRequest('invalid_field', `${field}: must be an http or https URL`, { field });
}

/** Splits `namespace/name`; throws 400 invalid_field naming `field`. */
export function parseEndpointRef(ref: string, field = 'endpoint'): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(ref)) {
    throw new AppError('invalid_field', `${field}: must be "namespace/name"`, 400, { details: { field } });
  }
  return ref;
}

export interface ScannedEvent {
  id: string;
  type: string;
  latestStatus: string;
}

/** The selector as a predicate over scanned events (time is handled by the scan range). */
export function compileSelector(sel: ReplaySelector): (e: ScannedEvent) => boolean {
  const statuses = sel.statuses?.length ? new Set<string>(sel.statuses) : undefined;
  const types = sel.eventTypes?.length ? new Set(sel.eventTypes) : undefined;
  const ids = sel.eventIds?.length ? new Set(sel.eventIds) : undefined;
  return (e) => (!statuses || statuses.has(e.latestStatus)) && (!types || types.has(e.type)) && (!ids || ids.has(e.id));
}

/**
 * Items enqueued per batch: all of a scan window without a rate limit; with one, about a tenth of
 * a second's worth, so the pacing stays smooth instead of bursting a window at once.
 */
export function chunkSize(batchSize: number, perSecond: number | undefined): number {
  if (!perSecond) return batchSize;
  return Math.max(1, Math.min(batchSize, Math.floor(perSecond / 10)));
}

export interface Chunk<T> {
  items: T[];
  /** The cursor once this chunk is enqueued: its last item, or the end of the window for the last chunk. */
  cursor: string;
}

/**
 * Cuts one scan window into batches. Each batch moves the cursor only over what it covers, so a
 * restart between two batches resumes right after the last enqueued one.
 */
export function planChunks<T extends { sid: string }>(window: readonly T[], selected: readonly T[], size: number, cursor: string): Array<Chunk<T>> {
  const end = window.at(-1)?.sid ?? cursor;
  if (selected.length === 0) return [{ items: [], cursor: end }];
  const chunks: Array<Chunk<T>> = [];
  for (let i = 0; i < selected.length; i += size) {
    const items = selected.slice(i, i + size);
    chunks.push({ items, cursor: items.at(-1)!.sid });
  }
  chunks.at(-1)!.cursor = end;
  return chunks;
}
