// Schemes that send the shared secret itself: a token header (GitLab) or HTTP Basic credentials
// (Postmark). Compared in constant time against every secret, in rotation order.
import { safeEqual } from '../../lib/crypto.ts';
import { decodeBase64 } from './codec.ts';
import { fail, ok, type VerifyInput, type VerifyResult } from './result.ts';

function match(secrets: readonly string[], received: string, name: string): VerifyResult {
  const index = secrets.findIndex((secret) => safeEqual(secret, received));
  return index < 0 ? fail('signature_invalid', `${name} does not match any secret`) : ok(index);
}

export function verifyToken(headerName: string, input: VerifyInput): VerifyResult {
  const value = input.headers[headerName.toLowerCase()];
  if (!value) return fail('signature_missing', `${headerName} header is missing`);
  return match(input.secrets, value, headerName);
}

export function verifyBasicAuth(input: VerifyInput): VerifyResult {
  const value = input.headers.authorization;
  if (!value) return fail('signature_missing', 'Authorization header is missing');
  const m = /^Basic\s+(\S+)$/i.exec(value);
  const decoded = m?.[1] ? decodeBase64(m[1]) : undefined;
  if (!decoded) return fail('signature_malformed', 'Authorization is not Basic credentials');
  return match(input.secrets, decoded.toString('utf8'), 'Authorization');
}
