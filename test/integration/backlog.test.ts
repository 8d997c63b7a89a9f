// One definition of backlog (store/backlog.ts): the management API's endpoint health, the
// controller's observation (the resource's status and `kubectl get`) and the dispatchers' gauges
// report the same backlog, held count and oldest age — with deliveries queued, one held back by a
// pauseLive replay and an unblock's retry at the front, the three places where they can differ.
// Ingest only (no dispatcher), so the queues stay as set up while they are read.
import { expect } from 'chai';
import { reportBacklog } from '../../src/dispatch/backlog.ts';
import { endpointHealth } from '../../src/store/health.ts';
import { observeQueues } from '../../src/store/observe.ts';
import { endpoint } from '../support/fixtures.ts';
import { useTestStack } from '../support/app.ts';

describe('backlog: one definition for the API, the controller and the gauges (real redis-server)', function () {
  this.timeout(30_000);
  const s = useTestStack({ roles: ['ingest'] });

  it('counts queued, held and front deliveries alike, and ages the oldest of them', async function () {
    const ep = endpoint({ name: 'counted', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' } } });
    await s.app.putEndpoint(ep);
    const k = s.app.shared.keys.endpoint(ep.id);
    for (let i = 0; i < 3; i++) expect((await s.app.post(`/in/${ep.id}`, JSON.stringify({ n: i }))).status).to.equal(202);
    // A pauseLive replay holds live traffic: two more are held back, not queued.
    await s.client.hset(k.endpoint, 'hold_live', '1');
    for (let i = 3; i < 5; i++) expect((await s.app.post(`/in/${ep.id}`, JSON.stringify({ n: i }))).status).to.equal(202);
    expect(await s.client.xlen(k.hold(0)), 'held back').to.equal(2);
    // An unblock's retry waits at the front: its record is the oldest (created a minute ago).
    const createdMs = Date.now() - 60_000;
    await s.client.hset(k.delivery('front-1'), 'status', 'PENDING', 'attempts', '0', 'created_ms', String(createdMs));
    await s.client.lpush(k.front(0), 'front-1');

    const now = Date.now();
    const health = await endpointHealth(s.app.shared.redis, s.app.shared.keys, ep, now);
    const observed = await observeQueues(s.app.shared.redis, s.app.shared.keys, ep.id, 1);
    await reportBacklog(s.app.shared, [{ endpointId: ep.id, partition: 0, owner: 'test', token: 1 }]);
    const gauge = async (name: string) => (await s.app.shared.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.endpoint === ep.id)?.value;

    expect(health).to.include({ backlog: 6, held: 2 });
    expect(observed.backlog).to.equal(6);
    expect(await gauge('redeliver_dispatch_backlog')).to.equal(6);
    expect(health.oldestPendingMs).to.equal(now - createdMs);
    expect(observed.oldestPendingAt).to.equal(createdMs);
    expect(await gauge('redeliver_dispatch_oldest_pending_seconds')).to.be.within(60, 61);
  });

  it('reads the last delivery time in epoch ms, and as an earlier version wrote it (ISO) until the next delivery', async function () {
    const ep = endpoint({ name: 'upgraded', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' } } });
    await s.app.putEndpoint(ep);
    const k = s.app.shared.keys.endpoint(ep.id);
    const last = async () => [(await endpointHealth(s.app.shared.redis, s.app.shared.keys, ep)).lastDeliveredAt, (await observeQueues(s.app.shared.redis, s.app.shared.keys, ep.id, 1)).lastDeliveredAt];
    await s.client.hset(k.stats, 'last_delivered_at', '2026-11-01T10:00:00.000Z');
    expect(await last()).to.deep.equal(['2026-11-01T10:00:00.000Z', '2026-11-01T10:00:00.000Z']);
    await s.client.hset(k.stats, 'last_delivered_ms', String(Date.UTC(2026, 10, 30, 9, 30)));
    expect(await last()).to.deep.equal(['2026-11-30T09:30:00.000Z', '2026-11-30T09:30:00.000Z']);
  });
});
