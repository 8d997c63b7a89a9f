// The shape of a provider catalogue entry. Most providers are data: which headers carry the
// signature and the timestamp, what bytes are signed, the algorithm and encoding, where the event
// id and type are. The ingest's scheme code (src/ingest/providers/) reads these entries; only
// providers whose scheme cannot be described this way (PayPal's certificate chain, Twilio's form
// parameters) name a code scheme instead. Pure data, no I/O.

/** Where a value comes from: a request header or a JSON pointer into the body. */
export interface ValueSource {
  header?: string;
  jsonPointer?: string;
}

export type HashAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type Encoding = 'hex' | 'base64';

/**
 * Where the signature(s) are. Every form may yield several candidates; any match passes.
 * - `header` (+ `prefix`): the whole value after the prefix is one signature;
 * - `headers`: several headers, each holding one signature (DocuSign numbers them per key);
 * - `pairs`: `key=value` items (`t=…,v1=…`); every item named `key` is a signature;
 * - `versioned`: space-separated `version,signature` entries (Standard Webhooks, Svix);
 * - `jsonPointer`: a string inside the JSON body (Mailgun).
 */
export type SignatureFrom =
  | { header: string; prefix?: string }
  | { headers: string[] }
  | { header: string; pairs: { separator: ',' | ';'; key: string } }
  | { header: string; versioned: string }
  | { jsonPointer: string };

/**
 * Where the signed timestamp is, and its format: `unix` seconds, `unix-ms` milliseconds or `iso`
 * (RFC 3339). `pair` is an item of the signature header (`t=` for Stripe, `ts=` for Paddle).
 */
export type TimestampFrom =
  | { header: string; format: 'unix' | 'unix-ms' | 'iso' }
  | { pair: string }
  | { jsonPointer: string; format: 'unix' | 'unix-ms' };

/**
 * One piece of the signed content; the pieces are concatenated in order. `url` is the public URL
 * the provider called (spec.source.publicUrl, else the request's own URL); `method` the HTTP verb;
 * `timestamp` the text of the signed timestamp exactly as received.
 */
export type SignedPart = 'body' | 'timestamp' | 'url' | 'method' | { text: string } | { header: string } | { jsonPointer: string };

interface SignedScheme {
  encoding: Encoding;
  signature: SignatureFrom;
  timestamp?: TimestampFrom;
  signed: SignedPart[];
}

/** A shared-secret HMAC. `key`: `utf8` uses the secret's text, `whsec` base64-decodes it after an optional `whsec_`. */
export interface HmacScheme extends SignedScheme {
  kind: 'hmac';
  algorithm: HashAlgorithm;
  key?: 'utf8' | 'whsec';
}

/** An asymmetric signature checked with the provider's public key (the endpoint's "secret"). */
export interface PublicKeyScheme extends SignedScheme {
  kind: 'public-key';
  /** ECDSA P-256 with SHA-256 (DER signature, SPKI key as base64 or PEM), or Ed25519 (raw hex key). */
  algorithm: 'ecdsa-sha256' | 'ed25519';
}

/** A shared token sent as is in a header (GitLab), compared in constant time. */
export interface TokenScheme {
  kind: 'token';
  header: string;
}

/** HTTP Basic credentials (Postmark): the secret is `user:password`. */
export interface BasicAuthScheme {
  kind: 'basic-auth';
}

/** Schemes that need their own code: see src/ingest/providers/. */
export interface CodeScheme {
  kind: 'paypal' | 'twilio';
}

/** The generic HMAC described by spec.source.hmac. */
export interface ConfiguredScheme {
  kind: 'configured-hmac';
}

/** No verification at all (behind another authenticating proxy only). */
export interface NoScheme {
  kind: 'none';
}

export type Scheme = HmacScheme | PublicKeyScheme | TokenScheme | BasicAuthScheme | CodeScheme | ConfiguredScheme | NoScheme;

/**
 * Requests the gateway answers itself, because the provider checks the endpoint while the
 * destination may be down: the challenge is verified, answered, and not delivered.
 */
export type Handshake =
  | 'slack-url-verification'
  | 'zoom-url-validation'
  | 'twitch-callback-verification'
  | 'meta-hub-challenge'
  | 'discord-ping'
  | 'trello-head'
  | 'woocommerce-ping';

export interface ProviderEntry {
  /** Display name. */
  name: string;
  /** The provider's page that documents the scheme. */
  docs: string;
  scheme: Scheme;
  /** What the endpoint's secret is for this provider (shown in docs and errors). */
  secret: string;
  /** Default tolerance for the signed timestamp, when the scheme has one. */
  toleranceSeconds?: number;
  eventId?: ValueSource;
  eventType?: ValueSource;
  handshake?: Handshake;
  /** The body must be JSON (the scheme or the defaults read values out of it). */
  json?: boolean;
}
