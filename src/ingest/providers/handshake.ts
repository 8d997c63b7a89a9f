// Provider handshakes answered by the gateway itself: a provider checks the endpoint when a
// subscription is made, and the destination may be down then. Signed challenges are answered only
// after the signature verified; the unsigned ones (Meta's GET, Trello's HEAD, WooCommerce's ping)
// carry no event data, so answering them stores and delivers nothing.
import type { Handshake } from '../../domain/providers/index.ts';
import { lazyJson } from '../../domain/event.ts';
import { safeEqual } from '../../lib/crypto.ts';
import { hmac } from './codec.ts';

export interface HandshakeReply {
  status: number;
  /** A JSON value, or a string sent as text/plain; undefined for an empty body. */
  body?: unknown;
}

export interface UnsignedRequest {
  method: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | undefined>>;
  body?: Buffer;
  /** The endpoint's handshake token (spec.source.verifyTokenKey). */
  verifyToken?: string;
}

/**
 * Requests answered before any signature check. Meta (Facebook, Instagram, WhatsApp) verifies a
 * subscription with `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` and expects the
 * challenge back; Trello sends HEAD when a webhook is created; WooCommerce POSTs an unsigned
 * `webhook_id=N` and needs a 200 before it saves the webhook.
 */
export function unsignedHandshake(kind: Handshake | undefined, req: UnsignedRequest): HandshakeReply | undefined {
  if (kind === 'meta-hub-challenge' && req.method === 'GET') {
    const challenge = req.query.get('hub.challenge');
    if (req.query.get('hub.mode') !== 'subscribe' || !challenge) return { status: 400, body: { code: 'handshake_invalid', message: 'expected hub.mode=subscribe and hub.challenge' } };
    const token = req.query.get('hub.verify_token') ?? '';
    if (!req.verifyToken || !safeEqual(token, req.verifyToken)) return { status: 403, body: { code: 'handshake_refused', message: 'hub.verify_token does not match' } };
    return { status: 200, body: challenge };
  }
  if (kind === 'trello-head' && req.method === 'HEAD') return { status: 200 };
  if (kind === 'woocommerce-ping' && req.method === 'POST' && !req.headers['x-wc-webhook-signature'] && req.body && /^webhook_id=\d{1,20}$/.test(req.body.toString('latin1'))) {
    return { status: 200, body: { handshake: 'woocommerce-ping' } };
  }
  return undefined;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

type Fields = (name: string) => unknown;
type SignedKind = 'slack-url-verification' | 'zoom-url-validation' | 'twitch-callback-verification' | 'discord-ping';

const SIGNED: Record<SignedKind, (field: Fields, headers: Readonly<Record<string, string | undefined>>, secret: string) => HandshakeReply | undefined> = {
  'slack-url-verification': (field) => {
    const challenge = str(field('challenge'));
    return field('type') === 'url_verification' && challenge !== undefined ? { status: 200, body: { challenge } } : undefined;
  },
  // Zoom wants the plain token back with its HMAC-SHA256 (hex) under the secret token.
  'zoom-url-validation': (field, _headers, secret) => {
    const plainToken = str((field('payload') as Record<string, unknown> | undefined)?.plainToken);
    if (field('event') !== 'endpoint.url_validation' || plainToken === undefined) return undefined;
    return { status: 200, body: { plainToken, encryptedToken: hmac('sha256', secret, plainToken).toString('hex') } };
  },
  'twitch-callback-verification': (field, headers) => {
    const challenge = str(field('challenge'));
    return headers['twitch-eventsub-message-type'] === 'webhook_callback_verification' && challenge !== undefined ? { status: 200, body: challenge } : undefined;
  },
  // Interactions PING (type 1) wants {"type":1}; Webhook Events PING (type 0) wants 204.
  'discord-ping': (field) => {
    if (field('type') === 1 && field('data') === undefined) return { status: 200, body: { type: 1 } };
    return field('type') === 0 && field('event') === undefined ? { status: 204 } : undefined;
  },
};

/** Challenges that come signed; answered once the request verified, with the secret that matched. */
export function signedHandshake(kind: Handshake | undefined, headers: Readonly<Record<string, string | undefined>>, body: Buffer, secret: string): HandshakeReply | undefined {
  if (!kind || !(kind in SIGNED)) return undefined;
  const json = lazyJson(body)();
  const field: Fields = (name) => (json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)[name] : undefined);
  return SIGNED[kind as SignedKind](field, headers, secret);
}
