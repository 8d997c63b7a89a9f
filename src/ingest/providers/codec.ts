// Strict decoding and constant-time comparison shared by the schemes.
// Header values are validated before decoding: Buffer.from(…, 'hex' | 'base64') silently skips or
// stops at bad characters, so garbage would decode to a short prefix. Digests are compared as
// decoded bytes with crypto.timingSafeEqual; a length mismatch returns early, which leaks only the
// digest size, which is public.
import { createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { Encoding, HashAlgorithm } from '../../domain/providers/index.ts';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
// Standard alphabet, padding optional (some senders strip it).
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function decodeHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
}

export function decodeBase64(text: string): Buffer | undefined {
  // A length of 1 mod 4 (without padding) cannot be base64.
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

export function decode(text: string, encoding: Encoding): Buffer | undefined {
  return encoding === 'hex' ? decodeHex(text) : decodeBase64(text);
}

export function hmac(algorithm: HashAlgorithm, key: BinaryLike, ...parts: readonly BinaryLike[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The index of the first key whose digest equals, in constant time, any received one; -1 if none. */
export function firstMatch<K>(keys: readonly K[], received: readonly Buffer[], digest: (key: K) => Buffer): number {
  return keys.findIndex((key) => {
    const expected = digest(key);
    return received.some((sig) => sig.length === expected.length && timingSafeEqual(expected, sig));
  });
}

/** The key of a `whsec_…` secret: the base64 after the prefix (a bare secret is base64 too, as the reference library does). */
export function whsecKey(secret: string): Buffer | undefined {
  const key = decodeBase64(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
  return key && key.length > 0 ? key : undefined;
}

/**
 * `toleranceSeconds <= 0` disables the check, as Stripe's SDK does with tolerance 0. Otherwise the
 * timestamp may be at most that far in the past or in the future.
 */
export function withinTolerance(timestampSeconds: number, nowMs: number, toleranceSeconds: number): boolean {
  if (toleranceSeconds <= 0) return true;
  return Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) <= toleranceSeconds;
}

/** Unix seconds as sent in headers: digits only (no sign, fraction or exponent). */
export function parseUnixSeconds(text: string): number | undefined {
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** RFC 3339 date-time (Twitch, Zendesk, PayPal), to seconds. */
export function parseIsoSeconds(text: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/i.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}
