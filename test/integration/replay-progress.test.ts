// Replay progress reads against a total: the selection is counted before the first batch, so
// `matched` is the final number from the first status on, and `delivered` climbs towards it
// (before, `matched` climbed together with `delivered`, and `kubectl get replayrequests` showed
// no total). Real redis-server, ingest, dispatcher and receiver; the replay is paced so that
// its status can be read mid-way.
import { expect } from 'chai';
import { createApiClient, type ApiClient } from '../../src/api/client.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'replay-progress-operator-key';
const EVENTS = 60;

describe('replay progress (real redis-server, dispatcher and receiver)', function () {
  this.timeout(60_000);
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

  it('reports matched as the total selection while delivered is still climbing', async function () {
    const r = await receivers.start();
    const ep = endpoint({ name: 'progress', spec: { source: { provider: 'none' }, destination: { url: r.url }, ordering: { mode: 'strict' } } });
    await app.putEndpoint(ep);
    for (let i = 0; i < EVENTS; i++) expect((await app.post(`/in/${ep.id}`, JSON.stringify({ i }))).status).to.equal(202);
    await r.until((x) => x.length >= EVENTS);
    // Every other event: the selector's count differs from the range's size.
    const picked = await api.get(`/api/v1/deliveries?endpoint=${encodeURIComponent(ep.id)}&limit=${EVENTS}`);
    const eventIds = (picked.json.items as Array<{ event_id: string }>).map((d) => d.event_id).filter((_, i) => i % 2 === 0);
    const created = await api.post('/api/v1/replays', { endpoint: ep.id, selector: { eventIds }, rateLimit: { perSecond: 20 } });
    const id = created.json.id as string;

    const seen: Array<{ matched: number; delivered: number }> = [];
    await waitFor(async () => {
      const s = (await api.get(`/api/v1/replays/${id}`)).json;
      seen.push({ matched: s.matched as number, delivered: s.delivered as number });
      return s.phase === 'Succeeded';
    }, 30_000, 'replay to succeed');
    const midway = seen.filter((s) => s.delivered > 0 && s.delivered < eventIds.length);
    expect(midway.length, 'statuses read while the paced replay ran').to.be.greaterThan(2);
    for (const s of midway) expect(s.matched, JSON.stringify(s)).to.equal(eventIds.length);
    expect(seen.at(-1)).to.deep.equal({ matched: eventIds.length, delivered: eventIds.length });
  });
});
