// Twilio (https://www.twilio.com/docs/usage/webhooks/webhooks-security): X-Twilio-Signature is
// base64 HMAC of the full URL Twilio called followed by every POST parameter, sorted by name, as
// name + value (repeated names: each distinct value, sorted). Keyed with the auth token; SHA-1
// unless X-Twilio-Webhooks-Signature-Settings names HMAC_SHA256. A JSON body is not signed as
// parameters: Twilio adds `bodySHA256` (hex SHA-256 of the body) to the URL's query and signs the
// URL alone. The URL is spec.source.publicUrl (the gateway usually sits behind a proxy, so the URL
// it sees is not the one Twilio called) with the request's query string; like Twilio's library,
// it is tried with and without the default port.
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeBase64, firstMatch, hmac } from './codec.ts';
import { fail, ok, type VerifyInput, type VerifyResult } from './result.ts';

const SIGNATURE = 'X-Twilio-Signature';

function algorithmOf(settings: string | undefined): 'sha1' | 'sha256' | undefined {
  for (const part of (settings ?? '').split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    if (name === 'algorithm' && value) return value.toUpperCase() === 'HMAC_SHA256' ? 'sha256' : value.toUpperCase() === 'HMAC_SHA1' ? 'sha1' : undefined;
  }
  return 'sha1';
}

function isForm(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** name + value for every parameter, names sorted; a repeated name contributes each distinct value, sorted. */
function formParameters(body: Buffer): string {
  const params = new URLSearchParams(body.toString('utf8'));
  const names = [...new Set(params.keys())].sort();
  return names.map((name) => [...new Set(params.getAll(name))].sort().map((v) => name + v).join('')).join('');
}

/** The URL as configured, plus the same URL with the default port added or removed. */
function urlVariants(url: string): string[] {
  try {
    const u = new URL(url);
    const port = u.protocol === 'https:' ? '443' : '80';
    if (u.port) return [url, url.replace(`:${u.port}`, '')];
    return [url, url.replace(u.host, `${u.host}:${port}`)];
  } catch {
    return [url];
  }
}

function bodyHashMatches(url: string, body: Buffer): boolean | undefined {
  let claimed: string | null;
  try {
    claimed = new URL(url).searchParams.get('bodySHA256');
  } catch {
    return undefined;
  }
  if (claimed === null) return undefined;
  const actual = Buffer.from(createHash('sha256').update(body).digest('hex'));
  return actual.length === claimed.length && timingSafeEqual(actual, Buffer.from(claimed.toLowerCase()));
}

export function verifyTwilio(input: VerifyInput): VerifyResult {
  const value = input.headers[SIGNATURE.toLowerCase()];
  if (!value) return fail('signature_missing', `${SIGNATURE} header is missing`);
  const signature = decodeBase64(value.trim());
  if (!signature) return fail('signature_malformed', `${SIGNATURE} is not base64`);
  const algorithm = algorithmOf(input.headers['x-twilio-webhooks-signature-settings']);
  if (!algorithm) return fail('signature_malformed', 'X-Twilio-Webhooks-Signature-Settings names an unknown algorithm');
  if (!input.url) return fail('secret_missing', 'the public URL of the endpoint is not known');

  const bodyHash = bodyHashMatches(input.url, input.body);
  const form = isForm(input.headers['content-type']);
  // Without bodySHA256 only form parameters are signed: any other body would ride on a signature
  // of the bare URL (and Twilio's signatures never expire).
  if (bodyHash === undefined && !form && input.body.length > 0) {
    return fail('signature_invalid', 'a body that is not form-encoded must be covered by bodySHA256 in the URL');
  }
  const params = bodyHash === undefined && form ? formParameters(input.body) : '';
  for (const url of urlVariants(input.url)) {
    const index = firstMatch(input.secrets, [signature], (token) => hmac(algorithm, token, url + params));
    if (index < 0) continue;
    if (bodyHash === false) return fail('signature_invalid', 'the body does not match the bodySHA256 Twilio signed');
    return ok(index);
  }
  return fail('signature_invalid', `${SIGNATURE} does not match any secret`);
}
