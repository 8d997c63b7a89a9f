// Defects found in review, each pinned by a test that failed before its fix: a Twilio signature
// over the bare URL carried any non-form body; the standalone start-up summary printed real API
// keys; (the folder and body-budget fixes are tested in standalone.test.ts and ingest-limits.test.ts).
import { expect } from 'chai';
import twilio from 'twilio';
import type { EndpointSpec } from '../../src/domain/endpoint.ts';
import { verifyTwilio } from '../../src/ingest/providers/twilio.ts';
import { startupSummary } from '../../src/lib/summary.ts';

describe('review fixes', function () {
  describe('twilio: a body must be signed', function () {
    const token = 'twilio-auth-token';
    const url = 'https://hooks.example.com/in/default/sms';
    // Signed by Twilio's own library over the URL with no parameters.
    const signature = twilio.getExpectedTwilioSignature(token, url, {});
    const input = (body: string, contentType: string) => ({
      headers: { 'x-twilio-signature': signature, 'content-type': contentType },
      body: Buffer.from(body), secrets: [token], source: { provider: 'twilio' } as EndpointSpec['source'], nowMs: Date.now(), url,
    });

    it('accepts the bare-URL signature with an empty form body', function () {
      expect(verifyTwilio(input('', 'application/x-www-form-urlencoded')).ok).to.equal(true);
    });

    it('refuses a JSON body riding on a bare-URL signature (no bodySHA256)', function () {
      const r = verifyTwilio(input('{"amount":1000000}', 'application/json'));
      expect(r).to.include({ ok: false, reason: 'signature_invalid' });
    });
  });

  describe('start-up summary', function () {
    const base = { url: 'http://127.0.0.1:8080', roles: ['ingest', 'api'], standalone: true, endpoints: [] };

    it('prints demo keys (marked change-me) to sign in with, and never a real key', function () {
      const real = 'operator:prod-operator-key-7f3a9c2e1b5d8f04a6c3e9b1';
      const demo = 'read:demo-read-key-change-me-6d3a0e5b7c1f9';
      const s = startupSummary({ ...base, apiKeys: [real, demo] });
      const printed = s.text + JSON.stringify(s.fields);
      expect(printed).to.include(demo);
      expect(printed).to.not.include('prod-operator-key');
      expect(s.text).to.include('operator:(configured, not shown)');
    });
  });
});
