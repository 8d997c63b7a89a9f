// A replay survives its API process being killed: the real CLI (`node src/main.ts api`) drives
// the replay as a child process, is killed with SIGKILL in the middle of enqueueing, and is
// started again; the dispatcher runs in this process meanwhile. Every selected event must be
// delivered exactly once BY THE REPLAY (receipts whose delivery has origin replay:<id>), in
// receive order per key: the persisted cursor moves atomically with each batch, so the restarted
// process neither repeats nor skips an event.
import { expect } from 'chai';
import { createApiClient } from '../../src/api/client.ts';
import { endpoint } from '../support/fixtures.ts';
import { startReceiver, type Receipt, type Receiver } from '../support/receiver.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../support/app.ts';
import { killAllRoles, startRole, type RoleProcess } from '../support/role-process.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'crash-test-operator-key';
const EVENTS = 5_000;
const KEYS = 10;
const START_TIMEOUT_MS = 60_000;

type ApiProcess = RoleProcess;

/** Spawns `node src/main.ts api`; resolves once it logs 'redeliver started'. */
const startApi = (env: Record<string, string>) => startRole('api', env, { timeoutMs: START_TIMEOUT_MS });

function byKey(receipts: Receipt[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const x of receipts) {
    const k = (JSON.parse(x.body.toString()) as { k: string }).k;
    out.set(k, [...(out.get(k) ?? []), x.headers['webhook-id'] as string]);
  }
  return out;
}

describe('replay across a SIGKILL of the API process (real CLI, real redis-server)', function () {
  this.timeout(240_000);
  let redis: TestRedis;
  let dataPlane: TestApp;
  let live: Receiver;
  let target: Receiver;
  let api: ApiProcess | undefined;
  const prefix = randomPrefix();

  before(async function () {
    redis = await startTestRedis();
    dataPlane = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'], prefix });
    live = await startReceiver();
    target = await startReceiver();
  });
  after(async function () {
    killAllRoles();
    await api?.exited;
    await dataPlane?.close();
    await live?.close();
    await target?.close();
    await redis?.stop();
  });

  it(`delivers each of ${EVENTS} selected events exactly once, in order per key, although the API process was killed mid-replay`, async function () {
    const ep = endpoint({ name: 'crashy', spec: { source: { provider: 'none' }, destination: { url: live.url }, ordering: { mode: 'key', key: '/k', partitions: 4 } } });
    await dataPlane.putEndpoint(ep);
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let n = next++; n < EVENTS; n = next++) {
        const res = await dataPlane.post('/in/default/crashy', JSON.stringify({ k: `key-${n % KEYS}`, n }));
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
      }
    }));
    await live.until((rs) => rs.length >= EVENTS, 120_000);

    const env = { REDIS_URL: redis.url, REDELIVER_REDIS_PREFIX: prefix, REDELIVER_SECRET_KEY: TEST_SECRET_KEY, REDELIVER_API_KEYS: `operator:${OP}`,
      REDELIVER_PORT: '0', REDELIVER_HOST: '127.0.0.1', REDELIVER_LOG_LEVEL: 'info' };
    api = await startApi(env);
    const first = createApiClient({ url: api.url, key: OP, check: true });
    const created = await first.post('/api/v1/replays', { endpoint: ep.id, destinationOverride: { url: target.url + '/replayed' }, rateLimit: { perSecond: 1500 } });
    expect(created.status).to.equal(201);
    const replayId = created.json.id as string;
    const stateKey = dataPlane.shared.keys.endpoint(ep.id).replay(replayId);
    const enqueued = async () => Number(await dataPlane.shared.redis.hget(stateKey, 'enqueued'));

    await waitFor(async () => (await enqueued()) >= 1000, 30_000, 'replay under way');
    api.proc.kill('SIGKILL');
    await api.exited;
    const atKill = await enqueued();
    expect(atKill, 'killed in the middle of enqueueing').to.be.within(1000, EVENTS - 1);

    api = await startApi(env);
    const second = createApiClient({ url: api.url, key: OP, check: true });
    await waitFor(async () => (await second.get(`/api/v1/replays/${replayId}`)).json.phase !== 'Running', 120_000, 'replay finished after the restart');
    const done = (await second.get(`/api/v1/replays/${replayId}`)).json;
    expect(done).to.include({ phase: 'Succeeded', matched: EVENTS, enqueued: EVENTS, delivered: EVENTS, failed: 0 });

    await target.until((rs) => rs.length >= EVENTS, 60_000);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
    const ids = target.receipts.map((x) => x.headers['x-redeliver-delivery-id'] as string);
    const origins = await Promise.all(ids.map((id) => dataPlane.shared.redis.hget(dataPlane.shared.keys.endpoint(ep.id).delivery(id), 'origin')));
    expect(new Set(origins)).to.deep.equal(new Set([`replay:${replayId}`]));
    const events = target.receipts.map((x) => x.headers['webhook-id'] as string);
    expect(events).to.have.length(EVENTS);
    expect(new Set(events).size, 'every event exactly once').to.equal(EVENTS);
    // Per key, the replayed order is the original receive order (the live destination's order).
    expect(byKey(target.receipts)).to.deep.equal(byKey(live.receipts));
    const stats = await dataPlane.shared.redis.hget(dataPlane.shared.keys.endpoint(ep.id).stats, 'replayed');
    expect(Number(stats)).to.equal(EVENTS);
  });
});
