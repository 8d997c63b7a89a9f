// Checks on the raw body that come after the signature: the body is stored byte for byte and
// need not be JSON, unless the endpoint reads values out of it (a provider marked `json` in the
// catalogue, such as Stripe, Linear or Mailgun, a JSON-pointer
// event id or type, key ordering). Then it must be UTF-8 JSON, or nothing could be routed.
import type { EndpointSpec } from '../domain/endpoint.ts';
import { providerEntry } from '../domain/providers/index.ts';
import { AppError } from '../errors/index.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Headers not kept with the event: hop-by-hop ones and those that describe the transport. */
const DROPPED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive',
  'authorization', 'cookie', 'proxy-authorization', 'upgrade', 'expect']);

export function needsJson(spec: EndpointSpec): boolean {
  const s = spec.source;
  return providerEntry(s.provider).json === true || spec.ordering.mode === 'key' ||
    s.eventIdFrom?.jsonPointer !== undefined || s.eventTypeFrom?.jsonPointer !== undefined;
}

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

export function checkBody(spec: EndpointSpec, contentType: string, body: Buffer): void {
  if (body.length === 0) throw new AppError('body_empty', 'the request body is empty', 400);
  if (!needsJson(spec)) return;
  if (contentType && !isJsonType(contentType)) {
    throw new AppError('unsupported_media_type', `this endpoint takes application/json, got "${contentType.slice(0, 100)}"`, 415);
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new AppError('body_not_utf8', 'the body is not valid UTF-8', 400);
  }
  try {
    JSON.parse(text);
  } catch {
    throw new AppError('body_not_json', 'the body is not valid JSON', 400);
  }
}

export function storedHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
