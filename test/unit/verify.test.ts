// Inbound signature verification. The positive cases use signatures made by the providers' own
// libraries (Stripe SDK, @octokit/webhooks-methods, standardwebhooks) so we test against what the
// providers really send, not against our own understanding of it. No I/O; the clock is injected.
import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { EndpointSpec, HmacOptions, Provider } from '../../src/domain/endpoint.ts';
import { verifySignature } from '../../src/ingest/verify.ts';
import { signStandardWebhook } from '../../src/lib/standard-webhooks.ts';
import type { VerifyFailure, VerifyInput, VerifyResult } from '../../src/ingest/verify.ts';

const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0, 250);
const NOW_S = Math.floor(NOW_MS / 1000);
const TOLERANCE = 300;
const BODY = '{"id":"evt_1","object":"event","type":"payment_intent.succeeded","amount":1999}';
// Not valid UTF-8: lone continuation bytes, an overlong encoding and a truncated sequence.
const BINARY = Buffer.from([0x7b, 0x80, 0xff, 0xfe, 0x00, 0xc0, 0xaf, 0xe2, 0x82, 0x0a, 0x7d]);

const STRIPE_SECRET = 'whsec_test_0123456789abcdefghijklmnop';
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SW_SECRET_2 = 'whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=';
const PLAIN_SECRET = 'It is a plain shared secret';

function source(provider: Provider, hmac?: HmacOptions): EndpointSpec['source'] {
  return { provider, hmac, toleranceSeconds: TOLERANCE, maxBodyBytes: 1_048_576, dedupeWindowSeconds: 86_400 };
}

function verify(
  provider: Provider,
  headers: Record<string, string | undefined>,
  overrides: Partial<VerifyInput> & { body?: Buffer | string } = {},
): VerifyResult {
  const { body = BODY, ...rest } = overrides;
  return sync(verifySignature({
    headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    secrets: [PLAIN_SECRET],
    source: source(provider),
    nowMs: NOW_MS,
    ...rest,
  }));
}

/** Every scheme but PayPal's answers synchronously. */
function sync(result: VerifyResult | Promise<VerifyResult>): VerifyResult {
  if (result instanceof Promise) throw new Error('expected a synchronous verification');
  return result;
}

function expectOk(result: VerifyResult): void {
  expect(result.ok, JSON.stringify(result)).to.equal(true);
}

/** Asserts the reason, and that the message leaks none of the given secret or signature strings. */
function expectFail(result: VerifyResult, reason: VerifyFailure, ...secretsAndSignatures: string[]): void {
  expect(result.ok).to.equal(false);
  if (result.ok) return;
  expect(result.reason).to.equal(reason);
  expect(result.message).to.be.a('string').and.not.equal('');
  for (const s of secretsAndSignatures) expect(result.message).to.not.include(s);
}

function tamper(body: string | Buffer): Buffer {
  const copy = Buffer.from(body);
  copy[5] = (copy[5] ?? 0) ^ 0x01;
  return copy;
}

function hmacOf(algorithm: string, key: string | Buffer, encoding: 'hex' | 'base64', ...parts: (string | Buffer)[]): string {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest(encoding);
}

describe('verifySignature', () => {
  describe('stripe', () => {
    const stripeHeader = (timestamp = NOW_S, secret = STRIPE_SECRET, payload = BODY): string =>
      Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    const run = (header: string | undefined, overrides: Partial<VerifyInput> & { body?: Buffer | string } = {}) =>
      verify('stripe', { 'stripe-signature': header }, { secrets: [STRIPE_SECRET], ...overrides });

    it('accepts a header made by the Stripe SDK (and the SDK accepts the same request)', () => {
      const header = stripeHeader();
      expectOk(run(header));
      expect(Stripe.webhooks.constructEvent(BODY, header, STRIPE_SECRET, TOLERANCE, undefined, NOW_MS).id).to.equal('evt_1');
    });

    it('accepts when any of several v1 signatures matches, ignoring v0', () => {
      const good = stripeHeader().split('v1=')[1] ?? '';
      const header = `t=${NOW_S},v1=${'ab'.repeat(32)},v1=${good},v0=${'cd'.repeat(32)}`;
      expectOk(run(header));
    });

    it('parses a header that Node joined from two copies', () => {
      expectOk(run(`${stripeHeader()}, v0=${'00'.repeat(32)}`));
    });

    it('accepts the second secret during rotation', () => {
      expectOk(run(stripeHeader(), { secrets: ['whsec_old_secret', STRIPE_SECRET] }));
    });

    it('verifies over raw bytes for a non-UTF-8 body', () => {
      // The SDK only takes string payloads, so sign the raw bytes the way Stripe documents it.
      const sig = hmacOf('sha256', STRIPE_SECRET, 'hex', `${NOW_S}.`, BINARY);
      expectOk(run(`t=${NOW_S},v1=${sig}`, { body: BINARY }));
      expectFail(run(`t=${NOW_S},v1=${sig}`, { body: tamper(BINARY) }), 'signature_invalid');
    });

    it('refuses a tampered body or a wrong secret', () => {
      const header = stripeHeader();
      expectFail(run(header, { body: tamper(BODY) }), 'signature_invalid', header);
      expectFail(run(header, { secrets: ['whsec_wrong'] }), 'signature_invalid', 'whsec_wrong', header);
    });

    it('refuses stale and future timestamps beyond the tolerance, accepts the boundary', () => {
      expectOk(run(stripeHeader(NOW_S - TOLERANCE)));
      expectOk(run(stripeHeader(NOW_S + TOLERANCE)));
      expect(run(stripeHeader(NOW_S - TOLERANCE - 1))).to.deep.equal({
        ok: false,
        reason: 'timestamp_out_of_tolerance',
        message: 'Stripe-Signature timestamp is outside the 300 s tolerance',
      });
      expectFail(run(stripeHeader(NOW_S + TOLERANCE + 1)), 'timestamp_out_of_tolerance');
    });

    it('checks the signature before the timestamp', () => {
      expectFail(run(stripeHeader(NOW_S - 3600, 'whsec_wrong')), 'signature_invalid');
    });

    it('skips the timestamp check when toleranceSeconds is 0, as the Stripe SDK does', () => {
      expectOk(run(stripeHeader(NOW_S - 86_400), { source: { ...source('stripe'), toleranceSeconds: 0 } }));
    });

    it('refuses a missing header', () => {
      expectFail(run(undefined), 'signature_missing');
      expectFail(run(''), 'signature_missing');
    });

    it('refuses malformed headers', () => {
      const sig = 'ab'.repeat(32);
      for (const header of ['garbage', `v1=${sig}`, `t=soon,v1=${sig}`, `t=${NOW_S}`, `t=${NOW_S},v0=${sig}`, `t=${NOW_S},v1=xyz`]) {
        expectFail(run(header), 'signature_malformed', sig);
      }
    });

    it('refuses when no secret is configured', () => {
      expectFail(run(stripeHeader(), { secrets: [] }), 'secret_missing');
      expectFail(run(stripeHeader(), { secrets: [''] }), 'secret_missing');
    });
  });

  describe('github', () => {
    const run = (header: string | undefined, overrides: Partial<VerifyInput> & { body?: Buffer | string } = {}) =>
      verify('github', { 'x-hub-signature-256': header }, overrides);

    it('accepts a signature made by @octokit/webhooks-methods', async () => {
      expectOk(run(await githubSign(PLAIN_SECRET, BODY)));
    });

    it('accepts the second secret during rotation', async () => {
      const header = await githubSign(PLAIN_SECRET, BODY);
      expectOk(run(header, { secrets: ['old secret', PLAIN_SECRET] }));
    });

    it('verifies over raw bytes for a non-UTF-8 body', () => {
      // octokit's sign() only takes strings; GitHub signs the raw bytes.
      const header = `sha256=${hmacOf('sha256', PLAIN_SECRET, 'hex', BINARY)}`;
      expectOk(run(header, { body: BINARY }));
    });

    it('refuses a tampered body or a wrong secret', async () => {
      const header = await githubSign(PLAIN_SECRET, BODY);
      expectFail(run(header, { body: tamper(BODY) }), 'signature_invalid', header);
      expectFail(run(header, { secrets: ['wrong secret'] }), 'signature_invalid', 'wrong secret', header);
    });

    it('refuses a missing header', () => {
      expectFail(run(undefined), 'signature_missing');
    });

    it('refuses malformed headers', async () => {
      const hex = (await githubSign(PLAIN_SECRET, BODY)).slice('sha256='.length);
      for (const header of ['garbage', hex, `sha1=${hex}`, `sha256=${hex.slice(1)}`, `sha256=${'zz'.repeat(32)}`]) {
        expectFail(run(header), 'signature_malformed', hex);
      }
    });

    it('refuses a truncated (valid hex, wrong length) signature as invalid', async () => {
      const header = await githubSign(PLAIN_SECRET, BODY);
      expectFail(run(header.slice(0, -2)), 'signature_invalid');
    });

    it('refuses when no secret is configured', async () => {
      expectFail(run(await githubSign(PLAIN_SECRET, BODY), { secrets: [] }), 'secret_missing');
    });
  });

  describe('shopify', () => {
    // Shopify documents the header as base64(HMAC-SHA256(secret, raw body)).
    const shopifyHeader = (body: string | Buffer = BODY, secret = PLAIN_SECRET) => hmacOf('sha256', secret, 'base64', body);
    const run = (header: string | undefined, overrides: Partial<VerifyInput> & { body?: Buffer | string } = {}) =>
      verify('shopify', { 'x-shopify-hmac-sha256': header }, overrides);

    it('accepts a base64 HMAC-SHA256 of the raw body', () => {
      expectOk(run(shopifyHeader()));
    });

    it('accepts the second secret during rotation', () => {
      expectOk(run(shopifyHeader(), { secrets: ['old secret', PLAIN_SECRET] }));
    });

    it('verifies over raw bytes for a non-UTF-8 body', () => {
      expectOk(run(shopifyHeader(BINARY), { body: BINARY }));
    });

    it('refuses a tampered body or a wrong secret', () => {
      const header = shopifyHeader();
      expectFail(run(header, { body: tamper(BODY) }), 'signature_invalid', header);
      expectFail(run(header, { secrets: ['wrong secret'] }), 'signature_invalid', 'wrong secret', header);
    });

    it('refuses a missing header', () => {
      expectFail(run(undefined), 'signature_missing');
    });

    it('refuses non-base64 headers', () => {
      for (const header of ['not base64!', `${shopifyHeader()}%`, 'abcde']) expectFail(run(header), 'signature_malformed');
    });

    it('refuses when no secret is configured', () => {
      expectFail(run(shopifyHeader(), { secrets: [] }), 'secret_missing');
    });
  });

  describe('standard-webhooks', () => {
    const MSG_ID = 'msg_2a7bZ3Kq9';
    const headersFor = (signature: string | undefined, timestamp: string | undefined = String(NOW_S), id: string | undefined = MSG_ID) => ({
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': signature,
    });
    const librarySign = (seconds = NOW_S, secret = SW_SECRET, payload = BODY) =>
      new Webhook(secret).sign(MSG_ID, new Date(seconds * 1000), payload);
    const run = (headers: Record<string, string | undefined>, overrides: Partial<VerifyInput> & { body?: Buffer | string } = {}) =>
      verify('standard-webhooks', headers, { secrets: [SW_SECRET], ...overrides });

    it('accepts a signature made by the standardwebhooks library', () => {
      expectOk(run(headersFor(librarySign())));
    });

    it('accepts when any v1 entry matches, ignoring other versions', () => {
      const good = librarySign();
      const header = `v1a,${Buffer.alloc(64).toString('base64')} v1,${Buffer.alloc(32, 7).toString('base64')} ${good}`;
      expectOk(run(headersFor(header)));
      // A repeated header, joined by Node with ', '.
      expectOk(run(headersFor(`${good}, v1,${Buffer.alloc(32).toString('base64')}`)));
    });

    it('treats a secret without the whsec_ prefix as base64, like the library', () => {
      const bare = SW_SECRET.slice('whsec_'.length);
      expectOk(run(headersFor(librarySign(NOW_S, bare)), { secrets: [bare] }));
    });

    it('accepts the second secret during rotation', () => {
      expectOk(run(headersFor(librarySign(NOW_S, SW_SECRET_2)), { secrets: [SW_SECRET, SW_SECRET_2] }));
    });

    it('signStandardWebhook matches the library and verifies with Webhook.verify', () => {
      expect(signStandardWebhook(SW_SECRET, MSG_ID, NOW_S, BODY)).to.equal(librarySign());
      expect(signStandardWebhook(SW_SECRET, MSG_ID, NOW_S, Buffer.from(BODY))).to.equal(librarySign());
      // Webhook.verify reads Date.now() and cannot take a clock, so sign for the real current time.
      const seconds = Math.floor(Date.now() / 1000);
      const headers = { 'webhook-id': MSG_ID, 'webhook-timestamp': String(seconds), 'webhook-signature': '' };
      headers['webhook-signature'] = signStandardWebhook(SW_SECRET, MSG_ID, seconds, BODY);
      expect(new Webhook(SW_SECRET).verify(BODY, headers)).to.deep.equal(JSON.parse(BODY));
      expect(() => new Webhook(SW_SECRET_2).verify(BODY, headers)).to.throw('No matching signature found');
    });

    it('signs and verifies raw bytes for a non-UTF-8 body', () => {
      // The library's sign() turns a Buffer into a UTF-8 string first, which replaces invalid bytes,
      // so for binary bodies the raw-bytes HMAC is computed here and by signStandardWebhook.
      const expected = `v1,${hmacOf('sha256', Buffer.from(SW_SECRET.slice(6), 'base64'), 'base64', `${MSG_ID}.${NOW_S}.`, BINARY)}`;
      const signature = signStandardWebhook(SW_SECRET, MSG_ID, NOW_S, BINARY);
      expect(signature).to.equal(expected);
      expectOk(run(headersFor(signature), { body: BINARY }));
      expectFail(run(headersFor(signature), { body: tamper(BINARY) }), 'signature_invalid');
    });

    it('refuses a tampered body, a wrong secret or a changed message id', () => {
      const signature = librarySign();
      expectFail(run(headersFor(signature), { body: tamper(BODY) }), 'signature_invalid', signature);
      expectFail(run(headersFor(signature), { secrets: [SW_SECRET_2] }), 'signature_invalid', SW_SECRET_2, signature);
      expectFail(run(headersFor(signature, String(NOW_S), 'msg_other')), 'signature_invalid');
    });

    it('refuses stale and future timestamps beyond the tolerance, accepts the boundary', () => {
      const at = (seconds: number) => run(headersFor(librarySign(seconds), String(seconds)));
      expectOk(at(NOW_S - TOLERANCE));
      expectOk(at(NOW_S + TOLERANCE));
      expectFail(at(NOW_S - TOLERANCE - 1), 'timestamp_out_of_tolerance');
      expectFail(at(NOW_S + TOLERANCE + 1), 'timestamp_out_of_tolerance');
    });

    it('checks the signature before the timestamp', () => {
      const seconds = NOW_S - 3600;
      expectFail(run(headersFor(librarySign(seconds, SW_SECRET_2), String(seconds))), 'signature_invalid');
    });

    it('refuses each missing header', () => {
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        const headers: Record<string, string | undefined> = headersFor(librarySign());
        delete headers[name];
        expectFail(run(headers), 'signature_missing');
      }
    });

    it('refuses malformed headers', () => {
      const signature = librarySign();
      const b64 = signature.slice(3);
      expectFail(run(headersFor(signature, 'yesterday')), 'signature_malformed');
      expectFail(run(headersFor(signature, `${NOW_S}.5`)), 'signature_malformed');
      for (const header of ['garbage', b64, `v1,${b64},extra`, 'v1,not*base64', `v1a,${b64}`, `v2,${b64}`]) {
        expectFail(run(headersFor(header)), 'signature_malformed', b64);
      }
    });

    it('refuses when no usable secret is configured', () => {
      expectFail(run(headersFor(librarySign()), { secrets: [] }), 'secret_missing');
      expectFail(run(headersFor(librarySign()), { secrets: ['whsec_***not-base64***'] }), 'secret_missing');
    });

    it('signStandardWebhook refuses a secret that is not base64', () => {
      expect(() => signStandardWebhook('whsec_%%%', MSG_ID, NOW_S, BODY)).to.throw(/not valid base64/);
    });
  });

  describe('hmac (generic)', () => {
    const ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;
    const ENCODINGS = ['hex', 'base64'] as const;
    const run = (options: HmacOptions | undefined, headers: Record<string, string | undefined>, overrides: Partial<VerifyInput> & { body?: Buffer | string } = {}) =>
      verify('hmac', headers, { source: source('hmac', options), ...overrides });

    for (const algorithm of ALGORITHMS) {
      for (const encoding of ENCODINGS) {
        it(`verifies ${algorithm} / ${encoding}, with and without a prefix`, () => {
          const digest = hmacOf(algorithm, PLAIN_SECRET, encoding, BODY);
          const plain: HmacOptions = { header: 'X-Signature', algorithm, encoding };
          const prefixed: HmacOptions = { ...plain, prefix: `${algorithm}=` };
          expectOk(run(plain, { 'x-signature': digest }));
          expectOk(run(prefixed, { 'x-signature': `${algorithm}=${digest}` }));
          expectOk(run(prefixed, { 'x-signature': `${algorithm}=${hmacOf(algorithm, PLAIN_SECRET, encoding, BINARY)}` }, { body: BINARY }));
          expectFail(run(plain, { 'x-signature': digest }, { body: tamper(BODY) }), 'signature_invalid', digest);
          expectFail(run(plain, { 'x-signature': digest }, { secrets: ['wrong'] }), 'signature_invalid', digest);
          expectFail(run(prefixed, { 'x-signature': digest }), 'signature_malformed', digest);
        });
      }
    }

    const SHA256_HEX: HmacOptions = { header: 'X-Signature', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' };

    it('accepts the second secret during rotation', () => {
      const header = `sha256=${hmacOf('sha256', PLAIN_SECRET, 'hex', BODY)}`;
      expectOk(run(SHA256_HEX, { 'x-signature': header }, { secrets: ['old', PLAIN_SECRET] }));
    });

    it('refuses a digest of another algorithm as invalid (length differs)', () => {
      const header = `sha256=${hmacOf('sha1', PLAIN_SECRET, 'hex', BODY)}`;
      expectFail(run(SHA256_HEX, { 'x-signature': header }), 'signature_invalid');
    });

    it('refuses a missing header, malformed values and missing secrets', () => {
      expectFail(run(SHA256_HEX, {}), 'signature_missing');
      expectFail(run(SHA256_HEX, { 'x-signature': 'sha256=nothex' }), 'signature_malformed');
      expectFail(run({ ...SHA256_HEX, encoding: 'base64' }, { 'x-signature': 'sha256=***' }), 'signature_malformed');
      expectFail(run(SHA256_HEX, { 'x-signature': 'sha256=00' }, { secrets: [] }), 'secret_missing');
    });

    it('refuses when the hmac options are not configured', () => {
      expectFail(run(undefined, { 'x-signature': 'sha256=00' }), 'secret_missing');
    });
  });

  describe('none', () => {
    it('accepts anything without secrets', () => {
      expectOk(verify('none', {}, { secrets: [] }));
    });
  });
});
