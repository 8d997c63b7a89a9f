// Ingest on a real redis-server: signed webhooks are stored atomically with their first delivery,
// duplicates create nothing, and every bad input gets a clear error and leaves Redis unchanged.
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { sign as githubSign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { Redis } from 'ioredis';
import { latestDeliveryId, locateEvent, scanEventMetas } from '../../src/store/listing.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const STRIPE_SECRET = 'whsec_test_stripe_secret';
const GITHUB_SECRET = 'github-secret';
const SHOPIFY_SECRET = 'shopify-secret';
const SW_SECRET = 'whsec_' + Buffer.from('standard-webhooks-secret-32bytes').toString('base64');
const stripe = new Stripe('sk_test_unused');

const dest = { url: 'http://127.0.0.1:9/hook' };

describe('ingest (real redis-server)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url });
    client = new Redis(redis.url);
    client.on('error', () => undefined);
    await app.putEndpoint(endpoint({ name: 'stripe', spec: { source: { provider: 'stripe', secretRef: secretRef() }, destination: dest }, secrets: [STRIPE_SECRET] }));
    await app.putEndpoint(endpoint({ name: 'github', spec: { source: { provider: 'github', secretRef: secretRef() }, destination: dest }, secrets: [GITHUB_SECRET] }));
    await app.putEndpoint(endpoint({ name: 'shopify', spec: { source: { provider: 'shopify', secretRef: secretRef() }, destination: dest, ordering: { mode: 'key', key: '/id', partitions: 4 } }, secrets: [SHOPIFY_SECRET] }));
    await app.putEndpoint(endpoint({ name: 'sw', spec: { source: { provider: 'standard-webhooks', secretRef: secretRef(2) }, destination: dest }, secrets: ['whsec_' + Buffer.from('old-secret-old-secret').toString('base64'), SW_SECRET] }));
    await app.putEndpoint(endpoint({ name: 'raw', spec: { source: { provider: 'none', maxBodyBytes: 1024 }, destination: dest } }));
    await app.putEndpoint(endpoint({ name: 'off', spec: { source: { provider: 'none' }, destination: dest, state: 'disabled' } }));
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await redis?.stop();
  });

  const prefix = () => app.shared.keys.prefix;
  const snapshot = async () => {
    const keys = (await client.keys(`${prefix()}:{*`)).sort();
    const lens = await Promise.all(keys.filter((k) => k.includes(':q:') || k.endsWith(':events')).map((k) => client.xlen(k)));
    return { keys, lens };
  };
  const stripeEvent = (id: string, type = 'invoice.paid') => JSON.stringify({ id, object: 'event', type, data: { object: { id: 'in_1' } } });

  it('stores a Stripe event signed by the stripe SDK with its first delivery, atomically', async function () {
    const payload = stripeEvent('evt_stripe_1');
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
    const res = await app.post('/in/default/stripe', payload, { 'stripe-signature': header });
    expect(res.status).to.equal(202);
    const eventId = res.json.event_id as string;
    const k = app.shared.keys.endpoint('default/stripe');
    const [entry] = await client.xrangeBuffer(k.events, '-', '+');
    const fields = new Map<string, Buffer>();
    for (let i = 0; i < entry![1].length; i += 2) fields.set(entry![1][i]!.toString(), entry![1][i + 1]!);
    expect(fields.get('id')!.toString()).to.equal(eventId);
    expect(fields.get('b')!.toString()).to.equal(payload);
    expect(fields.get('type')!.toString()).to.equal('invoice.paid');
    const [queued] = await client.xrange(k.queue(0), '-', '+');
    const delivery = await client.hgetall(k.delivery(queued![1][1]!));
    expect(delivery).to.include({ event_id: eventId, status: 'PENDING', attempts: '0', resend_seq: '0', max_attempts: '85', event_type: 'invoice.paid' });
    // Stored compact: no field the key already says (id, endpoint id), no ISO strings, no empty
    // values; the receive time in epoch ms, the same instant as the event's.
    expect(Object.keys(delivery).sort()).to.deep.equal(['attempts', 'created_ms', 'event_id', 'event_sid', 'event_type', 'max_attempts', 'partition', 'resend_seq', 'status']);
    expect(Number(delivery.created_ms)).to.equal(Date.parse(fields.get('at')!.toString()));
    // One index entry per event for its stream id and its latest delivery; no separate hash.
    expect(await client.hget(k.eventIndex, eventId)).to.equal(`${entry![0]}|${queued![1][1]}`);
    expect(await client.exists(k.latestDelivery)).to.equal(0);
  });

  it('reads event index entries of the earlier layout (latest delivery in a hash of its own)', async function () {
    const k = app.shared.keys.endpoint('default/stripe');
    const [first] = await client.xrange(k.events, '-', '+', 'COUNT', 1);
    const eventId = first![1][first![1].indexOf('id') + 1]!;
    const now = await client.hget(k.eventIndex, eventId);
    // As an earlier version wrote it: the stream id alone, the latest delivery beside it.
    await client.hset(k.eventIndex, eventId, first![0]);
    await client.hset(k.latestDelivery, eventId, 'earlier-delivery');
    try {
      expect(await latestDeliveryId(app.shared.redis, app.shared.keys, 'default/stripe', eventId)).to.equal('earlier-delivery');
      expect(await locateEvent(app.shared.redis, app.shared.keys, eventId, ['default/stripe'])).to.deep.equal({ endpointId: 'default/stripe', sid: first![0] });
      const [meta] = await scanEventMetas(app.shared.redis, app.shared.keys, 'default/stripe', 'fwd', '-', '+', 1);
      expect(meta).to.include({ id: eventId, latestDeliveryId: 'earlier-delivery' });
    } finally {
      await client.hset(k.eventIndex, eventId, now!);
      await client.del(k.latestDelivery);
    }
  });

  it('accepts GitHub, Shopify and Standard Webhooks signatures made by their own libraries', async function () {
    const gh = JSON.stringify({ action: 'opened', number: 1 });
    const r1 = await app.post('/in/default/github', gh, {
      'x-hub-signature-256': await githubSign(GITHUB_SECRET, gh), 'x-github-event': 'pull_request', 'x-github-delivery': 'gh-1',
    });
    expect(r1.status).to.equal(202);
    const shop = JSON.stringify({ id: 42, total: '10.00' });
    const r2 = await app.post('/in/default/shopify', shop, {
      'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(shop).digest('base64'), 'x-shopify-topic': 'orders/create', 'x-shopify-webhook-id': 'sh-1',
    });
    expect(r2.status).to.equal(202);
    const sw = JSON.stringify({ type: 'user.created', data: {} });
    const msgId = 'msg_1';
    const when = new Date();
    const sig = new Webhook(SW_SECRET).sign(msgId, when, sw);
    const r3 = await app.post('/in/default/sw', sw, { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(when.getTime() / 1000)), 'webhook-signature': sig });
    expect(r3.status).to.equal(202);
    const type = await client.hget(app.shared.keys.endpoint('default/github').delivery(
      (await client.xrange(app.shared.keys.endpoint('default/github').queue(0), '-', '+'))[0]![1][1]!), 'event_type');
    expect(type).to.equal('pull_request');
  });

  it('refuses tampered bodies, wrong secrets, stale timestamps and missing headers with 401, leaving Redis unchanged', async function () {
    const before = await snapshot();
    const payload = stripeEvent('evt_bad');
    const good = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['/in/default/stripe', payload.replace('in_1', 'in_2'), { 'stripe-signature': good }, 'signature_invalid'],
      ['/in/default/stripe', payload, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' }) }, 'signature_invalid'],
      ['/in/default/stripe', payload, { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 }) }, 'timestamp_out_of_tolerance'],
      ['/in/default/stripe', payload, {}, 'signature_missing'],
      ['/in/default/github', '{"a":1}', { 'x-hub-signature-256': await githubSign('nope', '{"a":1}') }, 'signature_invalid'],
      ['/in/default/shopify', '{"id":1}', {}, 'signature_missing'],
    ];
    for (const [path, body, headers, code] of cases) {
      const res = await app.post(path, body, headers);
      expect(res.status, `${path} ${code}`).to.equal(401);
      expect(res.json.code).to.equal(code);
    }
    expect(await snapshot()).to.deep.equal(before);
    const metrics = await app.shared.metrics.registry.getSingleMetricAsString('redeliver_ingest_signature_failures_total');
    expect(metrics).to.match(/endpoint="default\/stripe",reason="signature_invalid"} 2/);
  });

  it('turns 50 concurrent copies of one provider event into one event and one delivery', async function () {
    const payload = stripeEvent('evt_dupe_50', 'customer.created');
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
    const k = app.shared.keys.endpoint('default/stripe');
    const [evBefore, qBefore] = [await client.xlen(k.events), await client.xlen(k.queue(0))];
    const results = await Promise.all(Array.from({ length: 50 }, () => app.post('/in/default/stripe', payload, { 'stripe-signature': header })));
    expect(results.every((r) => r.status === 200 || r.status === 202)).to.equal(true);
    expect(results.filter((r) => r.status === 202)).to.have.length(1);
    expect(new Set(results.map((r) => r.json.event_id)).size).to.equal(1);
    expect(await client.xlen(k.events)).to.equal(evBefore + 1);
    expect(await client.xlen(k.queue(0))).to.equal(qBefore + 1);
  });

  it('answers bad input with a clear error and changes nothing', async function () {
    const before = await snapshot();
    const stripeSig = (p: string) => ({ 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: p, secret: STRIPE_SECRET }) });
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const cases: Array<{ name: string; path: string; body: string | Buffer; headers?: Record<string, string>; status: number; code: string }> = [
      { name: 'oversize', path: '/in/default/raw', body: 'x'.repeat(2048), status: 413, code: 'body_too_large' },
      { name: 'empty', path: '/in/default/raw', body: '', status: 400, code: 'body_empty' },
      { name: 'wrong content type', path: '/in/default/stripe', body: stripeEvent('evt_ct'), headers: { 'content-type': 'text/plain', ...stripeSig(stripeEvent('evt_ct')) }, status: 415, code: 'unsupported_media_type' },
      { name: 'not JSON', path: '/in/default/stripe', body: 'hello', headers: stripeSig('hello'), status: 400, code: 'body_not_json' },
      { name: 'unknown endpoint', path: '/in/default/nope', body: '{}', status: 404, code: 'endpoint_not_found' },
      { name: 'disabled endpoint', path: '/in/default/off', body: '{}', status: 410, code: 'endpoint_not_active' },
    ];
    for (const c of cases) {
      const res = await app.post(c.path, c.body, c.headers);
      expect(res.status, c.name).to.equal(c.status);
      expect(res.json.code, c.name).to.equal(c.code);
      expect(res.json.message, c.name).to.be.a('string').and.not.empty;
    }
    // Invalid UTF-8 on a JSON endpoint, with a valid signature over the raw bytes.
    const t = Math.floor(Date.now() / 1000);
    const sig = createHmac('sha256', STRIPE_SECRET).update(Buffer.concat([Buffer.from(`${t}.`), invalidUtf8])).digest('hex');
    const res = await app.post('/in/default/stripe', invalidUtf8, { 'stripe-signature': `t=${t},v1=${sig}` });
    expect(res.status).to.equal(400);
    expect(res.json.code).to.equal('body_not_utf8');
    expect(await snapshot()).to.deep.equal(before);
  });

  it('stores non-JSON and binary bodies byte for byte where the endpoint does not read them', async function () {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const res = await app.post('/in/default/raw', bytes, { 'content-type': 'application/octet-stream' });
    expect(res.status).to.equal(202);
    const k = app.shared.keys.endpoint('default/raw');
    const entries = await client.xrangeBuffer(k.events, '-', '+');
    const last = entries.at(-1)![1];
    const b = last[last.findIndex((f) => f.toString() === 'b') + 1]!;
    expect(b.equals(bytes)).to.equal(true);
  });

  it('answers 503 (never 2xx) while Redis is down', async function () {
    await redis.stop('SIGKILL').catch(() => undefined);
    const res = await app.post('/in/default/raw', 'hello', { 'content-type': 'text/plain' });
    expect(res.status).to.equal(503);
    expect(res.json.code).to.equal('storage_unavailable');
  });
});
