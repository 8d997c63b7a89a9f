// What the management API gained for the dashboard, over real HTTP on a real redis-server with
// the ingest and dispatcher running and a real receiver: ids checked at the edge, event-id hints,
// lookup by the provider's event id, the replay preview count, endpoint paging, sessions (a key
// removed from the key file ends its sessions), team-scoped keys and the live stream (SSE).
// Answers are checked against the OpenAPI document.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createApiClient, type ApiClient } from '../../src/api/client.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'dash-op-key-1a2b3c4d5e6f7a8b9c0d1e2f';
const TEAM = 'dash-team-key-9f8e7d6c5b4a39281706';
const TEAM_B = 'dash-team-b-key-4c5d6e7f8a9b0c1d2e3f';
const FILE_OP = 'dash-file-op-key-0f1e2d3c4b5a69788796';
type Json = Record<string, unknown> & { items?: Array<Record<string, unknown>>; next_cursor?: string | null };

describe('management API for the dashboard (real HTTP, real redis-server)', function () {
  this.timeout(60_000);
  const receivers = receiverPool();
  let redis: TestRedis;
  let app: TestApp;
  let api: ApiClient;
  let dir: string;
  let keysFile: string;
  let failing = false;

  before(async function () {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), 'rd-dash-'));
    keysFile = join(dir, 'keys');
    writeFileSync(keysFile, `operator:${FILE_OP}\n`);
    const r = await receivers.start(() => (failing ? { status: 500 } : { status: 200 }));
    app = await startTestApp({
      redisUrl: redis.url, roles: ['ingest', 'dispatcher', 'api'],
      config: { apiKeys: [`operator:${OP}`, `operator@team-a:${TEAM}`, `read@team-b,team-c:${TEAM_B}`], apiKeysFile: keysFile },
    });
    api = createApiClient({ url: app.url, key: OP, check: true });
    const retry = { maxAttempts: 1, backoff: { initialSeconds: 0.01, maxSeconds: 0.02, multiplier: 2, jitter: 0 }, onExhausted: 'deadletter' };
    for (const [ns, name] of [['team-a', 'one'], ['team-a', 'two'], ['team-b', 'three']] as const) {
      await app.putEndpoint(endpoint({ name, namespace: ns, spec: { source: { provider: 'none', eventIdFrom: { jsonPointer: '/id' } }, destination: { url: `${r.url}/${name}` }, retry } }));
    }
  });
  after(async function () {
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ingest = async (ep: string, body: object) => {
    const res = await app.post(`/in/${ep}`, JSON.stringify(body));
    expect(res.status, JSON.stringify(res.json)).to.be.oneOf([200, 202]);
    return res.json.event_id as string;
  };
  const deliveriesOf = async (eventId: string) => (await api.get<Json>(`/api/v1/deliveries?event_id=${eventId}`)).json.items!;

  it('answers malformed ids 404 invalid_id before Redis is asked (no WRONGTYPE 500)', async function () {
    const eventId = await ingest('team-a/one', { id: 'p-1', n: 1 });
    const [d] = await deliveriesOf(eventId);
    for (const path of [`/api/v1/deliveries/${String(d!.id)}:attempts`, '/api/v1/deliveries/x%3Aattempts', `/api/v1/events/${eventId}:attempts`, '/api/v1/replays/r:1']) {
      const res = await api.get(path);
      expect(res.status, path).to.equal(404);
      expect(res.json.code).to.equal('invalid_id');
    }
    const resend = await api.post(`/api/v1/deliveries/${String(d!.id)}:attempts/resend`);
    expect(resend.status).to.equal(404);
    expect(resend.json.code).to.equal('invalid_id');
  });

  it('answers an event id where a delivery id belongs with a 404 naming its deliveries', async function () {
    const eventId = await ingest('team-a/one', { id: 'p-2', n: 2 });
    await waitFor(async () => (await deliveriesOf(eventId))[0]?.status === 'DELIVERED');
    const [d] = await deliveriesOf(eventId);
    for (const res of [await api.get(`/api/v1/deliveries/${eventId}`), await api.post(`/api/v1/deliveries/${eventId}/resend`)]) {
      expect(res.status).to.equal(404);
      expect(res.json.message).to.include('is an event id').and.include(String(d!.id));
      expect(res.json.details).to.deep.include({ event_id: eventId, delivery_ids: [d!.id] });
    }
  });

  it('finds deliveries by the provider\'s event id, in the listing and the any-id lookup', async function () {
    const eventId = await ingest('team-a/two', { id: 'evt_provider_42', n: 3 });
    const listed = (await api.get<Json>('/api/v1/deliveries?provider_event_id=evt_provider_42')).json.items!;
    expect(listed.map((d) => d.event_id)).to.deep.equal([eventId]);
    expect((await api.get<Json>('/api/v1/deliveries?provider_event_id=evt_nothing')).json.items).to.deep.equal([]);
    expect((await api.get<Json>(`/api/v1/deliveries?provider_event_id=evt_provider_42&event_id=${eventId}`)).json.items).to.have.length(1);
    const byPid = await api.get(`/api/v1/lookup/evt_provider_42`);
    expect(byPid.json).to.include({ kind: 'provider_event', endpoint_id: 'team-a/two', event_id: eventId, delivery_id: listed[0]!.id });
    expect((await api.get(`/api/v1/lookup/${eventId}`)).json).to.include({ kind: 'event' });
    expect((await api.get(`/api/v1/lookup/${String(listed[0]!.id)}`)).json).to.include({ kind: 'delivery', endpoint_id: 'team-a/two' });
    expect((await api.get('/api/v1/lookup/evt_nowhere')).status).to.equal(404);
    // Past the dedupe window the event is still found (from the events stream).
    await app.shared.redis.del(app.shared.keys.endpoint('team-a/two').dedupe('evt_provider_42'));
    expect((await api.get('/api/v1/lookup/evt_provider_42')).json).to.include({ event_id: eventId });
  });

  it('counts what a replay would match on the server before anything starts', async function () {
    failing = true;
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await ingest('team-b/three', { id: `c-${n}`, n, type: n % 2 ? 'odd' : 'even' }));
    await waitFor(async () => (await Promise.all(ids.map(async (id) => (await deliveriesOf(id))[0]?.status))).every((s) => s === 'FAILED'), 15_000, 'all failed');
    failing = false;
    const count = async (selector: object) => (await api.post<Json>('/api/v1/replays/preview', { endpoint: 'team-b/three', selector })).json;
    expect(await count({ statuses: ['FAILED'] })).to.deep.equal({ endpoint: 'team-b/three', matched: 5, scanned: 5, complete: true });
    expect((await count({ statuses: ['DELIVERED'] })).matched).to.equal(0);
    expect((await count({ statuses: ['FAILED'], to: '2000-01-01T00:00:00Z' })).matched).to.equal(0);
    expect((await api.get<Json>('/api/v1/replays')).json.items).to.have.length(0); // nothing started
    expect((await api.post('/api/v1/replays/preview', { endpoint: 'team-b/three', selector: { statuses: ['NOPE'] } })).status).to.equal(400);
  });

  it('pages the endpoint listing by id', async function () {
    const first = (await api.get<Json>('/api/v1/endpoints?limit=2')).json;
    expect(first.items!.map((e) => e.id)).to.deep.equal(['team-a/one', 'team-a/two']);
    const rest = (await api.get<Json>(`/api/v1/endpoints?limit=2&cursor=${first.next_cursor}`)).json;
    expect(rest.items!.map((e) => e.id)).to.deep.equal(['team-b/three']);
    expect(rest.next_cursor).to.equal(null);
  });

  it('limits team-scoped keys (two teams) to their namespaces; their writes are audited with the endpoint', async function () {
    const team = createApiClient({ url: app.url, key: TEAM, check: true });
    expect((await team.get<Json>('/api/v1/endpoints')).json.items!.map((e) => e.id)).to.deep.equal(['team-a/one', 'team-a/two']);
    const bId = (await deliveriesOf(await ingest('team-b/three', { id: 'b-x', n: 9 })))[0]!.id as string;
    expect((await team.get(`/api/v1/deliveries/${bId}`)).status).to.equal(404);
    expect((await team.post(`/api/v1/deliveries/${bId}/resend`)).status).to.equal(404);
    expect((await team.get('/api/v1/deliveries?endpoint=team-b/three')).json.code).to.equal('endpoint_not_found');
    expect((await team.get<Json>('/api/v1/deliveries')).json.items!.every((d) => String(d.endpoint_id).startsWith('team-a/'))).to.equal(true);
    expect((await team.post('/api/v1/endpoints/team-b/three/pause')).status).to.equal(404);
    expect((await team.post('/api/v1/replays', { endpoint: 'team-b/three' })).status).to.equal(404);
    expect((await team.post('/api/v1/endpoints/team-a/one/pause')).status).to.equal(200);
    expect((await team.post('/api/v1/endpoints/team-a/one/resume')).status).to.equal(200);
    const audit = (await team.get<Json>('/api/v1/audit')).json.items!;
    expect(audit.map((e) => e.action)).to.include.members(['endpoint.pause', 'endpoint.resume']);
    expect(audit.every((e) => String((e.detail as { endpoint?: string }).endpoint).startsWith('team-a/'))).to.equal(true);
    // The other team's key: the mirror image (and read scope: no writes at all).
    const teamB = createApiClient({ url: app.url, key: TEAM_B, check: true });
    expect((await teamB.get<Json>('/api/v1/endpoints')).json.items!.map((e) => e.id)).to.deep.equal(['team-b/three']);
    expect((await teamB.get(`/api/v1/deliveries/${bId}`)).status).to.equal(200);
    expect((await teamB.get<Json>('/api/v1/deliveries')).json.items!.every((d) => d.endpoint_id === 'team-b/three')).to.equal(true);
    expect((await teamB.get('/api/v1/endpoints/team-a/one')).status).to.equal(404);
    expect((await teamB.post(`/api/v1/deliveries/${bId}/resend`)).status).to.equal(403);
    expect((await teamB.get<Json>('/api/v1/session')).json).to.deep.include({ scope: 'read', namespaces: ['team-b', 'team-c'] });
    const all = (await api.get<Json>('/api/v1/audit')).json.items!;
    expect(all.some((e) => e.target === 'endpoint/team-b/three' && e.result === 'endpoint_not_found')).to.equal(true);
  });

  it('signs in with a key (HttpOnly cookie), and a key removed from the key file ends its sessions', async function () {
    const res = await fetch(`${app.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: app.url }, body: JSON.stringify({ key: FILE_OP }) });
    expect(res.status).to.equal(201);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).to.match(/^rd_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = setCookie.split(';')[0]!;
    const who = await api.request('GET', '/api/v1/session', { key: null, headers: { cookie } });
    expect(who.json).to.include({ scope: 'operator', namespaces: null });
    expect((await api.request('POST', '/api/v1/endpoints/team-a/one/pause', { key: null, headers: { cookie, origin: app.url } })).status).to.equal(200);
    expect((await api.request('POST', '/api/v1/endpoints/team-a/one/resume', { key: null, headers: { cookie, origin: 'http://other.example' } })).status).to.equal(403);
    const viaProxy = await fetch(`${app.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: `https://${new URL(app.url).host}`, 'x-forwarded-proto': 'https' }, body: JSON.stringify({ key: FILE_OP }) });
    expect(viaProxy.headers.get('set-cookie')).to.match(/; Secure$/);
    const bad = await fetch(`${app.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'wrong-wrong-wrong-wrong-wrong-wrong-1' }) });
    expect(await bad.json()).to.include({ code: 'invalid_key' });
    writeFileSync(keysFile, `operator:${OP}x-replacement-key-000\n`);
    await waitFor(async () => (await api.request('GET', '/api/v1/session', { key: null, headers: { cookie } })).status === 401, 12_000, 'session ended');
    const audit = (await api.get<Json>('/api/v1/audit?limit=200')).json.items!;
    const viaDashboard = audit.find((e) => e.action === 'endpoint.pause' && (e.detail as { via?: string }).via === 'dashboard');
    expect(viaDashboard?.who).to.match(/^key_/);
  });

  it('serves the dashboard with a strict CSP and caching headers, its libraries from node_modules', async function () {
    const page = await fetch(`${app.url}/`);
    expect(page.status).to.equal(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).to.match(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/).and.not.include('unsafe-inline').and.not.include('unsafe-eval');
    expect(csp).to.include("frame-ancestors 'none'");
    const html = await page.text();
    const importMap = /<script type="importmap">(.*?)<\/script>/s.exec(html)![1]!;
    const { createHash } = await import('node:crypto');
    expect(csp).to.include(`'sha256-${createHash('sha256').update(importMap).digest('base64')}'`);
    const imports = (JSON.parse(importMap) as { imports: Record<string, string> }).imports;
    expect(Object.keys(imports)).to.include.members(['preact', 'preact/hooks', 'htm', 'uplot']);
    const lib = await fetch(app.url + imports.preact!);
    expect(lib.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(lib.headers.get('content-type')).to.match(/^text\/javascript/);
    const own = await fetch(`${app.url}/ui/app.js`);
    expect(own.headers.get('cache-control')).to.equal('no-cache');
    const again = await fetch(`${app.url}/ui/app.js`, { headers: { 'if-none-match': own.headers.get('etag')! } });
    expect(again.status).to.equal(304);
    expect((await fetch(`${app.url}/ui/../package.json`)).status).to.equal(404);
    expect((await fetch(`${app.url}/ui/nothing.js`)).status).to.equal(404);
    expect((await fetch(`${app.url}/metrics`)).status).to.equal(200); // still the ops app
  });

  it('streams changes as Server-Sent Events, only of the endpoints the key may see', async function () {
    const ctrl = new AbortController();
    const res = await fetch(`${app.url}/api/v1/live`, { headers: { 'x-api-key': TEAM }, signal: ctrl.signal });
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const read = async (until: (t: string) => boolean) => {
      while (!until(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    try {
      await read((t) => t.includes('event: hello'));
      await ingest('team-b/three', { id: 'sse-b', n: 1 });
      await ingest('team-a/two', { id: 'sse-a', n: 1 });
      await read((t) => t.includes('"endpoint_id":"team-a/two"'));
      expect(text).to.not.include('team-b/three');
      expect(app.shared.redis.status).to.equal('ready');
    } finally {
      ctrl.abort();
    }
  });
});
