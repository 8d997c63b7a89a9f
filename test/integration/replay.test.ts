// Ordered replay through the management API, on a real redis-server with the real ingest,
// dispatcher and receivers: 5,000 events over 10 ordering keys replayed in their original order
// per key, each exactly once; pauseLive holding live traffic until the replay is done; the
// selector (statuses, event ids, time range), a replay that ends Failed, and the rate limit.
import { expect } from 'chai';
import { createApiClient, type ApiClient } from '../../src/api/client.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool, type Receipt } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'replay-test-operator-key-2f6b8d0e4a';
const EVENTS = 5_000;
const KEYS = 10;

/** Sends `bodies` to an ingest path, `concurrency` at a time; resolves with the event ids in send order. */
async function ingestAll(app: TestApp, path: string, bodies: string[], concurrency = 8): Promise<string[]> {
  const ids: string[] = new Array<string>(bodies.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const res = await app.post(path, bodies[i]!);
      if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.json)}`);
      ids[i] = res.json.event_id as string;
    }
  }));
  return ids;
}

/** Event id → ordering key, and each key's event ids in receive (stream) order. */
async function streamOrder(app: TestApp, endpointId: string): Promise<Map<string, string[]>> {
  const entries = await app.shared.redis.xrange(app.shared.keys.endpoint(endpointId).events, '-', '+');
  const byKey = new Map<string, string[]>();
  for (const [, flat] of entries) {
    const f: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    const key = (JSON.parse(f.b!) as { k: string }).k;
    byKey.set(key, [...(byKey.get(key) ?? []), f.id!]);
  }
  return byKey;
}

/** Per key, the event ids (webhook-id) in the order the receipts arrived. */
function receivedOrder(receipts: Receipt[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const x of receipts) {
    const key = (JSON.parse(x.body.toString()) as { k: string }).k;
    byKey.set(key, [...(byKey.get(key) ?? []), x.headers['webhook-id'] as string]);
  }
  return byKey;
}

describe('ordered replay (real redis-server, real dispatcher and receivers)', function () {
  this.timeout(180_000);
  let redis: TestRedis;
  let app: TestApp;
  let api: ApiClient;
  const receivers = receiverPool();

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher', 'api'], config: { apiKeys: [`operator:${OP}`] } });
    api = createApiClient({ url: app.url, key: OP, check: true });
  });
  after(async function () {
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
  });
  const receiver = receivers.start;
  const replayDone = async (id: string) => {
    await waitFor(async () => ['Succeeded', 'Failed', 'Cancelled'].includes((await api.get(`/api/v1/replays/${id}`)).json.phase as string), 120_000, `replay ${id} to end`);
    return (await api.get(`/api/v1/replays/${id}`)).json;
  };
  const origins = (endpointId: string, ids: string[]) =>
    Promise.all(ids.map((id) => app.shared.redis.hget(app.shared.keys.endpoint(endpointId).delivery(id), 'origin')));

  it(`replays ${EVENTS} events over ${KEYS} keys in their original order per key, each exactly once`, async function () {
    const live = await receiver();
    const target = await receiver();
    const ep = endpoint({ name: 'keyed', spec: { source: { provider: 'none' }, destination: { url: live.url }, ordering: { mode: 'key', key: '/k', partitions: 4 } } });
    await app.putEndpoint(ep);
    const bodies = Array.from({ length: EVENTS }, (_, n) => JSON.stringify({ k: `key-${n % KEYS}`, n }));
    await ingestAll(app, '/in/default/keyed', bodies);
    await live.until((rs) => rs.length >= EVENTS, 120_000);

    const created = await api.post('/api/v1/replays', { endpoint: ep.id, destinationOverride: { url: target.url + '/replayed' } });
    expect(created.status).to.equal(201);
    const replayId = created.json.id as string;
    const done = await replayDone(replayId);
    expect(done).to.include({ phase: 'Succeeded', matched: EVENTS, enqueued: EVENTS, delivered: EVENTS, failed: 0, skipped: 0 });
    await target.until((rs) => rs.length >= EVENTS);
    await new Promise((r) => setTimeout(r, 200)); // nothing more may arrive
    expect(target.receipts).to.have.length(EVENTS);
    const webhookIds = target.receipts.map((x) => x.headers['webhook-id'] as string);
    expect(new Set(webhookIds).size).to.equal(EVENTS);
    const deliveryIds = target.receipts.map((x) => x.headers['x-redeliver-delivery-id'] as string);
    expect(new Set(await origins(ep.id, deliveryIds))).to.deep.equal(new Set([`replay:${replayId}`]));
    expect(new Set(target.receipts.map((x) => x.headers['x-redeliver-resend-seq']))).to.deep.equal(new Set(['1']));
    expect(receivedOrder(target.receipts)).to.deep.equal(await streamOrder(app, ep.id));
    expect(live.receipts).to.have.length(EVENTS); // the override kept the replay away from the live destination
  });

  it('pauseLive: live events received during the replay are delivered after the replayed ones, in order', async function () {
    const r = await receiver();
    const ep = endpoint({ name: 'held', spec: { source: { provider: 'none' }, destination: { url: r.url }, ordering: { mode: 'key', key: '/k', partitions: 4 } } });
    await app.putEndpoint(ep);
    await ingestAll(app, '/in/default/held', Array.from({ length: 300 }, (_, n) => JSON.stringify({ k: `key-${n % 5}`, n })));
    await r.until((rs) => rs.length >= 300);
    const created = await api.post('/api/v1/replays', { endpoint: ep.id, pauseLive: true, rateLimit: { perSecond: 200 } });
    expect(created.json).to.include({ pause_live: true, phase: 'Running' });
    const liveIds: string[] = [];
    for (let i = 0; i < 20; i++) liveIds.push((await app.post('/in/default/held', JSON.stringify({ k: `key-${i % 5}`, live: i }))).json.event_id as string);
    const during = (await api.get(`/api/v1/endpoints/default/held`)).json.health as { held: number };
    if ((await api.get(`/api/v1/replays/${created.json.id}`)).json.phase === 'Running') expect(during.held).to.equal(20);
    const done = await replayDone(created.json.id as string);
    expect(done).to.include({ phase: 'Succeeded', matched: 300, delivered: 300 });
    await r.until((rs) => rs.length >= 620);
    const after = r.receipts.slice(300);
    const firstLive = after.findIndex((x) => liveIds.includes(x.headers['webhook-id'] as string));
    expect(firstLive, 'every replayed delivery arrived before the first live one').to.equal(300);
    // In order within each ordering key (keys on different partitions may interleave).
    const live = after.slice(300).map((x) => JSON.parse(x.body.toString()) as { k: string; live: number });
    expect(live.map((x) => x.live).sort((a, b) => a - b)).to.deep.equal([...Array(20).keys()]);
    for (let k = 0; k < 5; k++) {
      const seq = live.filter((x) => x.k === `key-${k}`).map((x) => x.live);
      expect(seq, `key-${k}`).to.deep.equal([...seq].sort((a, b) => a - b));
    }
    const health = (await api.get(`/api/v1/endpoints/default/held`)).json.health as { held: number; backlog: number };
    expect(health).to.include({ held: 0, backlog: 0 });
    expect(await app.shared.redis.hget(app.shared.keys.endpoint(ep.id).endpoint, 'hold_live')).to.equal(null);
  });

  it('selects by status, event id and time range; ends Failed when replayed deliveries fail; paces at rateLimit', async function () {
    let fixed = false;
    const r = await receiver((_req, body) => (!fixed && body.toString().includes('"bad":true') ? { status: 500 } : { status: 200 }));
    const ep = endpoint({ name: 'picky', spec: { source: { provider: 'none' }, destination: { url: r.url }, ordering: { mode: 'none', concurrency: 1 },
      retry: { maxAttempts: 1, backoff: { initialSeconds: 0.01, maxSeconds: 0.05, multiplier: 2, jitter: 0 }, onExhausted: 'deadletter' } } });
    await app.putEndpoint(ep);
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) {
      ids.push((await app.post('/in/default/picky', JSON.stringify({ k: 'x', n, bad: n === 3 || n === 7 }))).json.event_id as string);
      await new Promise((ok) => setTimeout(ok, 3)); // distinct receive times
    }
    await r.until((rs) => rs.length >= 30);
    const statusOf = async (eventId: string) => {
      const list = (await api.get(`/api/v1/deliveries?event_id=${eventId}&limit=1`)).json as { items: Array<{ status: string }> };
      return list.items[0]?.status;
    };
    await waitFor(async () => (await statusOf(ids[7]!)) === 'FAILED' && (await statusOf(ids[29]!)) === 'DELIVERED', 60_000);

    const failedAgain = await replayDone((await api.post('/api/v1/replays', { endpoint: ep.id, selector: { statuses: ['FAILED'] } })).json.id as string);
    expect(failedAgain).to.include({ phase: 'Failed', matched: 2, enqueued: 2, failed: 2, delivered: 0 });
    expect(failedAgain.message).to.include('2 of 2 replayed deliveries ended FAILED');

    fixed = true;
    const retried = await replayDone((await api.post('/api/v1/replays', { endpoint: ep.id, selector: { statuses: ['FAILED'], eventIds: [ids[7]!] } })).json.id as string);
    expect(retried).to.include({ phase: 'Succeeded', matched: 1, delivered: 1 });

    const events = (await api.get(`/api/v1/events?endpoint=${ep.id}&limit=200`)).json as { items: Array<{ id: string; received_at: string }> };
    const at = (id: string) => events.items.find((e) => e.id === id)!.received_at;
    const ranged = await replayDone((await api.post('/api/v1/replays', { endpoint: ep.id, selector: { from: at(ids[10]!), to: at(ids[20]!) } })).json.id as string);
    expect(ranged).to.include({ phase: 'Succeeded', matched: 10 });

    const before = r.receipts.length;
    const paced = await api.post('/api/v1/replays', { endpoint: ep.id, selector: { eventIds: ids.slice(0, 20) }, rateLimit: { perSecond: 20 } });
    const started = Date.now();
    expect(await replayDone(paced.json.id as string)).to.include({ phase: 'Succeeded', matched: 20 });
    const got = r.receipts.slice(before);
    expect(got.map((x) => x.headers['webhook-id'])).to.deep.equal(ids.slice(0, 20));
    expect(got.at(-1)!.at - started, '20 events at 20/s take about a second').to.be.at.least(800);
  });
});
