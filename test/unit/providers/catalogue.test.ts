// Every provider of the catalogue, verified against a request signed with the provider's own
// library or its documented formula (test/support/providers/cases.ts, which cites the source of
// each). No I/O: verifySignature is called directly (PayPal, which needs a certificate, has its
// own suite).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { extractEventMeta } from '../../../src/domain/event.ts';
import { PROVIDERS } from '../../../src/domain/providers/index.ts';
import type { EndpointSpec } from '../../../src/domain/endpoint.ts';
import { verifySignature, type VerifyResult } from '../../../src/ingest/verify.ts';
import { endpoint, secretRef } from '../../support/fixtures.ts';
import { CASES, type ProviderCase } from '../../support/providers/cases.ts';
import { signedRequest, staleSeconds, tampered, urlOf, withoutSignature, type Signed } from '../../support/providers/run.ts';

function specOf(c: ProviderCase, extra: Record<string, unknown> = {}): EndpointSpec {
  return endpoint({ name: 'p', spec: { source: { provider: c.provider, secretRef: secretRef(), ...c.spec, ...extra }, destination: { url: 'http://127.0.0.1:9/' } }, secrets: [c.secrets[0]] }).spec;
}

async function run(c: ProviderCase, req: Signed, secrets: readonly string[] = [c.secrets[0]], extra: Record<string, unknown> = {}): Promise<VerifyResult> {
  return verifySignature({ headers: req.headers, body: Buffer.from(req.body), secrets, source: specOf(c, extra).source, nowMs: Date.now(), url: urlOf(c), method: 'POST' });
}

async function expectReason(c: ProviderCase, req: Signed, reason: string, secrets?: readonly string[]) {
  const result = await run(c, req, secrets);
  expect(result.ok, `${c.provider}: expected ${reason}`).to.equal(false);
  if (!result.ok) {
    expect(result.reason, `${c.provider}: ${result.message}`).to.equal(reason);
    for (const secret of c.secrets) expect(result.message).to.not.include(secret);
  }
}

describe('provider catalogue', () => {
  it('has at least 25 providers, including every id the product promises, and a test case for each', () => {
    const required = ['stripe', 'github', 'shopify', 'standard-webhooks', 'svix', 'hmac', 'none', 'paypal', 'woocommerce', 'slack', 'twilio',
      'square', 'paddle', 'linear', 'sendgrid', 'mailgun', 'gitlab', 'hubspot', 'intercom', 'zoom', 'typeform', 'calendly', 'mux', 'twitch', 'lemonsqueezy'];
    expect(PROVIDERS.length).to.be.at.least(25);
    expect(PROVIDERS).to.include.members(required);
    // hmac, none and paypal have suites of their own (verify.test.ts, paypal.test.ts).
    const covered = new Set([...CASES.map((c) => c.provider), 'hmac', 'none', 'paypal']);
    expect(PROVIDERS.filter((p) => !covered.has(p))).to.deep.equal([]);
  });

  it('is the enum of spec.source.provider in both copies of the CRD, which are identical', () => {
    const crd = readFileSync(new URL('../../../crds/webhookendpoints.yaml', import.meta.url), 'utf8');
    expect(readFileSync(new URL('../../../charts/redeliver/crds/webhookendpoints.yaml', import.meta.url), 'utf8')).to.equal(crd);
    const doc = parseYaml(crd) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: { source: { properties: { provider: { enum: string[] } } } } } } } } }> } };
    expect(doc.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.source.properties.provider.enum).to.deep.equal(PROVIDERS);
  });

  for (const c of CASES) {
    describe(`${c.provider} (${c.source})`, () => {
      it('accepts a valid request, and so does the provider\'s own verifier where it has one', async () => {
        const req = await signedRequest(c, { id: 'a1' });
        expect(await run(c, req)).to.deep.equal({ ok: true, secretIndex: 0 });
        if (c.libraryAccepts) expect(await c.libraryAccepts({ ...req, secret: c.secrets[0], url: urlOf(c) })).to.equal(true);
      });

      it('accepts the second secret during rotation', async () => {
        const req = await signedRequest(c, { id: 'a2' });
        expect(await run(c, req, [c.secrets[1], c.secrets[0]])).to.deep.equal({ ok: true, secretIndex: 1 });
      });

      it('refuses a tampered body, a wrong secret and a missing signature', async () => {
        const req = await signedRequest(c, { id: 'a3' });
        const body = tampered(c, req.body);
        if (body !== undefined) await expectReason(c, { ...req, body }, 'signature_invalid');
        await expectReason(c, await signedRequest(c, { id: 'a3', secret: c.secrets[1] }), 'signature_invalid');
        await expectReason(c, withoutSignature(c, req), 'signature_missing');
      });

      if (c.timestamped) {
        it('refuses a stale timestamp (signed an hour ago)', async () => {
          await expectReason(c, await signedRequest(c, { id: 'a4', now: staleSeconds() }), 'timestamp_out_of_tolerance');
        });

        it('honours spec.source.toleranceSeconds over the provider default', async () => {
          const req = await signedRequest(c, { id: 'a6', now: Math.floor(Date.now() / 1000) - 100 });
          const narrow = await run(c, req, [c.secrets[0]], { toleranceSeconds: 50 });
          expect(narrow.ok ? 'ok' : narrow.reason).to.equal('timestamp_out_of_tolerance');
          expect((await run(c, req, [c.secrets[0]], { toleranceSeconds: 200 })).ok).to.equal(true);
        });
      }

      it(`reads the event type (${c.eventType})`, async () => {
        const req = await signedRequest(c, { id: 'a5' });
        expect(extractEventMeta(specOf(c), req.headers, Buffer.from(req.body)).eventType).to.equal(c.eventType);
      });
    });
  }
});
