// What the ingest learns about an event from the request: the provider's event id (for dedupe),
// the event type, and the ordering key that picks the partition. Pure: no I/O.
import { createHash } from 'node:crypto';
import { getByPointer } from '../lib/json-pointer.ts';
import type { EndpointSpec, Provider, ValueSource } from './endpoint.ts';

export type Headers = Readonly<Record<string, string | undefined>>;

export interface EventMeta {
  /** The provider's own id of the event; undefined when it sends none (no dedupe then). */
  providerEventId: string | undefined;
  eventType: string;
  /** The value that orders this event (key mode); undefined in strict and none modes. */
  orderingKey: string | undefined;
}

/** Where each provider puts its event id and type when the endpoint does not say. */
const PROVIDER_DEFAULTS: Record<Provider, { id?: ValueSource; type?: ValueSource }> = {
  stripe: { id: { jsonPointer: '/id' }, type: { jsonPointer: '/type' } },
  github: { id: { header: 'x-github-delivery' }, type: { header: 'x-github-event' } },
  shopify: { id: { header: 'x-shopify-webhook-id' }, type: { header: 'x-shopify-topic' } },
  'standard-webhooks': { id: { header: 'webhook-id' }, type: { jsonPointer: '/type' } },
  hmac: { type: { jsonPointer: '/type' } },
  none: { type: { jsonPointer: '/type' } },
};

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
  const defaults = PROVIDER_DEFAULTS[spec.source.provider];
  const orderingKey =
    spec.ordering.mode === 'key' && spec.ordering.key ? read({ jsonPointer: spec.ordering.key }, headers, json) : undefined;
  return {
    providerEventId: read(spec.source.eventIdFrom ?? defaults.id, headers, json),
    eventType: read(spec.source.eventTypeFrom ?? defaults.type, headers, json) ?? UNKNOWN_EVENT_TYPE,
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
