// The provider catalogue: every id `spec.source.provider` accepts, with its entry. A provider of a
// known shape is one entry (commerce.ts, developer.ts, communication.ts) plus its test.
import { COMMERCE } from './commerce.ts';
import { COMMUNICATION } from './communication.ts';
import { DEVELOPER } from './developer.ts';
import type { ProviderEntry, Scheme, SignatureFrom } from './types.ts';

export const CATALOGUE = { ...COMMERCE, ...DEVELOPER, ...COMMUNICATION } as const satisfies Record<string, ProviderEntry>;

export type Provider = keyof typeof CATALOGUE;

/** Every provider id, in catalogue order (the CRD enum lists the same). */
export const PROVIDERS = Object.keys(CATALOGUE) as Provider[];

export function isProvider(id: string): id is Provider {
  return Object.hasOwn(CATALOGUE, id);
}

export function providerEntry(id: Provider): ProviderEntry {
  return CATALOGUE[id];
}

/** The scheme signs a timestamp, so a replay is refused once it falls outside the tolerance. */
export function hasSignedTimestamp(scheme: Scheme): boolean {
  return (scheme.kind === 'hmac' || scheme.kind === 'public-key') ? scheme.timestamp !== undefined : scheme.kind === 'paypal';
}

function signatureHeaders(from: SignatureFrom): string[] {
  if ('headers' in from) return from.headers;
  return 'header' in from ? [from.header] : [];
}

/**
 * The request headers that carry verification material for this scheme (signatures, tokens),
 * lower-cased. Recorded with each event so views hide exactly these, whatever the endpoint's
 * configuration later becomes. `configuredHeader` is spec.source.hmac.header for the generic HMAC.
 */
export function verificationHeaders(scheme: Scheme, configuredHeader?: string): string[] {
  const names = ((): string[] => {
    switch (scheme.kind) {
      case 'hmac':
      case 'public-key':
        return signatureHeaders(scheme.signature);
      case 'token':
        return [scheme.header];
      case 'basic-auth':
        return ['Authorization'];
      case 'paypal':
        return ['PAYPAL-TRANSMISSION-SIG'];
      case 'twilio':
        return ['X-Twilio-Signature'];
      case 'configured-hmac':
        return configuredHeader ? [configuredHeader] : [];
      case 'none':
        return [];
    }
  })();
  return names.map((n) => n.toLowerCase());
}

export type * from './types.ts';
