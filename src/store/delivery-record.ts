// The delivery record as Redis keeps it and as the rest of the program reads it (seed 001).
//
// Stored compact (lua/lib-delivery.lua writes it): no `id` or `endpoint_id` (both are in the key),
// times as epoch milliseconds (`created_ms`, `updated_ms`, `delivered_ms`, `last_attempt_ms`,
// `next_attempt_ms`) instead of ISO strings, and fields without a value left out. Read back here
// into the record every reader knows: ids filled in from the key, times as ISO strings
// (`created_at`, `delivered_at`, `last_attempt_at`, `next_attempt_at`, and `updated_at`: the latest
// of `updated_ms`, `delivered_ms` and `created_ms`, so a write that sets one need not set another).
export type DeliveryRecord = Record<string, string>;

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
 * A stored delivery hash (HGETALL, or a script's flat field list) as a record; undefined when it
 * is empty (never created, or expired by retention).
 */
export function decodeDelivery(raw: Record<string, string> | string[], endpointId: string, deliveryId: string): DeliveryRecord | undefined {
  const stored = Array.isArray(raw) ? fromFlat(raw) : raw;
  if (!stored.status) return undefined;
  const out: DeliveryRecord = { id: deliveryId, endpoint_id: endpointId };
  for (const [k, v] of Object.entries(stored)) if (!k.endsWith('_ms')) out[k] = v;
  for (const [ms, at] of TIMES) {
    const iso = isoOfMs(stored[ms]);
    if (iso) out[at] = iso;
  }
  const updated = Math.max(...['updated_ms', 'delivered_ms', 'created_ms'].map((f) => Number(stored[f] || 0)));
  if (updated > 0) out.updated_at = new Date(updated).toISOString();
  return out;
}

function fromFlat(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
