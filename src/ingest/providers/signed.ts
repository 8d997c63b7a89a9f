// The data-driven verifier: every catalogue entry whose scheme is `hmac` or `public-key` is
// checked here, from its description alone (where the signatures and the timestamp are, what is
// signed, with which algorithm). Steps: read the timestamp and the signatures (missing →
// signature_missing, unreadable → signature_malformed), build the signed bytes, compare with every
// secret in rotation order, then check the tolerance. The signature is checked before the
// timestamp, like Stripe's SDK: a forged request always gets signature_invalid, and
// timestamp_out_of_tolerance means "authentic but too old or too new" (a replay or clock skew).
import { createPublicKey, verify as verifyAsymmetric, type KeyObject } from 'node:crypto';
import { lazyJson } from '../../domain/event.ts';
import type { HmacScheme, PublicKeyScheme, SignatureFrom, SignedPart, TimestampFrom } from '../../domain/providers/index.ts';
import { getByPointer } from '../../lib/json-pointer.ts';
import { decode, decodeBase64, firstMatch, hmac, parseIsoSeconds, parseUnixSeconds, whsecKey, withinTolerance } from './codec.ts';
import { fail, ok, type VerifyInput, type VerifyResult } from './result.ts';

type Failure = VerifyResult & { ok: false };
const isFailure = (v: unknown): v is Failure => typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false;

interface Signed {
  json: () => unknown;
  /** The key=value items of a `pairs` signature header, when it has that form. */
  pairs?: Map<string, string[]>;
}

const header = (input: VerifyInput, name: string) => input.headers[name.toLowerCase()] || undefined;

function jsonString(ctx: Signed, pointer: string): string | undefined {
  const value = getByPointer(ctx.json(), pointer);
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// ---- Signatures --------------------------------------------------------------------------------

function parsePairs(value: string, separator: string): Map<string, string[]> | undefined {
  const pairs = new Map<string, string[]>();
  // Items are trimmed so a header sent twice (joined by Node with ', ') still parses.
  for (const item of value.split(separator === ';' ? /[;,]/ : ',')) {
    const eq = item.indexOf('=');
    if (eq < 0) return undefined;
    const key = item.slice(0, eq).trim();
    pairs.set(key, [...(pairs.get(key) ?? []), item.slice(eq + 1).trim()]);
  }
  return pairs;
}

/** Decoded v1 signatures of a Standard Webhooks header; a string is the reason it is malformed. */
function parseVersioned(value: string, version: string, encoding: HmacScheme['encoding']): Buffer[] | string {
  const signatures: Buffer[] = [];
  // A trailing comma appears when Node joins a repeated header with ', '; base64 never has one.
  for (const entry of value.split(/\s+/).filter(Boolean)) {
    const [v, sig, extra] = entry.replace(/,$/, '').split(',');
    if (sig === undefined || extra !== undefined) return 'has an entry that is not "version,signature"';
    if (v !== version) continue;
    const decoded = decode(sig, encoding);
    if (!decoded) return `has a ${version} signature that is not ${encoding}`;
    signatures.push(decoded);
  }
  return signatures.length > 0 ? signatures : `has no ${version} signature`;
}

function decodeAll(texts: string[], encoding: HmacScheme['encoding'], name: string): Buffer[] | Failure {
  const out: Buffer[] = [];
  for (const text of texts) {
    const decoded = decode(text.trim(), encoding);
    if (!decoded) return fail('signature_malformed', `${name} is not ${encoding}`);
    out.push(decoded);
  }
  return out;
}

function readSignatures(from: SignatureFrom, encoding: HmacScheme['encoding'], input: VerifyInput, ctx: Signed): Buffer[] | Failure {
  if ('jsonPointer' in from) {
    const value = jsonString(ctx, from.jsonPointer);
    return value ? decodeAll([value], encoding, `signature ${from.jsonPointer}`) : fail('signature_missing', `signature ${from.jsonPointer} is missing from the body`);
  }
  if ('headers' in from) {
    const present = from.headers.filter((name) => header(input, name));
    if (present.length === 0) return fail('signature_missing', `${from.headers[0]} header is missing`);
    return decodeAll(present.map((name) => header(input, name)!), encoding, present[0]!);
  }
  const value = header(input, from.header);
  if (!value) return fail('signature_missing', `${from.header} header is missing`);
  if ('versioned' in from) {
    const parsed = parseVersioned(value, from.versioned, encoding);
    return typeof parsed === 'string' ? fail('signature_malformed', `${from.header} ${parsed}`) : parsed;
  }
  if ('pairs' in from) {
    ctx.pairs = parsePairs(value, from.pairs.separator);
    if (!ctx.pairs) return fail('signature_malformed', `${from.header} has an item without "="`);
    const found = ctx.pairs.get(from.pairs.key) ?? [];
    if (found.length === 0) return fail('signature_malformed', `${from.header} has no ${from.pairs.key} signature`);
    return decodeAll(found, encoding, `${from.header} ${from.pairs.key}`);
  }
  const prefix = from.prefix ?? '';
  if (!value.startsWith(prefix)) return fail('signature_malformed', `${from.header} does not start with "${prefix}"`);
  return decodeAll([value.slice(prefix.length)], encoding, from.header);
}

// ---- Timestamp ---------------------------------------------------------------------------------

interface Timestamp {
  text: string;
  seconds: number;
}

function parseTimestamp(text: string, format: 'unix' | 'unix-ms' | 'iso'): number | undefined {
  if (format === 'iso') return parseIsoSeconds(text);
  const n = parseUnixSeconds(text);
  return n === undefined || format === 'unix' ? n : n / 1000;
}

function readTimestamp(from: TimestampFrom, input: VerifyInput, ctx: Signed): Timestamp | Failure {
  if ('pair' in from) {
    const text = ctx.pairs?.get(from.pair)?.[0];
    const seconds = text === undefined ? undefined : parseUnixSeconds(text);
    return seconds === undefined || text === undefined ? fail('signature_malformed', `the signature has no valid ${from.pair}= timestamp`) : { text, seconds };
  }
  const name = 'header' in from ? from.header : `timestamp ${from.jsonPointer}`;
  const text = 'header' in from ? header(input, from.header) : jsonString(ctx, from.jsonPointer);
  if (!text) return fail('signature_missing', 'header' in from ? `${name} header is missing` : `${name} is missing from the body`);
  const seconds = parseTimestamp(text, from.format);
  if (seconds === undefined) return fail('signature_malformed', `${name} is not ${from.format === 'iso' ? 'an RFC 3339 time' : `Unix ${from.format === 'unix' ? 'seconds' : 'milliseconds'}`}`);
  return { text, seconds };
}

// ---- Signed content ----------------------------------------------------------------------------

function part(p: SignedPart, input: VerifyInput, ctx: Signed, ts: Timestamp | undefined): Buffer | Failure {
  if (p === 'body') return input.body;
  if (p === 'timestamp') return Buffer.from(ts?.text ?? '');
  if (p === 'url') return input.url ? Buffer.from(input.url) : fail('secret_missing', 'the public URL of the endpoint is not known');
  if (p === 'method') return Buffer.from(input.method ?? 'POST');
  if ('text' in p) return Buffer.from(p.text);
  if ('header' in p) {
    const value = header(input, p.header);
    return value === undefined ? fail('signature_missing', `${p.header} header is missing`) : Buffer.from(value);
  }
  const value = jsonString(ctx, p.jsonPointer);
  return value === undefined ? fail('signature_missing', `${p.jsonPointer} is missing from the body`) : Buffer.from(value);
}

function signedContent(parts: readonly SignedPart[], input: VerifyInput, ctx: Signed, ts: Timestamp | undefined): Buffer[] | Failure {
  const out: Buffer[] = [];
  for (const p of parts) {
    const bytes = part(p, input, ctx, ts);
    if (isFailure(bytes)) return bytes;
    out.push(bytes);
  }
  return out;
}

// ---- Keys and comparison -----------------------------------------------------------------------

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows.
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

// Parsed public keys by algorithm and text: parsing a key costs more than checking a signature
// (ECDSA: ~1.9 ms per request uncached), and an endpoint's keys change rarely. A pure memo, bounded.
const KEYS = new Map<string, KeyObject | undefined>();
const MAX_KEYS = 256;

function publicKey(secret: string, algorithm: PublicKeyScheme['algorithm']): KeyObject | undefined {
  const id = `${algorithm}:${secret}`;
  if (KEYS.has(id)) return KEYS.get(id);
  const key = parsePublicKey(secret, algorithm);
  if (KEYS.size >= MAX_KEYS) KEYS.delete(KEYS.keys().next().value!);
  KEYS.set(id, key);
  return key;
}

function parsePublicKey(secret: string, algorithm: PublicKeyScheme['algorithm']): KeyObject | undefined {
  try {
    if (algorithm === 'ed25519') {
      const raw = /^[0-9a-fA-F]{64}$/.test(secret) ? Buffer.from(secret, 'hex') : undefined;
      return raw && createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' });
    }
    if (secret.includes('-----BEGIN')) return createPublicKey(secret);
    const der = decodeBase64(secret.replace(/\s+/g, ''));
    return der && createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function matchIndex(scheme: HmacScheme | PublicKeyScheme, secrets: readonly string[], signatures: Buffer[], content: Buffer[]): number | Failure {
  if (scheme.kind === 'public-key') {
    const keys = secrets.map((s) => publicKey(s.trim(), scheme.algorithm));
    if (keys.every((k) => k === undefined)) return fail('secret_missing', `no valid ${scheme.algorithm === 'ed25519' ? 'Ed25519 (hex)' : 'ECDSA P-256'} public key is configured`);
    const data = Buffer.concat(content);
    const hash = scheme.algorithm === 'ed25519' ? null : 'sha256';
    return keys.findIndex((key) => key !== undefined && signatures.some((sig) => safeVerify(hash, data, key, sig)));
  }
  if (scheme.key === 'whsec') {
    const keys = secrets.map(whsecKey);
    if (keys.every((k) => k === undefined)) return fail('secret_missing', 'no valid whsec_ secret (expected whsec_ + base64)');
    return firstMatch(keys, signatures, (key) => (key ? hmac(scheme.algorithm, key, ...content) : Buffer.alloc(0)));
  }
  return firstMatch(secrets, signatures, (secret) => hmac(scheme.algorithm, secret, ...content));
}

function safeVerify(hash: string | null, data: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return verifyAsymmetric(hash, data, key, sig);
  } catch {
    return false; // a signature that is not valid DER
  }
}

export function verifySigned(scheme: HmacScheme | PublicKeyScheme, tolerance: number, input: VerifyInput): VerifyResult {
  const ctx: Signed = { json: lazyJson(input.body) };
  const signatures = readSignatures(scheme.signature, scheme.encoding, input, ctx);
  if (isFailure(signatures)) return signatures;
  const ts = scheme.timestamp ? readTimestamp(scheme.timestamp, input, ctx) : undefined;
  if (isFailure(ts)) return ts;
  const content = signedContent(scheme.signed, input, ctx, ts);
  if (isFailure(content)) return content;
  const index = matchIndex(scheme, input.secrets, signatures, content);
  if (isFailure(index)) return index;
  const name = 'header' in scheme.signature ? scheme.signature.header : 'the signature';
  if (index < 0) return fail('signature_invalid', `${name} does not match any secret`);
  if (ts && !withinTolerance(ts.seconds, input.nowMs, tolerance)) {
    return fail('timestamp_out_of_tolerance', `${name} timestamp is outside the ${tolerance} s tolerance`);
  }
  return ok(index);
}
