// Writes docs/providers.md from the provider catalogue (src/domain/providers/), so the table and
// the examples cannot drift from what the ingest verifies. `node scripts/providers-doc.ts` writes
// the file; `--check` exits 1 when it is out of date (a unit test runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import { CATALOGUE, PROVIDERS, hasSignedTimestamp, type Provider, type ProviderEntry, type SignatureFrom, type SignedPart, type TimestampFrom, type ValueSource } from '../src/domain/providers/index.ts';

const FILE = new URL('../docs/providers.md', import.meta.url);
const HANDSHAKES: Record<string, string> = {
  'slack-url-verification': '`url_verification` → `{"challenge"}`',
  'zoom-url-validation': '`endpoint.url_validation` → `plainToken` + `encryptedToken`',
  'twitch-callback-verification': '`webhook_callback_verification` → challenge (text)',
  'meta-hub-challenge': '`GET ?hub.mode=subscribe` → `hub.challenge` if `hub.verify_token` matches',
  'discord-ping': 'PING → `{"type":1}` (interactions) / 204 (webhook events)',
  'trello-head': '`HEAD` → 200',
  'woocommerce-ping': 'unsigned `webhook_id=N` → 200',
};
const URL_SIGNED: ReadonlySet<string> = new Set(['twilio', 'square', 'hubspot', 'trello']);

const code = (s: string) => `\`${s}\``;
const source = (v: ValueSource | undefined) => (v?.header ? code(v.header) : v?.jsonPointer ? `body ${code(v.jsonPointer)}` : '');

function signatureWhere(s: SignatureFrom): string {
  if ('jsonPointer' in s) return `body ${code(s.jsonPointer)}`;
  if ('headers' in s) return /-1$/.test(s.headers[0]!) ? `${code(s.headers[0]!.replace(/1$/, 'N'))} (one per key)` : s.headers.map(code).join(' or ');
  if ('versioned' in s) return `${code(s.header)} (\`${s.versioned},…\` entries)`;
  if ('pairs' in s) return `${code(s.header)} (\`${s.pairs.key}=\`)`;
  return code(s.header) + (s.prefix ? ` (${code(s.prefix + '…')})` : '');
}

function timestampWhere(t: TimestampFrom | undefined): string | undefined {
  if (!t) return undefined;
  if ('pair' in t) return undefined; // inside the signature header
  return 'header' in t ? code(t.header) : `body ${code(t.jsonPointer)}`;
}

function part(p: SignedPart): string {
  if (typeof p === 'string') return p;
  if ('text' in p) return code(p.text);
  return 'header' in p ? code(p.header) : `body ${code(p.jsonPointer)}`;
}

function verified(e: ProviderEntry): string {
  const s = e.scheme;
  switch (s.kind) {
    case 'hmac':
      return `${s.encoding} HMAC-${s.algorithm.toUpperCase()} of ${s.signed.map(part).join(' + ')}${s.key === 'whsec' ? ' (key: base64 of `whsec_…`)' : ''}`;
    case 'public-key':
      return `${s.algorithm === 'ed25519' ? 'Ed25519' : 'ECDSA P-256 / SHA-256'} signature of ${s.signed.map(part).join(' + ')} with the provider's public key`;
    case 'token':
      return 'the header equals the secret (constant time); the body is not signed';
    case 'basic-auth':
      return '`Authorization: Basic` equals `user:password`; the body is not signed';
    case 'paypal':
      return 'SHA256withRSA of transmission id, time, webhook id and CRC32(body) joined by `\\|`, with PayPal\'s certificate (chain checked)';
    case 'twilio':
      return 'base64 HMAC-SHA1 (or SHA-256) of the URL + sorted form parameters; JSON bodies via `bodySHA256`';
    case 'configured-hmac':
      return 'HMAC of the body as `spec.source.hmac` describes';
    case 'none':
      return 'nothing';
  }
}

function headers(e: ProviderEntry): string {
  const s = e.scheme;
  if (s.kind === 'hmac' || s.kind === 'public-key') {
    const extra = s.signed.flatMap((p) => (typeof p === 'object' && 'header' in p ? [code(p.header)] : []));
    return [signatureWhere(s.signature), timestampWhere(s.timestamp), ...extra].filter(Boolean).join(', ');
  }
  if (s.kind === 'token') return code(s.header);
  if (s.kind === 'basic-auth') return '`Authorization`';
  if (s.kind === 'paypal') return '`PAYPAL-TRANSMISSION-{ID,TIME,SIG}`, `PAYPAL-CERT-URL`, `PAYPAL-AUTH-ALGO`';
  if (s.kind === 'twilio') return '`X-Twilio-Signature`';
  return s.kind === 'configured-hmac' ? '`spec.source.hmac.header`' : '—';
}

function replay(id: Provider, e: ProviderEntry): string {
  if (e.scheme.kind === 'none') return 'none';
  if (hasSignedTimestamp(e.scheme)) return `signed timestamp, ±${e.toleranceSeconds ?? 300} s`;
  return e.eventId ? 'dedupe window (id; body digest if the id is missing)' : 'dedupe window (body digest)';
}

function row(id: Provider): string {
  const e: ProviderEntry = CATALOGUE[id];
  const dedupe = e.eventId ? source(e.eventId) : e.scheme.kind === 'none' || hasSignedTimestamp(e.scheme) ? '—' : 'body SHA-256';
  return `| ${code(id)} | ${e.name} | ${headers(e)} | ${verified(e)} | ${dedupe} | ${source(e.eventType) || '—'} | ${e.handshake ? HANDSHAKES[e.handshake] : '—'} | ${replay(id, e)} |`;
}

function example(id: Provider): string {
  const e: ProviderEntry = CATALOGUE[id];
  const lines = [`### ${e.name} (\`${id}\`)`, '', e.docs.startsWith('http') ? `Scheme: ${e.docs}. Secret: ${e.secret}.` : `Secret: ${e.secret}.`, '', '```yaml',
    'apiVersion: redeliver.io/v1alpha1', 'kind: WebhookEndpoint', 'metadata:', `  name: ${id}-events`, '  namespace: default', 'spec:', '  source:', `    provider: ${id}`];
  if (id !== 'none') lines.push('    secretRef:', `      name: ${id}-webhook`, `      keys: [${e.scheme.kind === 'paypal' ? 'webhook-id' : 'current'}]${id === 'meta' ? '' : ''}`);
  if (id === 'hmac') lines.push('    hmac:', '      header: X-Signature', '      algorithm: sha256', '      encoding: hex', '      prefix: "sha256="', '    eventIdFrom:', '      header: X-Event-Id');
  if (id === 'meta') lines.push('    verifyTokenKey: verify-token');
  if (URL_SIGNED.has(id)) lines.push(`    publicUrl: https://hooks.example.com/in/default/${id}-events`);
  lines.push('  destination:', `    url: http://my-service.default.svc/webhooks/${id}`, '```', '');
  return lines.join('\n');
}

export function render(): string {
  const intro = readFileSync(new URL('./providers-doc.intro.md', import.meta.url), 'utf8');
  return [
    intro.trimEnd(), '',
    '| id | provider | headers | what is verified | dedupe id | event type | handshake | replay protection |',
    '|---|---|---|---|---|---|---|---|',
    ...PROVIDERS.map(row), '',
    '## Examples', '',
    'Each example needs a Secret with the key it names (`kubectl create secret generic <name> --from-literal=current=…`).',
    '', ...PROVIDERS.map(example),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = render();
  if (process.argv.includes('--check')) {
    if (readFileSync(FILE, 'utf8') !== text) {
      console.error('docs/providers.md is out of date: run node scripts/providers-doc.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(FILE, text);
  }
}
