// The delivery record as Redis keeps it and as the rest of the program reads it (seed 001).
//
// Stored compact (lua/lib-delivery.lua writes it): no `id` or `endpoint_id` (both are in the key),
// times as epoch milliseconds (`created_ms`, `updated_ms`, `delivered_ms`, `last_attempt_ms`,
// `next_attempt_ms`) instead of ISO strings, and fields without a value left out. Read back here
// into the record every reader knows: ids filled in from the key, times as ISO strings
// (`created_at`, `delivered_at`, `last_attempt_at`, `next_attempt_at`, and `updated_at`: the latest
// of `updated_ms`, `delivered_ms` and `created_ms`, so a write that sets one need not set another).
//
// Its attempt history is compact too (encodeAttempt: short names, epoch ms, empty values left
// out), and the first attempt recorded, when short, is kept in the record itself (field `a1`, see
// lua/lib-delivery.lua): most deliveries have one attempt, and a list key of its own costs more
// than the attempt. Every later attempt (and a long first one) is in the attempts list.
import { fieldsOf } from './fields.ts';

export type DeliveryRecord = Record<string, string>;

/** One entry of a delivery's attempt history, as read. */
export interface Attempt {
  attempt: number;
  started_at?: string;
  duration_ms?: number;
  status_code?: number | null;
  classification: string;
  error?: string | null;
  response_body?: string;
  /** Delay before the next try (retry, blocked head); null when none follows. */
  next_attempt_in_ms?: number | null;
  /** Sent ahead of a claim Redis did not record (lua/early-sent.lua). */
  unconfirmed?: boolean;
}

/** Fields of the record that are not part of it as read: the inline first attempt. */
const INTERNAL = new Set(['a1']);

const TIMES = [
  ['created_ms', 'created_at'],
  ['delivered_ms', 'delivered_at'],
  ['last_attempt_ms', 'last_attempt_at'],
  ['next_attempt_ms', 'next_attempt_at'],
] as const;

/** An epoch-ms field as an ISO string ('' when absent or empty). */
export function isoOfMs(ms: string | undefined): string {
  if (!ms) return '';
  const n = Number(ms);
  return Number.isFinite(n) ? new Date(n).toISOString() : '';
}

/**
 * When an endpoint last delivered, from its stats hash: `last_delivered_ms`, or the ISO
 * `last_delivered_at` an earlier version wrote (read until the next delivery writes the first).
 */
export function lastDeliveredAt(ms: string | null | undefined, iso: string | null | undefined): string | undefined {
  return isoOfMs(ms ?? undefined) || iso || undefined;
}

/**
 * A stored delivery hash (HGETALL, or a script's flat field list) as a record; undefined when it
 * is empty (never created, or expired by retention).
 */
export function decodeDelivery(raw: Record<string, string> | string[], endpointId: string, deliveryId: string): DeliveryRecord | undefined {
  const stored = Array.isArray(raw) ? fieldsOf(raw) : raw;
  if (!stored.status) return undefined;
  const out: DeliveryRecord = { id: deliveryId, endpoint_id: endpointId };
  for (const [k, v] of Object.entries(stored)) if (!k.endsWith('_ms') && !INTERNAL.has(k)) out[k] = v;
  for (const [ms, at] of TIMES) {
    const iso = isoOfMs(stored[ms]);
    if (iso) out[at] = iso;
  }
  const updated = Math.max(...['updated_ms', 'delivered_ms', 'created_ms'].map((f) => Number(stored[f] || 0)));
  if (updated > 0) out.updated_at = isoOfMs(String(updated));
  // Delivered at its only attempt, kept inline: its answer is the last one (finish.lua does not
  // store it twice). A delivered attempt always has a status, so a record that lacks it took this path.
  if (stored.status === 'DELIVERED' && stored.a1 && out.last_response_status === undefined) {
    const only = decodeAttempt(stored.a1);
    if (only.status_code != null) out.last_response_status = String(only.status_code);
    if (only.response_body) out.last_response_body = only.response_body;
  }
  return out;
}

/** Stored form of one attempt: {n, t (start, epoch ms), d, s, c, e, b, w, u}, empty values left out. */
export function encodeAttempt(a: Attempt): string {
  const started = a.started_at ? Date.parse(a.started_at) : NaN;
  const out: Record<string, unknown> = { n: a.attempt };
  if (Number.isFinite(started)) out.t = started;
  if (a.duration_ms !== undefined) out.d = a.duration_ms;
  if (a.status_code != null) out.s = a.status_code;
  out.c = a.classification;
  if (a.error) out.e = a.error;
  if (a.response_body) out.b = a.response_body;
  if (a.next_attempt_in_ms != null) out.w = a.next_attempt_in_ms;
  if (a.unconfirmed) out.u = 1;
  return JSON.stringify(out);
}

interface StoredAttempt {
  n?: number; t?: number; d?: number; s?: number; c?: string; e?: string; b?: string; w?: number; u?: number;
  // The earlier layout (and its `started_ms` for an attempt recorded inside Redis).
  attempt?: number; started_ms?: number;
}

function decodeAttempt(json: string): Attempt {
  const a = JSON.parse(json) as StoredAttempt & Attempt;
  if (a.attempt !== undefined) {
    const { started_ms, ...rest } = a;
    return started_ms !== undefined && rest.started_at === undefined ? { ...rest, started_at: isoOfMs(String(started_ms)) } : rest;
  }
  return {
    attempt: a.n ?? 0,
    ...(a.t !== undefined ? { started_at: isoOfMs(String(a.t)) } : {}),
    ...(a.d !== undefined ? { duration_ms: a.d } : {}),
    status_code: a.s ?? null,
    classification: a.c ?? '',
    error: a.e ?? null,
    response_body: a.b ?? '',
    next_attempt_in_ms: a.w ?? null,
    ...(a.u ? { unconfirmed: true } : {}),
  };
}

/** A delivery's attempt history: the inline first attempt (field a1, if any), then the list. */
export function decodeAttempts(first: string | null | undefined, rest: readonly string[]): Attempt[] {
  return [...(first ? [first] : []), ...rest].map(decodeAttempt);
}
