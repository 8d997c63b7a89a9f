// What a verification answers, and what it is given. Every failure has a stable reason code and
// a short message that names the header or check and never contains a secret or a signature, so
// it can go back to the caller as is.
import type { X509Certificate } from 'node:crypto';
import type { EndpointSpec } from '../../domain/endpoint.ts';

export type VerifyFailure =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_invalid'
  | 'timestamp_out_of_tolerance'
  | 'secret_missing'
  | 'certificate_invalid'
  | 'certificate_unavailable';

/** On success, `secretIndex` is the position of the secret that matched (handshakes answer with it). */
export type VerifyResult = { ok: true; secretIndex: number } | { ok: false; reason: VerifyFailure; message: string };

/** Loads and validates a signing certificate chain (PayPal); see paypal-certs.ts. */
export type CertificateLoader = (url: string) => Promise<X509Certificate | { reason: VerifyFailure; message: string }>;

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
  /** The URL the provider called (spec.source.publicUrl with the request's query), for URL-signing schemes. */
  url?: string;
  /** The request's method, for schemes that sign it (HubSpot). */
  method?: string;
  /** PayPal's certificate loader; without it PayPal requests fail with certificate_unavailable. */
  certificates?: CertificateLoader;
}

export function fail(reason: VerifyFailure, message: string): VerifyResult & { ok: false } {
  return { ok: false, reason, message };
}

export function ok(secretIndex: number): VerifyResult {
  return { ok: true, secretIndex };
}
