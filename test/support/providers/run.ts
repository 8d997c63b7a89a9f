// Builds the signed requests of a provider case (test/support/providers/cases.ts) for the unit and
// integration suites: lower-cased headers, the body as sent, and the usual bad variants.
import type { ProviderCase } from './cases.ts';

export interface Signed {
  body: string;
  headers: Record<string, string>;
}

export const DEFAULT_URL = 'https://gateway.example.com/in/default/provider';
export const urlOf = (c: ProviderCase) => (c.spec?.publicUrl as string | undefined) ?? DEFAULT_URL;

export async function signedRequest(c: ProviderCase, opts: { id: string; secret?: string; now?: number; body?: string }): Promise<Signed> {
  const secret = opts.secret ?? c.secrets[0];
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const raw = opts.body ?? c.body(opts.id);
  const body = c.prepare ? c.prepare(raw, secret, now) : raw;
  const signed = await c.sign({ body, secret, now, url: urlOf(c), id: opts.id });
  const headers = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v]));
  if (c.contentType) headers['content-type'] = c.contentType;
  return { body, headers };
}

/** The default tampering: one byte more inside the body (still valid JSON or form data). */
export function tampered(c: ProviderCase, body: string): string | undefined {
  if ('tamper' in c) return c.tamper?.(body);
  return `${body.slice(0, -1)} ${body.slice(-1)}`;
}

/** The request without its signature. */
export function withoutSignature(c: ProviderCase, req: Signed): Signed {
  if (c.strip) return { body: c.strip(req.body), headers: req.headers };
  // Every header that starts with the name (DocuSign numbers them: x-docusign-signature-1, -2…).
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !name.startsWith(c.signatureHeader)));
  return { body: req.body, headers };
}

/** An hour old: beyond every provider's tolerance. */
export const staleSeconds = () => Math.floor(Date.now() / 1000) - 3600;
