// PayPal (https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod): the
// PAYPAL-TRANSMISSION-SIG header is a base64 SHA256withRSA signature, made with the key of the
// certificate at PAYPAL-CERT-URL, over `transmission id|transmission time|webhook id|CRC32 of the
// raw body (unsigned decimal)`. The endpoint's "secrets" are its PayPal webhook ids (several during
// a move). The certificate is fetched, chain-checked and cached by paypal-certs.ts; a certificate
// that cannot be fetched is certificate_unavailable (the ingest answers 503 so PayPal retries),
// one that does not chain to a trusted root or is not PayPal's is certificate_invalid.
import { verify as verifyRsa } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decodeBase64, parseIsoSeconds, withinTolerance } from './codec.ts';
import { fail, ok, type VerifyInput, type VerifyResult } from './result.ts';

const HEADERS = ['PAYPAL-TRANSMISSION-ID', 'PAYPAL-TRANSMISSION-TIME', 'PAYPAL-TRANSMISSION-SIG', 'PAYPAL-CERT-URL', 'PAYPAL-AUTH-ALGO'] as const;

export async function verifyPaypal(input: VerifyInput, tolerance: number): Promise<VerifyResult> {
  const values: string[] = [];
  for (const name of HEADERS) {
    const value = input.headers[name.toLowerCase()];
    if (!value) return fail('signature_missing', `${name} header is missing`);
    values.push(value);
  }
  const [id, time, sig, certUrl, algo] = values as [string, string, string, string, string];
  if (algo.toUpperCase() !== 'SHA256WITHRSA') return fail('signature_malformed', 'PAYPAL-AUTH-ALGO is not SHA256withRSA');
  const seconds = parseIsoSeconds(time);
  if (seconds === undefined) return fail('signature_malformed', 'PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time');
  const signature = decodeBase64(sig.trim());
  if (!signature) return fail('signature_malformed', 'PAYPAL-TRANSMISSION-SIG is not base64');
  if (!input.certificates) return fail('certificate_unavailable', 'no PayPal certificate loader is configured');

  const cert = await input.certificates(certUrl);
  if (!('publicKey' in cert)) return fail(cert.reason, cert.message);
  const crc = crc32(input.body) >>> 0;
  const index = input.secrets.findIndex((webhookId) => verifyRsa('sha256', Buffer.from(`${id}|${time}|${webhookId}|${crc}`), cert.publicKey, signature));
  if (index < 0) return fail('signature_invalid', 'PAYPAL-TRANSMISSION-SIG does not match any webhook id');
  if (!withinTolerance(seconds, input.nowMs, tolerance)) {
    return fail('timestamp_out_of_tolerance', `PAYPAL-TRANSMISSION-TIME is outside the ${tolerance} s tolerance`);
  }
  return ok(index);
}
