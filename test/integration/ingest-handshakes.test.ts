// Provider handshakes answered by the gateway itself, with the exact requests the providers
// document: verified, answered, and neither stored nor delivered (unless the endpoint asks).
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const dest = { url: 'http://127.0.0.1:9/hook' };
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const ZOOM_SECRET = 'zoom-secret-token';
const TWITCH_SECRET = 'twitch-subscription-secret';
const META_APP_SECRET = 'meta-app-secret';
const META_VERIFY_TOKEN = 'meatyhamhock';
const discordKeys = generateKeyPairSync('ed25519');
const DISCORD_PUBLIC = discordKeys.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');

const hmacHex = (key: string, ...parts: string[]) => parts.reduce((m, p) => m.update(p), createHmac('sha256', key)).digest('hex');
const nowS = () => Math.floor(Date.now() / 1000);

// https://api.slack.com/events/url_verification
const SLACK_CHALLENGE = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
// https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
const ZOOM_VALIDATION = JSON.stringify({ payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' }, event_ts: 1654503849680, event: 'endpoint.url_validation' });
// https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
const TWITCH_CHALLENGE = JSON.stringify({
  challenge: 'pogchamp-kappa-360noscope-vohiyo',
  subscription: {
    id: 'f1c2a387-161a-49f9-a165-0f21d7a4e1c4', status: 'webhook_callback_verification_pending', type: 'channel.follow', version: '1', cost: 1,
    condition: { broadcaster_user_id: '12826' }, transport: { method: 'webhook', callback: 'https://example.com/webhooks/callback' }, created_at: '2019-11-16T10:11:12.634234626Z',
  },
});

const slackHeaders = (body: string, secret = SLACK_SECRET, ts = nowS()) => ({ 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${hmacHex(secret, `v0:${ts}:`, body)}` });
const zoomHeaders = (body: string, ts = nowS()) => ({ 'x-zm-request-timestamp': String(ts), 'x-zm-signature': `v0=${hmacHex(ZOOM_SECRET, `v0:${ts}:`, body)}` });
const twitchHeaders = (body: string, secret = TWITCH_SECRET) => {
  const id = 'e76c6bd4-55c9-4987-8304-da1588d8988b';
  const ts = new Date().toISOString();
  return {
    'twitch-eventsub-message-id': id, 'twitch-eventsub-message-timestamp': ts, 'twitch-eventsub-message-type': 'webhook_callback_verification',
    'twitch-eventsub-subscription-type': 'channel.follow', 'twitch-eventsub-message-signature': `sha256=${hmacHex(secret, id, ts, body)}`,
  };
};

describe('ingest: provider handshakes answered by the gateway (real redis-server)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url });
    client = new Redis(redis.url);
    const put = (name: string, provider: string, secrets: string[], extra: Record<string, unknown> = {}, keys = secrets.length) =>
      app.putEndpoint(endpoint({ name, spec: { source: { provider, secretRef: secretRef(keys), ...extra }, destination: dest }, secrets }));
    await put('slack', 'slack', [SLACK_SECRET]);
    await put('slack-delivered', 'slack', [SLACK_SECRET], { deliverHandshakes: true });
    await put('zoom', 'zoom', [ZOOM_SECRET]);
    await put('zoom-rotated', 'zoom', ['old-zoom-token', ZOOM_SECRET], { toleranceSeconds: 300 });
    await put('twitch', 'twitch', [TWITCH_SECRET]);
    await put('meta', 'meta', [META_APP_SECRET, META_VERIFY_TOKEN], { verifyTokenKey: 'k1' }, 1);
    await put('meta-no-token', 'meta', [META_APP_SECRET]);
    await put('discord', 'discord', [DISCORD_PUBLIC]);
    await put('trello', 'trello', ['trello-secret'], { publicUrl: 'https://hooks.example.com/trello' });
    await put('woo', 'woocommerce', ['woo-secret']);
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await redis?.stop();
  });

  const snapshot = async () => (await client.keys(`${app.shared.keys.prefix}:{*`)).sort();
  const raw = (path: string, init: RequestInit) => fetch(app.url + path, init);
  const events = (name: string) => client.xlen(app.shared.keys.endpoint(`default/${name}`).events);

  it('Slack url_verification: answers the challenge once the signature verified, stores nothing', async function () {
    const before = await snapshot();
    const res = await app.post('/in/default/slack', SLACK_CHALLENGE, slackHeaders(SLACK_CHALLENGE));
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.equal({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    const forged = await app.post('/in/default/slack', SLACK_CHALLENGE, slackHeaders(SLACK_CHALLENGE, 'not-the-secret'));
    expect([forged.status, forged.json.code]).to.deep.equal([401, 'signature_invalid']);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('Slack url_verification with deliverHandshakes: answered and also stored', async function () {
    const res = await app.post('/in/default/slack-delivered', SLACK_CHALLENGE, slackHeaders(SLACK_CHALLENGE));
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.equal({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    expect(await events('slack-delivered')).to.equal(1);
  });

  it('Zoom endpoint.url_validation: answers plainToken and its HMAC-SHA256 under the secret token that verified', async function () {
    const before = await snapshot();
    for (const name of ['zoom', 'zoom-rotated']) {
      const res = await app.post(`/in/default/${name}`, ZOOM_VALIDATION, zoomHeaders(ZOOM_VALIDATION));
      expect(res.status, name).to.equal(200);
      expect(res.json, name).to.deep.equal({ plainToken: 'qgg8vlvZRS6UYooatFL8Aw', encryptedToken: hmacHex(ZOOM_SECRET, 'qgg8vlvZRS6UYooatFL8Aw') });
    }
    const stale = await app.post('/in/default/zoom', ZOOM_VALIDATION, zoomHeaders(ZOOM_VALIDATION, nowS() - 3600));
    expect([stale.status, stale.json.code]).to.deep.equal([401, 'timestamp_out_of_tolerance']);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('Twitch webhook_callback_verification: answers the raw challenge as text/plain', async function () {
    const before = await snapshot();
    const res = await raw('/in/default/twitch', { method: 'POST', body: TWITCH_CHALLENGE, headers: { 'content-type': 'application/json', ...twitchHeaders(TWITCH_CHALLENGE) } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await res.text()).to.equal('pogchamp-kappa-360noscope-vohiyo');
    const forged = await app.post('/in/default/twitch', TWITCH_CHALLENGE, twitchHeaders(TWITCH_CHALLENGE, 'wrong'));
    expect([forged.status, forged.json.code]).to.deep.equal([401, 'signature_invalid']);
    expect(await snapshot()).to.deep.equal(before);
  });

  it("Meta's hub.challenge GET: answered when hub.verify_token matches, 403 otherwise", async function () {
    const before = await snapshot();
    // https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    const ok = await raw('/in/default/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock', { method: 'GET' });
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.equal('1158201444');
    const wrong = await raw('/in/default/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess', { method: 'GET' });
    expect(wrong.status).to.equal(403);
    expect(((await wrong.json()) as { code: string }).code).to.equal('handshake_refused');
    const unset = await raw('/in/default/meta-no-token?hub.mode=subscribe&hub.challenge=1&hub.verify_token=', { method: 'GET' });
    expect(unset.status).to.equal(403);
    const other = await raw('/in/default/slack', { method: 'GET' });
    expect(other.status).to.equal(405);
    expect(await snapshot()).to.deep.equal(before);
  });

  it('Discord PING: verified with Ed25519 and answered with {"type":1}', async function () {
    const body = JSON.stringify({ type: 1, id: '1', application_id: '2', token: 't', version: 1 });
    const ts = String(nowS());
    const signature = sign(null, Buffer.from(ts + body), discordKeys.privateKey).toString('hex');
    const res = await app.post('/in/default/discord', body, { 'x-signature-ed25519': signature, 'x-signature-timestamp': ts });
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.equal({ type: 1 });
    const bad = await app.post('/in/default/discord', body, { 'x-signature-ed25519': signature.replace(/^./, (c) => (c === '0' ? '1' : '0')), 'x-signature-timestamp': ts });
    expect([bad.status, bad.json.code]).to.deep.equal([401, 'signature_invalid']);
    expect(await events('discord')).to.equal(0);
  });

  it("Trello's HEAD and WooCommerce's unsigned ping get 200 and store nothing", async function () {
    const before = await snapshot();
    expect((await raw('/in/default/trello', { method: 'HEAD' })).status).to.equal(200);
    const ping = await raw('/in/default/woo', { method: 'POST', body: 'webhook_id=42', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(ping.status).to.equal(200);
    // Anything else unsigned is still refused.
    const other = await app.post('/in/default/woo', '{"id":1}', {});
    expect([other.status, other.json.code]).to.deep.equal([401, 'signature_missing']);
    expect(await snapshot()).to.deep.equal(before);
  });
});
