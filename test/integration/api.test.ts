// The management API over real HTTP, on a real redis-server, with the ingest and the dispatcher
// running beside it and a real receiver: every route and each of its error codes, the scopes,
// what the read scope must not see (seed 002), the audit log, and pagination that neither skips
// nor repeats a row while events keep arriving. Every answer is checked against the OpenAPI
// document (createApiClient with `check`), so the document stays true.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createApiClient, type ApiClient } from '../../src/api/client.ts';
import { OPENAPI } from '../../src/api/openapi.ts';
import { latestDeliveryId } from '../../src/store/listing.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'op-key-4f1d2a9c77e0b5d3-6a8e1f0b2c4d';
const READ = 'read-key-9e8d7c6b5a4f3e2d-1b3c5d7e9f0a';
const GITHUB_SECRET = 'api-test-github-secret';
const HEADER_TOKEN = 'Bearer dest-token-must-not-leak';
const fastRetry = (maxAttempts: number) => ({ maxAttempts, backoff: { initialSeconds: 0.01, maxSeconds: 0.05, multiplier: 2, jitter: 0 } });

type Json = Record<string, unknown> & { items?: Array<Record<string, unknown>>; next_cursor?: string | null };

describe('management API (real HTTP, real redis-server)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let r: Receiver;
  let api: ApiClient;
  let failN0 = false;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher', 'api'], config: { apiKeys: [`operator:${OP}`, `read:${READ}`] } });
    r = await startReceiver((_req, body) => (failN0 && body.toString().includes('"n":0') ? { status: 500, body: 'nope' } : { status: 200, body: 'ok' }));
    api = createApiClient({ url: app.url, key: OP, check: true });
    await app.putEndpoint(endpoint({ name: 'plain', spec: { source: { provider: 'none' }, destination: { url: r.url + '/plain?token=abc', headers: { authorization: HEADER_TOKEN } } } }));
    await app.putEndpoint(endpoint({ name: 'gh', spec: { source: { provider: 'github', secretRef: secretRef() }, destination: { url: r.url + '/gh' } }, secrets: [GITHUB_SECRET] }));
  });
  after(async function () {
    await app?.close();
    await r?.close();
    await redis?.stop();
  });

  const ingest = async (name: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await app.post(`/in/default/${name}`, body, headers);
    expect(res.status, JSON.stringify(res.json)).to.be.oneOf([200, 202]);
    return res.json.event_id as string;
  };
  const status = async (id: string) => (await api.get(`/api/v1/deliveries/${id}`)).json.status;
  const latest = async (epId: string, eventId: string) => (await latestDeliveryId(app.shared.redis, app.shared.keys, epId, eventId))!;

  it('serves an OpenAPI 3.1 document without a key, and refuses everything else without a valid one', async function () {
    const doc = await api.get('/api/v1/openapi.json', null);
    expect(doc.status).to.equal(200);
    expect(doc.json.openapi).to.equal('3.1.0');
    expect(Object.keys(doc.json.paths as object)).to.include.members(['/deliveries', '/deliveries/{id}/resend', '/replays/{id}', '/audit']);
    for (const key of [null, 'wrong-key']) {
      const res = await api.get('/api/v1/endpoints', key);
      expect(res.status).to.equal(401);
      expect(res.json).to.include({ code: 'unauthorized' });
    }
    const bearer = await api.request('GET', '/api/v1/endpoints', { key: null, headers: { authorization: `Bearer ${READ}` } });
    expect(bearer.status).to.equal(200);
    const raw = createApiClient({ url: app.url, key: OP });
    expect((await raw.get('/api/v1/nothing-here')).json).to.include({ code: 'not_found' });
    expect((await raw.request('PUT', '/api/v1/deliveries')).json).to.include({ code: 'method_not_allowed' });
  });

  it('lists, filters and shows deliveries with the seed-001 fields and their attempts', async function () {
    const ids: string[] = [];
    for (let n = 1; n <= 6; n++) ids.push(await ingest('plain', JSON.stringify({ n, type: n % 2 ? 'odd' : 'even' })));
    await waitFor(async () => (await status(await latest('default/plain', ids[5]!))) === 'DELIVERED');
    const page = (await api.get<Json>('/api/v1/deliveries?endpoint=default/plain&limit=4')).json;
    expect(page.items).to.have.length(4);
    expect(page.items!.map((d) => d.event_id)).to.deep.equal(ids.slice(2).reverse());
    const d = page.items![0]!;
    expect(d).to.include({ endpoint_id: 'default/plain', status: 'DELIVERED', attempts: 1, max_attempts: 85, resend_seq: 0, origin: 'ingest', response_status_code: 200, response_body: 'ok' });
    expect(d).to.not.have.any.keys('send_token', 'event_sid', 'last_attempt_ms', 'next_attempt_ms', 'failure_reason');
    const next = (await api.get<Json>(`/api/v1/deliveries?endpoint=default/plain&limit=4&cursor=${page.next_cursor}`)).json;
    expect(next.items!.map((x) => x.event_id)).to.deep.equal(ids.slice(0, 2).reverse());
    expect(next.next_cursor).to.equal(null);

    const one = (await api.get(`/api/v1/deliveries/${d.id}`)).json as Json & { attempt_history: Array<Record<string, unknown>> };
    expect(one.attempt_history).to.have.length(1);
    expect(one.attempt_history[0]).to.include({ attempt: 1, response_status_code: 200, classification: 'consumer_2xx' });

    const odd = (await api.get<Json>('/api/v1/deliveries?endpoint=default/plain&event_type=odd')).json;
    expect(odd.items!.map((x) => x.event_id)).to.deep.equal([ids[4], ids[2], ids[0]]);
    const byEvent = (await api.get<Json>(`/api/v1/deliveries?event_id=${ids[1]}`)).json;
    expect(byEvent.items!.map((x) => x.event_id)).to.deep.equal([ids[1]]);
    expect((await api.get<Json>('/api/v1/deliveries?event_id=no-such-event')).json.items).to.deep.equal([]);
    const delivered = (await api.get<Json>('/api/v1/deliveries?status=DELIVERED,FAILED&endpoint=default/plain&limit=200')).json;
    expect(delivered.items!.length).to.be.at.least(6);
    const created = Date.parse(d.created_at as string);
    const window = (await api.get<Json>(`/api/v1/deliveries?endpoint=default/plain&from=${new Date(created - 60_000).toISOString()}&to=${new Date(created + 60_000).toISOString()}`)).json;
    expect(window.items!.map((x) => x.id)).to.include(d.id);
    expect((await api.get<Json>(`/api/v1/deliveries?endpoint=default/plain&to=${new Date(created - 60_000).toISOString()}`)).json.items).to.deep.equal([]);
  });

  it('answers bad listing input with a 4xx that names the field', async function () {
    const cases: Array<[string, string, string]> = [
      ['/api/v1/deliveries?cursor=bm90LWEtY3Vyc29y', 'invalid_cursor', 'cursor'],
      ['/api/v1/deliveries?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'invalid_time_range', 'from'],
      ['/api/v1/deliveries?from=yesterday', 'invalid_parameter', 'from'],
      ['/api/v1/deliveries?status=LOST', 'invalid_parameter', 'status'],
      ['/api/v1/deliveries?limit=0', 'invalid_parameter', 'limit'],
      ['/api/v1/deliveries?colour=red', 'unknown_parameter', 'colour'],
      ['/api/v1/deliveries?endpoint=nonamespace', 'invalid_parameter', 'endpoint'],
      ['/api/v1/events', 'invalid_parameter', 'endpoint'],
      [`/api/v1/events?endpoint=default/plain&cursor=${Buffer.from(JSON.stringify({ k: 'deliveries', s: '1-0' })).toString('base64url')}`, 'invalid_cursor', 'cursor'],
    ];
    for (const [path, code, field] of cases) {
      const res = await api.get(path);
      expect(res.status, path).to.equal(400);
      expect(res.json, path).to.deep.include({ code, details: { field } });
    }
    expect((await api.get('/api/v1/deliveries/no-such-id')).json).to.include({ code: 'invalid_id' });
    expect((await api.get('/api/v1/deliveries/01900000-0000-7000-8000-000000000000')).json).to.include({ code: 'not_found' });
    expect((await api.get('/api/v1/events?endpoint=default/nope')).json).to.include({ code: 'endpoint_not_found' });
  });

  it('resends exactly as seed 001 says: 201 with a new delivery, 409 not_resendable, 409 endpoint_not_active, 404', async function () {
    const eventId = await ingest('plain', JSON.stringify({ n: 100 }));
    const source = await latest('default/plain', eventId);
    await waitFor(async () => (await status(source)) === 'DELIVERED');
    const before = (await api.get(`/api/v1/deliveries/${source}`)).json;
    const res = await api.post(`/api/v1/deliveries/${source}/resend`);
    expect(res.status).to.equal(201);
    expect(res.json).to.include({ event_id: eventId, status: 'PENDING', resend_seq: 1, attempts: 0, origin: 'resend' });
    expect(res.json.id).to.not.equal(source);
    await r.until((rs) => rs.some((x) => x.headers['x-redeliver-delivery-id'] === res.json.id));
    expect((await api.get(`/api/v1/deliveries/${source}`)).json).to.deep.equal(before);
    expect((await api.get<Json>(`/api/v1/deliveries?event_id=${eventId}`)).json.items!.map((x) => x.resend_seq)).to.deep.equal([1, 0]);

    expect((await api.post(`/api/v1/endpoints/default/plain/pause`)).json).to.include({ paused: true });
    const pendingEvent = await ingest('plain', JSON.stringify({ n: 101 }));
    const pending = await api.post(`/api/v1/deliveries/${await latest('default/plain', pendingEvent)}/resend`);
    expect(pending.status).to.equal(409);
    expect(pending.json).to.include({ code: 'not_resendable' });
    expect((await api.post(`/api/v1/endpoints/default/plain/resume`)).json).to.include({ paused: false });

    const ep = (await app.shared.registry.get('default/plain'))!;
    await app.putEndpoint({ ...ep, spec: { ...ep.spec, state: 'disabled' }, updatedAt: new Date().toISOString() });
    const inactive = await api.post(`/api/v1/deliveries/${source}/resend`);
    expect(inactive.status).to.equal(409);
    expect(inactive.json).to.include({ code: 'endpoint_not_active' });
    await app.putEndpoint({ ...ep, updatedAt: new Date().toISOString() });
    expect((await api.post('/api/v1/deliveries/nope/resend')).json).to.include({ code: 'invalid_id' });
    expect((await api.post('/api/v1/deliveries/01900000-0000-7000-8000-000000000000/resend')).json).to.include({ code: 'not_found' });
    expect((await api.post(`/api/v1/deliveries/${source}/resend`, undefined, READ)).json).to.include({ code: 'forbidden' });
  });

  it('shows an event as received minus signature headers; the body only to operators (seed 002)', async function () {
    const body = JSON.stringify({ action: 'opened', secret_customer_data: 'card ending 4242' });
    const sig = 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(body).digest('hex');
    const eventId = await ingest('gh', body, { 'x-github-event': 'pull_request', 'x-github-delivery': 'gh-1', 'x-hub-signature-256': sig, 'x-custom': 'kept' });
    const op = (await api.get(`/api/v1/events/${eventId}`)).json as Json & { headers: Record<string, string> };
    expect(op).to.include({ id: eventId, endpoint_id: 'default/gh', event_type: 'pull_request', provider_event_id: 'gh-1', body, body_encoding: 'utf8' });
    expect(op.headers).to.include({ 'x-custom': 'kept', 'x-github-event': 'pull_request' });
    expect(op.headers).to.not.have.any.keys('x-hub-signature-256');
    const read = await api.get(`/api/v1/events/${eventId}`, READ);
    expect(read.json).to.include({ body_redacted: true });
    expect(read.json).to.not.have.any.keys('body', 'body_encoding');
    expect(JSON.stringify(read.json)).to.not.include('4242').and.not.include(sig);

    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const binId = await ingest('plain', binary, { 'content-type': 'application/octet-stream' });
    expect((await api.get(`/api/v1/events/${binId}`)).json).to.include({ body: binary.toString('base64'), body_encoding: 'base64', body_size: 4 });
    expect((await api.get('/api/v1/events/no-such-event')).json).to.include({ code: 'invalid_id' });
    expect((await api.get('/api/v1/events/01900000-0000-7000-8000-000000000000')).json).to.include({ code: 'not_found' });

    const list = (await api.get<Json>('/api/v1/events?endpoint=default/gh')).json;
    expect(list.items![0]).to.include({ id: eventId, event_type: 'pull_request', body_size: Buffer.byteLength(body) });
    expect(JSON.stringify(list)).to.not.include('4242');
  });

  it('shows endpoints with live health and without secrets; pause and resume', async function () {
    const list = (await api.get<Json>('/api/v1/endpoints', READ)).json;
    expect(list.items!.map((e) => e.id)).to.include.members(['default/gh', 'default/plain']);
    const text = JSON.stringify(list);
    expect(text).to.not.include(GITHUB_SECRET).and.not.include(HEADER_TOKEN).and.not.include('token=abc');
    const plain = (await api.get('/api/v1/endpoints/default/plain')).json as Json & { health: Record<string, unknown>; spec: { destination: { url: string } } };
    expect(plain.spec.destination.url).to.include('token=abc'); // operators see the query string
    expect(JSON.stringify(plain)).to.not.include(HEADER_TOKEN);
    expect(plain.health).to.include({ backlog: 0, held: 0 });
    expect(plain.health.destination).to.include({ status: 'healthy', last_classification: 'consumer_2xx' });
    expect(plain.health.counters).to.include({ resent: 1 });
    expect(plain.health.last_delivered_at).to.be.a('string');
    expect((await api.get('/api/v1/endpoints/default/nope')).json).to.include({ code: 'endpoint_not_found' });
    expect((await api.post('/api/v1/endpoints/default/nope/pause')).json).to.include({ code: 'endpoint_not_found' });
    expect((await api.post('/api/v1/endpoints/default/plain/pause', undefined, READ)).status).to.equal(403);
  });

  it('unblocks a blocked partition with retry or skip; refuses bad bodies naming the field', async function () {
    failN0 = true;
    await app.putEndpoint(endpoint({ name: 'blocky', spec: { source: { provider: 'none' }, destination: { url: r.url + '/blocky' }, retry: fastRetry(2) } }));
    await ingest('blocky', JSON.stringify({ n: 0 }));
    await ingest('blocky', JSON.stringify({ n: 1 }));
    await waitFor(async () => Object.keys(((await api.get('/api/v1/endpoints/default/blocky')).json.health as { blocked: object }).blocked).length === 1);
    const health = (await api.get('/api/v1/endpoints/default/blocky')).json.health as { blocked: Record<string, string>; destination: object; backlog: number };
    expect(health.destination).to.include({ status: 'failing', last_classification: 'consumer_5xx' });
    expect(health.backlog).to.equal(2);
    const blockedId = health.blocked['0']!;

    const bad: Array<[unknown, string | undefined, number, string, string | undefined]> = [
      [undefined, '{"action": "retry",', 400, 'invalid_json', undefined],
      [undefined, '[1,2]', 400, 'invalid_json', undefined],
      [{ action: 'retry', force: true }, undefined, 400, 'unknown_field', 'force'],
      [{ action: 'redo' }, undefined, 400, 'invalid_field', 'action'],
      [{}, undefined, 400, 'invalid_field', 'action'],
      [{ action: 'retry', partition: 7 }, undefined, 400, 'invalid_field', 'partition'],
    ];
    for (const [body, raw, code, err, field] of bad) {
      const res = await api.request('POST', '/api/v1/endpoints/default/blocky/unblock', raw !== undefined ? { raw, headers: { 'content-type': 'application/json' } } : { body });
      expect(res.status, JSON.stringify(body ?? raw)).to.equal(code);
      expect(res.json).to.include({ code: err });
      if (field) expect(res.json.details).to.deep.equal({ field });
    }
    const xml = await api.request('POST', '/api/v1/endpoints/default/blocky/unblock', { raw: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).to.equal(415);
    expect((await api.post('/api/v1/endpoints/default/blocky/unblock', { action: 'skip' }, READ)).json).to.include({ code: 'forbidden' });

    failN0 = false;
    const res = await api.post('/api/v1/endpoints/default/blocky/unblock', { action: 'retry' });
    expect(res.status).to.equal(200);
    expect(res.json).to.include({ endpoint_id: 'default/blocky', partition: 0, action: 'retry', blocked_delivery_id: blockedId });
    const created = res.json.new_delivery as Record<string, unknown>;
    expect(created).to.include({ status: 'PENDING', resend_seq: 1, origin: 'unblock' });
    await r.until((rs) => rs.some((x) => x.headers['x-redeliver-delivery-id'] === created.id) && rs.some((x) => x.body.toString().includes('"n":1')));
    const again = await api.post('/api/v1/endpoints/default/blocky/unblock', { action: 'skip' });
    expect(again.status).to.equal(409);
    expect(again.json).to.include({ code: 'not_blocked' });
  });

  it('pages without skipping or repeating a row while events keep arriving (one endpoint, and across endpoints)', async function () {
    this.timeout(60_000);
    await app.putEndpoint(endpoint({ name: 'page-a', spec: { source: { provider: 'none' }, destination: { url: r.url + '/pa' }, paused: true } }));
    await app.putEndpoint(endpoint({ name: 'page-b', spec: { source: { provider: 'none' }, destination: { url: r.url + '/pb' }, paused: true } }));
    for (let n = 0; n < 150; n++) await ingest(n % 3 ? 'page-a' : 'page-b', JSON.stringify({ n }));
    const collect = async (filter: string) => {
      const seen: string[] = [];
      let cursor: string | null | undefined;
      do {
        const page = (await api.get<Json>(`/api/v1/deliveries?${filter}limit=7${cursor ? `&cursor=${cursor}` : ''}`)).json;
        seen.push(...page.items!.map((d) => d.id as string));
        cursor = page.next_cursor;
      } while (cursor);
      return seen;
    };
    const filters = ['endpoint=default/page-a&', ''];
    const before = await Promise.all(filters.map(collect));
    expect(before[0]).to.have.length(100);
    let inserting = true;
    let inserted = 0;
    const inserter = (async () => {
      for (let n = 0; inserting; n++, inserted++) await ingest(n % 2 ? 'page-a' : 'page-b', JSON.stringify({ late: n }));
    })();
    try {
      for (const [i, filter] of filters.entries()) {
        const seen = await collect(filter);
        expect(new Set(seen).size, 'no row repeated').to.equal(seen.length);
        expect(before[i]!.filter((id) => !seen.includes(id)), 'no row skipped').to.deep.equal([]);
      }
    } finally {
      inserting = false;
      await inserter;
    }
    expect(inserted, 'inserts ran while paging').to.be.greaterThan(5);
  });

  it('starts, shows and cancels replays; refuses bad specs naming the field', async function () {
    const nothing = await api.post('/api/v1/replays', { endpoint: 'default/plain', selector: { eventTypes: ['never.seen'] } });
    expect(nothing.status).to.equal(201);
    await waitFor(async () => (await api.get(`/api/v1/replays/${nothing.json.id}`)).json.phase === 'Succeeded');
    expect((await api.get(`/api/v1/replays/${nothing.json.id}`)).json).to.include({ matched: 0, enqueued: 0, delivered: 0, enqueue_done: true });

    const bad: Array<[unknown, number, string, string]> = [
      [{ endpoint: 'default/plain', selector: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } }, 400, 'invalid_time_range', 'selector.from'],
      [{ endpoint: 'default/plain', selector: { eventType: ['x'] } }, 400, 'unknown_field', 'selector.eventType'],
      [{ endpoint: 'default/plain', speed: 3 }, 400, 'unknown_field', 'speed'],
      [{ endpoint: 'default/plain', selector: { from: 'last tuesday' } }, 400, 'invalid_field', 'selector.from'],
      [{ endpoint: 'default/plain', selector: { statuses: ['LOST'] } }, 400, 'invalid_field', 'selector.statuses.0'],
      [{ endpoint: 'default/plain', rateLimit: { perSecond: 0 } }, 400, 'invalid_field', 'rateLimit.perSecond'],
      [{ endpoint: 'default/plain', destinationOverride: { url: 'ftp://example.test/x' } }, 400, 'invalid_field', 'destinationOverride.url'],
      [{ selector: {} }, 400, 'invalid_field', 'endpoint'],
      [{ endpoint: 'default/missing' }, 404, 'endpoint_not_found', 'endpoint'],
    ];
    for (const [body, code, err, field] of bad) {
      const res = await api.post('/api/v1/replays', body);
      expect(res.status, JSON.stringify(body)).to.equal(code);
      expect(res.json, JSON.stringify(body)).to.deep.include({ code: err, details: { field } });
    }
    expect((await api.post('/api/v1/replays', { endpoint: 'default/plain' }, READ)).json).to.include({ code: 'forbidden' });

    // A slow replay (1 per second) to cancel in flight.
    const slow = await api.post('/api/v1/replays', { endpoint: 'default/plain', rateLimit: { perSecond: 1 } });
    expect(slow.json).to.include({ phase: 'Running', pause_live: false });
    const cancelled = await api.request('DELETE', `/api/v1/replays/${slow.json.id}`);
    expect(cancelled.status).to.equal(200);
    expect(cancelled.json).to.include({ phase: 'Cancelled' });
    expect(cancelled.json.completed_at).to.be.a('string');
    expect((await api.request('DELETE', `/api/v1/replays/${slow.json.id}`)).json).to.include({ phase: 'Cancelled' });
    expect((await api.request('DELETE', `/api/v1/replays/${nothing.json.id}`)).json).to.include({ code: 'replay_finished' });
    expect((await api.request('DELETE', '/api/v1/replays/nope')).json).to.include({ code: 'invalid_id' });
    expect((await api.get('/api/v1/replays/nope')).json).to.include({ code: 'invalid_id' });
    expect((await api.get('/api/v1/replays/01900000-0000-7000-8000-000000000000')).json).to.include({ code: 'not_found' });

    const list = (await api.get<Json>('/api/v1/replays?endpoint=default/plain&limit=1')).json;
    expect(list.items!.map((x) => x.id)).to.deep.equal([slow.json.id]);
    const rest = (await api.get<Json>(`/api/v1/replays?endpoint=default/plain&limit=1&cursor=${list.next_cursor}`)).json;
    expect(rest.items!.map((x) => x.id)).to.deep.equal([nothing.json.id]);
  });

  it('records every write in the audit log by key id, never the key; only operators read it', async function () {
    expect((await api.get('/api/v1/audit', READ)).status).to.equal(403);
    const entries: Array<Record<string, unknown>> = [];
    let cursor: string | null | undefined;
    do {
      const page = (await api.get<Json>(`/api/v1/audit?limit=50${cursor ? `&cursor=${cursor}` : ''}`)).json;
      entries.push(...page.items!);
      cursor = page.next_cursor;
    } while (cursor);
    const actions = entries.map((e) => `${e.action}:${e.result}`);
    expect(actions).to.include.members(['delivery.resend:ok', 'delivery.resend:not_resendable', 'delivery.resend:endpoint_not_active', 'delivery.resend:forbidden',
      'endpoint.pause:ok', 'endpoint.resume:ok', 'endpoint.unblock:ok', 'endpoint.unblock:not_blocked', 'endpoint.unblock:unknown_field',
      'replay.create:ok', 'replay.create:invalid_time_range', 'replay.cancel:ok', 'replay.cancel:replay_finished']);
    const text = JSON.stringify(entries);
    expect(text).to.not.include(OP).and.not.include(READ);
    const resend = entries.find((e) => e.action === 'delivery.resend' && e.result === 'ok')!;
    expect(resend).to.include({ scope: 'operator', status: 201 });
    expect(resend.who).to.match(/^key_[0-9a-f]{12}$/);
    expect(entries.find((e) => e.result === 'forbidden')).to.include({ scope: 'read', status: 403 });
    expect(api.checked()).to.be.greaterThan(50);
  });

  it('documents an x-scope for every operation', function () {
    for (const [path, ops] of Object.entries(OPENAPI.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path !== '/openapi.json') expect((op as Record<string, unknown>)['x-scope'], `${method} ${path}`).to.be.oneOf(['read', 'operator']);
      }
    }
  });
});

describe('management API keys', function () {
  let redis: TestRedis;
  const apps: TestApp[] = [];
  let dir: string;

  before(async function () {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), 'redeliver-keys-'));
  });
  after(async function () {
    for (const a of apps) await a.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses every request with 401 when no key is configured (the OpenAPI document stays public)', async function () {
    const app = await startTestApp({ redisUrl: redis.url, roles: ['api'] });
    apps.push(app);
    const api = createApiClient({ url: app.url, key: 'anything', check: true });
    const res = await api.get('/api/v1/endpoints');
    expect(res.status).to.equal(401);
    expect(res.json.message).to.include('no keys configured');
    expect((await api.get('/api/v1/openapi.json', null)).status).to.equal(200);
  });

  it('reads keys from a mounted file (comments allowed) and picks up a rotated file', async function () {
    this.timeout(20_000);
    const file = join(dir, 'keys');
    writeFileSync(file, '# operators\noperator:file-op-key-1-0a1b2c3d4e5f6a7b8c9d\n\nread:file-read-key-1-5e6f7a8b9c0d1e2f3a4b\n');
    const app = await startTestApp({ redisUrl: redis.url, roles: ['api'], config: { apiKeysFile: file } });
    apps.push(app);
    const api = createApiClient({ url: app.url, check: true });
    expect((await api.get('/api/v1/audit', 'file-op-key-1-0a1b2c3d4e5f6a7b8c9d')).status).to.equal(200);
    expect((await api.get('/api/v1/audit', 'file-read-key-1-5e6f7a8b9c0d1e2f3a4b')).status).to.equal(403);
    writeFileSync(file, 'operator:file-op-key-2-9f8e7d6c5b4a39281706\n');
    await waitFor(async () => (await api.get('/api/v1/audit', 'file-op-key-2-9f8e7d6c5b4a39281706')).status === 200, 12_000);
    expect((await api.get('/api/v1/audit', 'file-op-key-1-0a1b2c3d4e5f6a7b8c9d')).status).to.equal(401);
  });
});
