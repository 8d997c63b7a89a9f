// Leader election through the coordination.k8s.io Lease, with two controllers on one real API
// server: exactly one acts; when the leader is cut off from the API server (as good as dead to the
// others) it stops acting before the other takes over, within the lease duration; a graceful stop
// hands the Lease over at once. A sampler checks the whole time that the two never lead together.
import { expect } from 'chai';
import type { Controller } from '../../src/controller/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startApiProxy, type ApiProxy } from './proxy.ts';
import { FAST, eventsFor, ok, startController, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, waitForCondition, webhookEndpoint } from './support.ts';

interface LeaseView {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; renewTime?: string };
}

describe('controller leader election (real kube-apiserver 1.20)', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let app: TestApp;
  let proxy: ApiProxy;
  let a: Controller;
  let b: Controller;
  let sampler: NodeJS.Timeout | undefined;
  let overlaps = 0;
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  const lease = async () => JSON.parse(ok(await k(['get', 'lease', 'redeliver-controller', '-n', 'redeliver-system', '-o', 'json']))) as LeaseView;
  /**
   * Resolves once the Lease's holder has renewed it `n` more times: each renewal is a retry period
   * in which the other controller also tried to acquire it (awaited, not slept).
   */
  const renewals = async (n: number) => {
    const seen = new Set([String((await lease()).spec.renewTime)]);
    await waitFor(`${n} renewals of the Lease`, async () => seen.add(String((await lease()).spec.renewTime)).size > n, 15_000, 50);
  };
  const reporters = async (name: string, reason: string) =>
    (await eventsFor(env, name)).filter((e) => e.reason === reason).map((e) => (e as unknown as { reportingInstance?: string }).reportingInstance);

  before(async function () {
    [env, redis] = await Promise.all([startKubeWithCrds(), startTestRedis()]);
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest'] });
    proxy = await startApiProxy({ kubeconfig: env.kubeconfig, server: env.server, dir: env.dir, name: 'a' });
    a = await startController(app.shared, proxy.kubeconfig, { identity: 'ctl-a' });
    await waitFor('ctl-a leads', async () => a.isLeader());
    b = await startController(app.shared, env.kubeconfig, { identity: 'ctl-b' });
    sampler = setInterval(() => {
      if (a.isLeader() && b.isLeader()) overlaps++;
    }, 20);
  });
  after(async function () {
    clearInterval(sampler);
    await a?.close?.();
    await b?.close?.();
    await proxy?.close();
    await app?.close();
    await Promise.all([env?.stop(), redis?.stop()]);
  });
  afterEach(function () {
    expect(overlaps, 'both controllers led at the same time').to.equal(0);
  });

  it('lets exactly one controller act, the one the Lease names', async function () {
    await waitFor('a leader', async () => a.isLeader() || b.isLeader(), 15_000, 20);
    await renewals(3);
    expect([a.isLeader(), b.isLeader()]).to.deep.equal([true, false]);
    const l = await lease();
    expect(l.spec).to.include({ holderIdentity: 'ctl-a', leaseDurationSeconds: FAST.leaseDurationMs! / 1000 });
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('one', { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' } }))));
    await waitForCondition(env, 'webhookendpoint', 'one', 'Ready', 'True');
    await waitFor('Registered event', async () => (await reporters('one', 'Registered')).length > 0);
    expect(await reporters('one', 'Registered')).to.deep.equal(['ctl-a']);
  });

  it('hands over within the lease duration when the leader is cut off from the API server; the old leader steps down first', async function () {
    const t0 = Date.now();
    proxy.cut();
    await waitFor('ctl-a steps down', async () => !a.isLeader(), 10_000, 20);
    const stepDown = Date.now() - t0;
    await waitFor('ctl-b leads', async () => b.isLeader(), 10_000, 20);
    const takeover = Date.now() - t0;
    // ctl-a gives up after renewDeadline (2 s) without a renewal; ctl-b waits out the lease (3 s)
    // from when it last saw it renewed (at most a retry period, 250 ms, before the cut).
    expect(stepDown).to.be.below(FAST.renewDeadlineMs! + 2000);
    expect(takeover).to.be.above(stepDown);
    expect(takeover).to.be.below(FAST.leaseDurationMs! + 2 * FAST.retryPeriodMs! + 3000);
    expect((await lease()).spec.holderIdentity).to.equal('ctl-b');
    // The new leader reconciles.
    ok(await k(['patch', 'webhookendpoint', 'one', '--type=merge', '-p', '{"spec":{"destination":{"timeoutSeconds":5}}}']));
    await waitFor('ctl-b registers generation 2', async () => (await app.shared.registry.get('default/one'))?.generation === 2);
    await waitFor('event from ctl-b', async () => (await reporters('one', 'Registered')).includes('ctl-b'));
  });

  it('releases the Lease on a graceful stop, so the other takes over at once', async function () {
    proxy.restore();
    // ctl-a reaches the API server again and sees ctl-b renew, several times.
    await renewals(3);
    expect(a.isLeader(), 'ctl-a must not take a lease that ctl-b renews').to.equal(false);
    const t0 = Date.now();
    await b.close?.();
    await waitFor('ctl-a leads again', async () => a.isLeader(), 10_000, 20);
    expect(Date.now() - t0).to.be.below(FAST.leaseDurationMs!);
    const l = await lease();
    expect(l.spec.holderIdentity).to.equal('ctl-a');
    expect(l.spec.leaseTransitions).to.be.at.least(2);
  });
});
