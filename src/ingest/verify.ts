// Inbound signature verification for every provider, plus Standard Webhooks signing for the
// outbound side. Pure: the clock is injected, no I/O.
//
// - Every failure has a stable reason code and a short message that names the header or check and
//   never contains a secret or a signature, so it can go back to the caller as is.
// - Secrets are tried in rotation order; any match passes. Empty-string secrets are ignored (an
//   empty HMAC key is one anyone can sign with).
// - Header values are validated strictly before decoding: Buffer.from(…, 'hex' | 'base64') silently
//   skips or stops at bad characters, so garbage would decode to a short prefix. Bad text is
//   signature_malformed. Digests are compared as decoded bytes with crypto.timingSafeEqual; a length
//   mismatch returns early, which leaks only the digest size, which is public.
// - Timestamped schemes (Stripe, Standard Webhooks) check the signature first, then the tolerance,
//   like Stripe's SDK: a forged request always gets signature_invalid, and
//   timestamp_out_of_tolerance means "authentic but too old or too new" (replay or clock skew).
//   Unlike Stripe's SDK, which rejects only old timestamps, both directions are checked.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BinaryLike } from 'node:crypto';
import type { EndpointSpec, HmacOptions } from '../domain/endpoint.ts';

export type VerifyFailure =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_invalid'
  | 'timestamp_out_of_tolerance'
  | 'secret_missing';

export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure; message: string };

export interface VerifyInput {
  /** Lower-cased header names, as Node gives them (multi-valued joined by ', '). */
  headers: Readonly<Record<string, string | undefined>>;
  /** Raw bytes exactly as received. */
  body: Buffer;
  /** Candidate secrets in rotation order; any match passes. */
  secrets: readonly string[];
  source: EndpointSpec['source'];
  /** Injected clock. */
  nowMs: number;
}

const OK: VerifyResult = { ok: true };

function fail(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}

export function verifySignature(input: VerifyInput): VerifyResult {
  const { provider } = input.source;
  if (provider === 'none') return OK;
  const secrets = input.secrets.filter((secret) => secret.length > 0);
  if (secrets.length === 0) return fail('secret_missing', `no secret is configured for provider ${provider}`);
  return byProvider({ ...input, secrets });
}

function byProvider(input: VerifyInput): VerifyResult {
  const { provider, hmac } = input.source;
  switch (provider) {
    case 'stripe':
      return verifyStripe(input);
    case 'github':
      return verifyBodyHmac(input, GITHUB);
    case 'shopify':
      return verifyBodyHmac(input, SHOPIFY);
    case 'standard-webhooks':
      return verifyStandardWebhooks(input);
    case 'none':
      return OK;
    case 'hmac':
      // Schema validation requires `hmac` with this provider; without it we cannot verify, which,
      // like a missing secret, is a gap in our configuration rather than in the request.
      return hmac ? verifyBodyHmac(input, hmac) : fail('secret_missing', 'hmac options are not configured');
  }
}

// ---- Body-only HMAC: GitHub, Shopify and the generic `hmac` provider ----------------------------
// GitHub and Shopify are fixed configurations of the generic scheme: one header carrying
// prefix + encode(HMAC(raw body)).

const GITHUB: HmacOptions = { header: 'X-Hub-Signature-256', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' };
const SHOPIFY: HmacOptions = { header: 'X-Shopify-Hmac-Sha256', algorithm: 'sha256', encoding: 'base64' };

function verifyBodyHmac(input: VerifyInput, options: HmacOptions): VerifyResult {
  const name = options.header;
  const value = input.headers[name.toLowerCase()];
  if (!value) return fail('signature_missing', `${name} header is missing`);

  const prefix = options.prefix ?? '';
  if (!value.startsWith(prefix)) return fail('signature_malformed', `${name} does not start with "${prefix}"`);
  const encoded = value.slice(prefix.length).trim();
  const received = options.encoding === 'hex' ? decodeHex(encoded) : decodeBase64(encoded);
  if (!received) return fail('signature_malformed', `${name} is not ${options.encoding}`);

  if (!anyMatch(input.secrets, [received], (secret) => hmac(options.algorithm, secret, input.body))) {
    return fail('signature_invalid', `${name} does not match any secret`);
  }
  return OK;
}

// ---- Stripe ------------------------------------------------------------------------------------
// `Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX…][,v0=…]`, HMAC-SHA256 over `${t}.${rawBody}`,
// keyed with the whole `whsec_…` string (Stripe does not decode it).

interface StripeHeader {
  timestamp: string;
  seconds: number;
  signatures: Buffer[];
}

/** Parses the header; a string is the reason it is malformed. */
function parseStripeHeader(value: string): StripeHeader | string {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  // Items are trimmed so a header sent twice (joined by Node with ', ') still parses.
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) return 'has an item without "="';
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't') timestamp = val;
    if (key !== 'v1') continue;
    const sig = decodeHex(val);
    if (!sig) return 'has a v1 signature that is not hex';
    signatures.push(sig);
  }
  const seconds = timestamp === undefined ? undefined : parseUnixSeconds(timestamp);
  if (timestamp === undefined || seconds === undefined) return 'has no valid t= timestamp';
  if (signatures.length === 0) return 'has no v1 signature';
  return { timestamp, seconds, signatures };
}

function verifyStripe(input: VerifyInput): VerifyResult {
  const value = input.headers['stripe-signature'];
  if (!value) return fail('signature_missing', 'Stripe-Signature header is missing');
  const parsed = parseStripeHeader(value);
  if (typeof parsed === 'string') return fail('signature_malformed', `Stripe-Signature ${parsed}`);

  const prefix = `${parsed.timestamp}.`;
  if (!anyMatch(input.secrets, parsed.signatures, (secret) => hmac('sha256', secret, prefix, input.body))) {
    return fail('signature_invalid', 'Stripe-Signature does not match any secret');
  }
  const tolerance = input.source.toleranceSeconds;
  if (!withinTolerance(parsed.seconds, input.nowMs, tolerance)) {
    return fail('timestamp_out_of_tolerance', `Stripe-Signature timestamp is outside the ${tolerance} s tolerance`);
  }
  return OK;
}

// ---- Standard Webhooks (https://www.standardwebhooks.com) --------------------------------------
// Headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature (space-separated
// `v1,BASE64` entries). HMAC-SHA256 over `${id}.${timestamp}.` + raw body bytes, keyed with the
// base64 part of a `whsec_…` secret (without the prefix the secret is base64 too, as the reference
// library does). Entries of other versions (`v1a` is asymmetric) are ignored.

const WHSEC = 'whsec_';

function standardWebhooksKey(secret: string): Buffer | undefined {
  const key = decodeBase64(secret.startsWith(WHSEC) ? secret.slice(WHSEC.length) : secret);
  return key && key.length > 0 ? key : undefined;
}

function signedContent(msgId: string, timestamp: string, body: Buffer | string): Buffer[] {
  return [Buffer.from(`${msgId}.${timestamp}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)];
}

/** Decoded v1 signatures; a string is the reason the header is malformed. */
function parseStandardSignatures(value: string): Buffer[] | string {
  const signatures: Buffer[] = [];
  // A trailing comma appears when Node joins a repeated header with ', '; base64 never has one.
  for (const entry of value.split(/\s+/).filter(Boolean)) {
    const [version, sig, extra] = entry.replace(/,$/, '').split(',');
    if (sig === undefined || extra !== undefined) return 'has an entry that is not "version,signature"';
    if (version !== 'v1') continue;
    const decoded = decodeBase64(sig);
    if (!decoded) return 'has a v1 signature that is not base64';
    signatures.push(decoded);
  }
  return signatures.length > 0 ? signatures : 'has no v1 signature';
}

function verifyStandardWebhooks(input: VerifyInput): VerifyResult {
  const msgId = input.headers['webhook-id'];
  const timestamp = input.headers['webhook-timestamp'];
  const signature = input.headers['webhook-signature'];
  if (!msgId) return fail('signature_missing', 'webhook-id header is missing');
  if (!timestamp) return fail('signature_missing', 'webhook-timestamp header is missing');
  if (!signature) return fail('signature_missing', 'webhook-signature header is missing');
  const seconds = parseUnixSeconds(timestamp);
  if (seconds === undefined) return fail('signature_malformed', 'webhook-timestamp is not Unix seconds');
  const signatures = parseStandardSignatures(signature);
  if (typeof signatures === 'string') return fail('signature_malformed', `webhook-signature ${signatures}`);

  const keys = input.secrets.map(standardWebhooksKey).filter((key) => key !== undefined);
  if (keys.length === 0) return fail('secret_missing', 'no valid Standard Webhooks secret (expected whsec_ + base64)');
  const parts = signedContent(msgId, timestamp, input.body);
  if (!anyMatch(keys, signatures, (key) => hmac('sha256', key, ...parts))) {
    return fail('signature_invalid', 'webhook-signature does not match any secret');
  }
  const tolerance = input.source.toleranceSeconds;
  if (!withinTolerance(seconds, input.nowMs, tolerance)) {
    return fail('timestamp_out_of_tolerance', `webhook-timestamp is outside the ${tolerance} s tolerance`);
  }
  return OK;
}

// ---- Helpers -----------------------------------------------------------------------------------

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
// Standard alphabet, padding optional (some senders strip it).
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
}

function decodeBase64(text: string): Buffer | undefined {
  // A length of 1 mod 4 (without padding) cannot be base64.
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

function hmac(algorithm: HmacOptions['algorithm'], key: BinaryLike, ...parts: readonly BinaryLike[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** True when any received digest equals, in constant time, the digest computed with any key. */
function anyMatch<K>(keys: readonly K[], received: readonly Buffer[], digest: (key: K) => Buffer): boolean {
  for (const key of keys) {
    const expected = digest(key);
    if (received.some((sig) => sig.length === expected.length && timingSafeEqual(expected, sig))) return true;
  }
  return false;
}

/**
 * `toleranceSeconds <= 0` disables the check, as Stripe's SDK does with tolerance 0. Otherwise the
 * timestamp may be at most that far in the past or in the future.
 */
function withinTolerance(timestampSeconds: number, nowMs: number, toleranceSeconds: number): boolean {
  if (toleranceSeconds <= 0) return true;
  return Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) <= toleranceSeconds;
}

/** Unix seconds as sent in headers: digits only (no sign, fraction or exponent). */
function parseUnixSeconds(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}
