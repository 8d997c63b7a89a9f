// PayPal's signing certificates: fetched only from PayPal's own API hosts over HTTPS, checked
// (every certificate in date, each issued and signed by the next, the last one issued by a trusted
// root, the leaf issued to PayPal's message-verification host), then cached until it expires (at
// most a day), so a burst of webhooks costs one fetch. Concurrent requests for one URL share the
// fetch. `trustedRoots` defaults to Node's bundled roots; tests pass their own CA.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { CertificateLoader, VerifyFailure } from './result.ts';

export const PAYPAL_CERT_HOSTS = ['api.paypal.com', 'api-m.paypal.com', 'api.sandbox.paypal.com', 'api-m.sandbox.paypal.com'] as const;
const LEAF_HOSTS = ['messageverificationcerts.paypal.com', 'messageverificationcerts.sandbox.paypal.com'];
const DAY_MS = 86_400_000;
const MAX_ENTRIES = 32;
const MAX_BYTES = 64 * 1024;

export interface PaypalCertificateOptions {
  /** Fetches the PEM text at an (already allowed) URL. Default: HTTPS GET with a 5 s timeout. */
  fetchPem?: (url: string) => Promise<string>;
  /** PEM roots the chain must end at. Default: Node's bundled Mozilla roots. */
  trustedRoots?: readonly string[];
  now?: () => number;
}

type Problem = { reason: VerifyFailure; message: string };
const problem = (reason: VerifyFailure, message: string): Problem => ({ reason, message });

async function defaultFetch(url: string): Promise<string> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > MAX_BYTES) throw new Error('certificate too large');
  return text;
}

export function allowedCertUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && (url.port === '' || url.port === '443') && !url.username && !url.password &&
    (PAYPAL_CERT_HOSTS as readonly string[]).includes(url.hostname) && url.pathname.startsWith('/v1/notifications/certs/');
}

function parseChain(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

const inDate = (c: X509Certificate, now: number) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
const signedBy = (c: X509Certificate, issuer: X509Certificate) => c.checkIssued(issuer) && c.verify(issuer.publicKey);

/** The leaf when the chain is valid, else the problem. */
export function checkChain(chain: X509Certificate[], roots: X509Certificate[], now: number): X509Certificate | Problem {
  const leaf = chain[0];
  if (!leaf) return problem('certificate_invalid', 'the PayPal certificate URL holds no certificate');
  if (!LEAF_HOSTS.some((host) => leaf.checkHost(host) !== undefined)) return problem('certificate_invalid', 'the certificate is not issued to PayPal');
  if (!chain.every((c) => inDate(c, now))) return problem('certificate_invalid', 'a certificate of the chain is expired or not yet valid');
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!signedBy(chain[i]!, chain[i + 1]!)) return problem('certificate_invalid', 'the certificate chain is broken');
  }
  const top = chain.at(-1)!;
  const trusted = roots.some((root) => root.fingerprint256 === top.fingerprint256 || (inDate(root, now) && signedBy(top, root)));
  return trusted ? leaf : problem('certificate_invalid', 'the certificate chain does not end at a trusted root');
}

export function createPaypalCertificates(opts: PaypalCertificateOptions = {}): CertificateLoader {
  const fetchPem = opts.fetchPem ?? defaultFetch;
  const now = opts.now ?? Date.now;
  const roots = (opts.trustedRoots ?? rootCertificates).map((pem) => new X509Certificate(pem));
  const cache = new Map<string, { expires: number; cert: Promise<X509Certificate | Problem> }>();

  const load = async (url: string): Promise<X509Certificate | Problem> => {
    let pem: string;
    try {
      pem = await fetchPem(url);
    } catch {
      return problem('certificate_unavailable', 'the PayPal certificate could not be fetched');
    }
    try {
      return checkChain(parseChain(pem), roots, now());
    } catch {
      return problem('certificate_invalid', 'the PayPal certificate could not be parsed');
    }
  };

  return async (url) => {
    if (!allowedCertUrl(url)) return problem('certificate_invalid', 'PAYPAL-CERT-URL is not a PayPal certificate URL');
    const hit = cache.get(url);
    if (hit && hit.expires > now()) return hit.cert;
    const cert = load(url);
    cache.set(url, { expires: now() + DAY_MS, cert });
    const result = await cert;
    // Failures are not kept (the next webhook tries again); a certificate is kept until it expires.
    if (!('publicKey' in result)) cache.delete(url);
    else cache.set(url, { expires: Math.min(now() + DAY_MS, Date.parse(result.validTo)), cert });
    while (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    return result;
  };
}
