// Replays of schemes without a signed timestamp, deduplicated by body digest (bodyDedupe), and the
// verification headers recorded with each event so the API hides exactly those, whatever the
// endpoint's configuration becomes later. Real ingest, real redis-server.
import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { sign as githubSign } from '@octokit/webhooks-methods';
import twilio from 'twilio';
import { eventView } from '../../src/api/views.ts';
import { getEvent } from '../../src/store/listing.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const dest = { url: 'http://127.0.0.1:9/hook' };
const SECRET = 'shared-secret';
const github = (name: string, extra: Record<string, unknown> = {}) =>
  endpoint({ name, spec: { source: { provider: 'github', secretRef: secretRef(), ...extra }, destination: dest }, secrets: [SECRET] });
const acme = (header: string) =>
  endpoint({ name: 'acme', spec: { source: { provider: 'hmac', secretRef: secretRef(), hmac: { header, algorithm: 'sha256', encoding: 'hex' } }, destination: dest }, secrets: [SECRET] });

describe('ingest: body-digest dedupe and recorded verification headers (real redis-server)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url });
    client = new Redis(redis.url);
    await app.putEndpoint(github('gh'));
    await app.putEndpoint(github('gh-always', { bodyDedupe: 'always' }));
    await app.putEndpoint(github('gh-off', { bodyDedupe: 'off' }));
    await app.putEndpoint(acme('X-Acme-Mac'));
    await app.putEndpoint(endpoint({ name: 'trello', spec: { source: { provider: 'trello', secretRef: secretRef(), publicUrl: 'https://hooks.example.com/trello' }, destination: dest }, secrets: [SECRET] }));
    await app.putEndpoint(endpoint({ name: 'twilio', spec: { source: { provider: 'twilio', secretRef: secretRef(), publicUrl: 'https://hooks.example.com/twilio' }, destination: dest }, secrets: [SECRET] }));
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await redis?.stop();
  });

  const count = (name: string) => client.xlen(app.shared.keys.endpoint(`default/${name}`).events);
  const ghPost = async (name: string, body: string, delivery?: string) =>
    app.post(`/in/default/${name}`, body, { 'x-hub-signature-256': await githubSign(SECRET, body), 'x-github-event': 'push', ...(delivery ? { 'x-github-delivery': delivery } : {}) });

  it('auto (default): a captured GitHub request re-sent without its delivery id is a duplicate of the original', async function () {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'a1' });
    const first = await ghPost('gh', body, 'd-1');
    expect(first.status).to.equal(202);
    const bare = await ghPost('gh', body);
    expect(bare).to.deep.equal({ status: 200, json: { event_id: first.json.event_id, duplicate: true } });
    // The residual risk of auto, documented: a made-up new id makes a copy new.
    expect((await ghPost('gh', body, 'd-forged')).status).to.equal(202);
    // Id-less events with different bodies are all kept.
    expect((await ghPost('gh', JSON.stringify({ after: 'a2' }))).status).to.equal(202);
    expect(await count('gh')).to.equal(3);
  });

  it('always: a new delivery id does not make a copy new; off: id-less copies are all stored', async function () {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'b1' });
    const first = await ghPost('gh-always', body, 'd-1');
    expect((await ghPost('gh-always', body, 'd-2')).json).to.deep.equal({ event_id: first.json.event_id, duplicate: true });
    expect((await ghPost('gh-off', body)).status).to.equal(202);
    expect((await ghPost('gh-off', body)).status).to.equal(202);
    expect(await count('gh-always')).to.equal(1);
    expect(await count('gh-off')).to.equal(2);
  });

  it('the read scope sees neither the signature header that verified an event after the endpoint renamed it, nor X-Trello-Webhook', async function () {
    const body = JSON.stringify({ type: 'order.paid', id: 'o1' });
    const res = await app.post('/in/default/acme', body, { 'x-acme-mac': createHmac('sha256', SECRET).update(body).digest('hex'), 'x-request-id': 'r1' });
    expect(res.status).to.equal(202);
    await app.putEndpoint(acme('X-Other-Mac'));
    const trelloBody = JSON.stringify({ action: { type: 'updateCard' } });
    const trello = await app.post('/in/default/trello', trelloBody, {
      'x-trello-webhook': createHmac('sha1', SECRET).update(trelloBody + 'https://hooks.example.com/trello').digest('base64'), 'x-request-id': 'r2',
    });
    expect(trello.status).to.equal(202);
    for (const [name, hidden] of [['acme', 'x-acme-mac'], ['trello', 'x-trello-webhook']] as const) {
      const k = app.shared.keys.endpoint(`default/${name}`);
      const [entry] = await client.xrange(k.events, '-', '+');
      const stored = await getEvent(app.shared.redis, app.shared.keys, `default/${name}`, entry![0]);
      expect(stored!.headers).to.have.property(hidden);
      const view = eventView(stored!, null, 'read', app.shared.endpoints.get(`default/${name}`)!.spec.source.hmac?.header) as { headers: Record<string, string> };
      expect(view.headers, name).to.not.have.property(hidden);
      expect(view.headers).to.have.property('x-request-id');
    }
  });

  it('Twilio behind a proxy: the signed URL is publicUrl with the query the request arrived with (bodySHA256 for JSON)', async function () {
    const body = JSON.stringify({ MessageSid: 'SM1', MessageStatus: 'delivered' });
    const query = `bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const signature = twilio.getExpectedTwilioSignature(SECRET, `https://hooks.example.com/twilio?${query}`, {});
    const ok = await app.post(`/in/default/twilio?${query}`, body, { 'x-twilio-signature': signature, 'i-twilio-idempotency-token': 'tw-1' });
    expect(ok.status, JSON.stringify(ok.json)).to.equal(202);
    const moved = await app.post('/in/default/twilio?bodySHA256=00', body, { 'x-twilio-signature': signature });
    expect([moved.status, moved.json.code]).to.deep.equal([401, 'signature_invalid']);
  });
});
