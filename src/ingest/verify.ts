// Inbound signature verification for every provider of the catalogue (src/domain/providers/).
// Pure but for PayPal's certificate, which an injected loader fetches: the clock is injected.
//
// - Most providers are data, verified by providers/signed.ts; code only where the scheme needs
//   it (PayPal, Twilio, token and Basic credentials).
// - Secrets are tried in rotation order; any match passes, and the result says which (handshakes
//   answer with it). Empty-string secrets are ignored (an empty HMAC key is one anyone can sign with).
// - Tolerance: spec.source.toleranceSeconds, else the provider's documented default.
import type { HmacOptions } from '../domain/endpoint.ts';
import { providerEntry, type HmacScheme, type Scheme } from '../domain/providers/index.ts';
import { bodyHmac } from '../domain/providers/shapes.ts';
import { verifyPaypal } from './providers/paypal.ts';
import { fail, ok, type VerifyInput, type VerifyResult } from './providers/result.ts';
import { verifySigned } from './providers/signed.ts';
import { verifyBasicAuth, verifyToken } from './providers/token.ts';
import { verifyTwilio } from './providers/twilio.ts';

export type { CertificateLoader, VerifyFailure, VerifyInput, VerifyResult } from './providers/result.ts';

const DEFAULT_TOLERANCE_SECONDS = 300;

function configuredHmac(options: HmacOptions): HmacScheme {
  return bodyHmac(options.header, options.algorithm, options.encoding, options.prefix);
}

export function toleranceOf(input: Pick<VerifyInput, 'source'>): number {
  return input.source.toleranceSeconds ?? providerEntry(input.source.provider).toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
}

/** Verifies a request; a promise only for PayPal (its certificate may have to be fetched). */
export function verifySignature(input: VerifyInput): VerifyResult | Promise<VerifyResult> {
  const scheme: Scheme = providerEntry(input.source.provider).scheme;
  if (scheme.kind === 'none') return ok(-1);
  const secrets = input.secrets.filter((secret) => secret.length > 0);
  if (secrets.length === 0) return fail('secret_missing', `no secret is configured for provider ${input.source.provider}`);
  return byScheme(scheme, { ...input, secrets });
}

function byScheme(scheme: Exclude<Scheme, { kind: 'none' }>, input: VerifyInput): VerifyResult | Promise<VerifyResult> {
  switch (scheme.kind) {
    case 'hmac':
    case 'public-key':
      return verifySigned(scheme, toleranceOf(input), input);
    case 'configured-hmac':
      // Schema validation requires `hmac` with this provider; without it we cannot verify, which,
      // like a missing secret, is a gap in our configuration rather than in the request.
      return input.source.hmac ? verifySigned(configuredHmac(input.source.hmac), 0, input) : fail('secret_missing', 'hmac options are not configured');
    case 'token':
      return verifyToken(scheme.header, input);
    case 'basic-auth':
      return verifyBasicAuth(input);
    case 'twilio':
      return verifyTwilio(input);
    case 'paypal':
      return verifyPaypal(input, toleranceOf(input));
  }
}
