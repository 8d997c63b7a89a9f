// Builders for the common shapes of catalogue entries, so an entry reads as what the provider
// documents ("base64 HMAC-SHA256 of the body in X-Foo") rather than as nested objects.
import type { Encoding, HashAlgorithm, HmacScheme, SignedPart, TimestampFrom } from './types.ts';

/** One header carrying prefix + encode(HMAC(raw body)): GitHub, Shopify and most others. */
export function bodyHmac(header: string, algorithm: HashAlgorithm, encoding: Encoding, prefix?: string): HmacScheme {
  return { kind: 'hmac', algorithm, encoding, signature: prefix ? { header, prefix } : { header }, signed: ['body'] };
}

/** `t=…,v1=…` in one header, HMAC-SHA256 hex over `t.body` (Stripe's shape, also Calendly and Mux). */
export function stripeLike(header: string): HmacScheme {
  return {
    kind: 'hmac', algorithm: 'sha256', encoding: 'hex',
    signature: { header, pairs: { separator: ',', key: 'v1' } },
    timestamp: { pair: 't' },
    signed: ['timestamp', { text: '.' }, 'body'],
  };
}

/** Standard Webhooks under a header prefix (`webhook-` or `svix-`). */
export function standardWebhooks(prefix: 'webhook' | 'svix'): HmacScheme {
  return {
    kind: 'hmac', algorithm: 'sha256', encoding: 'base64', key: 'whsec',
    signature: { header: `${prefix}-signature`, versioned: 'v1' },
    timestamp: { header: `${prefix}-timestamp`, format: 'unix' },
    signed: [{ header: `${prefix}-id` }, { text: '.' }, 'timestamp', { text: '.' }, 'body'],
  };
}

/** A timestamp header plus a signature over `v0:timestamp:body` (Slack and Zoom). */
export function v0Timestamped(signatureHeader: string, timestampHeader: string): HmacScheme {
  return {
    kind: 'hmac', algorithm: 'sha256', encoding: 'hex',
    signature: { header: signatureHeader, prefix: 'v0=' },
    timestamp: { header: timestampHeader, format: 'unix' },
    signed: [{ text: 'v0:' }, 'timestamp', { text: ':' }, 'body'],
  };
}

/** A separate timestamp header, signature over timestamp + body. */
export function timestampedHmac(
  header: string, timestamp: TimestampFrom, algorithm: HashAlgorithm, encoding: Encoding, signed: SignedPart[] = ['timestamp', 'body'],
): HmacScheme {
  return { kind: 'hmac', algorithm, encoding, signature: { header }, timestamp, signed };
}
