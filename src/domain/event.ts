// What the ingest learns about an event from the request: the provider's event id (for dedupe),
// the event type, and the ordering key that picks the partition. Pure: no I/O.
import { createHash } from 'node:crypto';
import { getByPointer } from '../lib/json-pointer.ts';
import type { EndpointSpec, ValueSource } from './endpoint.ts';
import { hasSignedTimestamp, providerEntry } from './providers/index.ts';

export type Headers = Readonly<Record<string, string | undefined>>;

export interface EventMeta {
  /** The provider's own id of the event; undefined when it sends none (no dedupe then). */
  providerEventId: string | undefined;
  eventType: string;
  /** The value that orders this event (key mode); undefined in strict and none modes. */
  orderingKey: string | undefined;
}

export const UNKNOWN_EVENT_TYPE = 'unknown';
const MAX_VALUE_LENGTH = 256;

/** Parses the body as JSON once, lazily; a non-JSON body simply has no pointer values. */
export function lazyJson(body: Buffer): () => unknown {
  let parsed: { value: unknown } | undefined;
  return () => {
    if (!parsed) {
      try {
        parsed = { value: JSON.parse(body.toString('utf8')) };
      } catch {
        parsed = { value: undefined };
      }
    }
    return parsed.value;
  };
}

function read(source: ValueSource | undefined, headers: Headers, json: () => unknown): string | undefined {
  if (!source) return undefined;
  let value: unknown;
  if (source.header) value = headers[source.header.toLowerCase()];
  else if (source.jsonPointer !== undefined) value = getByPointer(json(), source.jsonPointer);
  if (typeof value === 'number' || typeof value === 'bigint') value = String(value);
  if (typeof value !== 'string' || value === '') return undefined;
  return value.slice(0, MAX_VALUE_LENGTH);
}

export function extractEventMeta(spec: EndpointSpec, headers: Headers, body: Buffer): EventMeta {
  const json = lazyJson(body);
  // Where the provider puts its event id and type (the catalogue) when the endpoint does not say.
  const defaults = providerEntry(spec.source.provider);
  const orderingKey =
    spec.ordering.mode === 'key' && spec.ordering.key ? read({ jsonPointer: spec.ordering.key }, headers, json) : undefined;
  return {
    providerEventId: read(spec.source.eventIdFrom ?? defaults.eventId, headers, json),
    eventType: read(spec.source.eventTypeFrom ?? defaults.eventType, headers, json) ?? UNKNOWN_EVENT_TYPE,
    orderingKey,
  };
}

/**
 * The partition of an event. Strict: always 0. Key: a stable hash of the key (events without a
 * key share partition 0, so they stay ordered among themselves). None: spread by event id.
 */
export function choosePartition(spec: EndpointSpec, meta: EventMeta, eventId: string): number {
  if (spec.ordering.mode === 'strict') return 0;
  const n = spec.ordering.mode === 'key' ? spec.ordering.partitions : spec.ordering.concurrency;
  const basis = spec.ordering.mode === 'key' ? meta.orderingKey : eventId;
  if (basis === undefined || n <= 1) return 0;
  return createHash('sha1').update(basis).digest().readUInt32BE(0) % n;
}

/** What dedupe claims (must be new) and what it only records, both within the dedupe window. */
export interface DedupeKeys {
  claim: string | undefined;
  record: string | undefined;
}

/**
 * What dedupe claims for this event. Schemes without a signed timestamp (GitHub, Shopify, the
 * generic HMAC…) sign the body alone, so a captured request stays valid for ever and its id header,
 * which is not signed, can be dropped or changed. bodyDedupe `auto` (the default) claims the
 * SHA-256 of the body for them when the provider's id is missing, and records it when the id is
 * there, so a copy re-sent without its id is a duplicate of the original; `always` claims the digest
 * for every event (a new id no longer makes a copy new, but two genuine events with byte-identical
 * bodies become one); `off` uses the provider's id alone.
 */
export function dedupeKeys(spec: EndpointSpec, providerEventId: string | undefined, body: Buffer): DedupeKeys {
  const mode = spec.source.bodyDedupe ?? 'auto';
  const scheme = providerEntry(spec.source.provider).scheme;
  const digest = () => `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (mode === 'always') return { claim: digest(), record: undefined };
  if (mode === 'off' || scheme.kind === 'none' || hasSignedTimestamp(scheme)) return { claim: providerEventId, record: undefined };
  return providerEventId === undefined ? { claim: digest(), record: undefined } : { claim: providerEventId, record: digest() };
}
