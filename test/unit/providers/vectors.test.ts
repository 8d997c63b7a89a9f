// Test vectors published in the providers' own documentation, and scheme details the generic
// cases do not reach (Twilio's JSON bodies and SHA-256 setting, ports in URLs).
import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import twilio from 'twilio';
import type { Provider } from '../../../src/domain/endpoint.ts';
import { verifySignature, type VerifyResult } from '../../../src/ingest/verify.ts';
import { endpoint, secretRef } from '../../support/fixtures.ts';

function check(provider: Provider, headers: Record<string, string>, body: string, secret: string, opts: { nowMs?: number; url?: string; spec?: Record<string, unknown> } = {}): VerifyResult {
  const source = endpoint({ name: 'v', spec: { source: { provider, secretRef: secretRef(), ...opts.spec }, destination: { url: 'http://127.0.0.1:9/' } }, secrets: [secret] }).spec.source;
  const result = verifySignature({ headers, body: Buffer.from(body), secrets: [secret], source, nowMs: opts.nowMs ?? Date.now(), url: opts.url, method: 'POST' });
  if (result instanceof Promise) throw new Error('synchronous scheme expected');
  return result;
}

describe('documented test vectors', () => {
  it('GitHub: "Hello, World!" with "It\'s a Secret to Everybody"', () => {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(check('github', { 'x-hub-signature-256': header }, 'Hello, World!', "It's a Secret to Everybody")).to.deep.equal({ ok: true, secretIndex: 0 });
    expect(check('github', { 'x-hub-signature-256': header }, 'Hello, World?', "It's a Secret to Everybody").ok).to.equal(false);
  });

  it('Slack: the slash-command example of "Verifying requests from Slack"', () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack#a-recipe-for-security
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const headers = { 'x-slack-request-timestamp': '1531420618', 'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' };
    const at = 1531420618_000;
    expect(check('slack', headers, body, '8f742231b10e8888abcd99yyyzzz85a5', { nowMs: at })).to.deep.equal({ ok: true, secretIndex: 0 });
    const late = check('slack', headers, body, '8f742231b10e8888abcd99yyyzzz85a5', { nowMs: at + 301_000 });
    expect(late.ok ? 'ok' : late.reason).to.equal('timestamp_out_of_tolerance');
  });

  it('Standard Webhooks / Svix: the example of the specification and of Svix\'s manual verification page', () => {
    // https://docs.svix.com/receiving/verifying-payloads/how-manual and the standard-webhooks spec
    const body = '{"test": 2432232314}';
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const at = 1614265330_000;
    const sig = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
    expect(check('svix', { 'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'svix-timestamp': '1614265330', 'svix-signature': sig }, body, secret, { nowMs: at }).ok).to.equal(true);
    expect(check('standard-webhooks', { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': sig }, body, secret, { nowMs: at }).ok).to.equal(true);
  });
});

describe('Shopify details', () => {
  it('accepts the newer events form of the header (Shopify-Hmac-Sha256, no X-), as @shopify/shopify-api does', () => {
    const body = '{"id":1}';
    const signature = createHmac('sha256', 'shopify-secret').update(body).digest('base64');
    expect(check('shopify', { 'shopify-hmac-sha256': signature }, body, 'shopify-secret').ok).to.equal(true);
    expect(check('shopify', { 'shopify-hmac-sha256': signature }, `${body} `, 'shopify-secret').ok).to.equal(false);
  });
});

describe('Twilio details', () => {
  const TOKEN = '12345';
  const URL_BASE = 'https://mycompany.com/myapp';

  it('verifies a JSON body through the bodySHA256 query parameter Twilio signs, as twilio.validateRequestWithBody does', () => {
    const body = '{"property": "value", "boolean": true}';
    const url = `${URL_BASE}?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    expect(twilio.validateRequestWithBody(TOKEN, signature, url, body)).to.equal(true);
    const headers = { 'x-twilio-signature': signature, 'content-type': 'application/json' };
    expect(check('twilio', headers, body, TOKEN, { url }).ok).to.equal(true);
    const tampered = check('twilio', headers, body.replace('value', 'other'), TOKEN, { url });
    expect(tampered.ok ? 'ok' : tampered.reason).to.equal('signature_invalid');
  });

  it('uses HMAC-SHA256 when X-Twilio-Webhooks-Signature-Settings says so, and accepts the URL with or without the default port', () => {
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234' };
    const body = new URLSearchParams(params).toString();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const sha256 = twilio.getExpectedTwilioSignature(TOKEN, URL_BASE, params, 'HMAC_SHA256');
    expect(check('twilio', { ...form, 'x-twilio-signature': sha256, 'x-twilio-webhooks-signature-settings': 'key=webhooks_sharedkey_1,algorithm=HMAC_SHA256' }, body, TOKEN, { url: URL_BASE }).ok).to.equal(true);
    expect(check('twilio', { ...form, 'x-twilio-signature': sha256 }, body, TOKEN, { url: URL_BASE }).ok).to.equal(false);
    const withPort = twilio.getExpectedTwilioSignature(TOKEN, 'https://mycompany.com:443/myapp', params);
    expect(check('twilio', { ...form, 'x-twilio-signature': withPort }, body, TOKEN, { url: URL_BASE }).ok).to.equal(true);
  });
});
