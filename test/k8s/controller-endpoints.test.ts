// The WebhookEndpoint reconciler against a real kube-apiserver 1.20 + etcd and a real redis-server:
// examples applied with kubectl become Ready and land in the registry (secrets sealed); bad
// resources are refused with the field named (by the API server's schema, or by the controller for
// the CEL rules 1.20 cannot run); missing Secrets, ordering-layout changes, blocked partitions,
// status refresh and the finalizer.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { unblockPartition } from '../../src/store/deliveries.ts';
import type { Controller } from '../../src/controller/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { receiverPool } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import {
  condition, eventsFor, getObject, ok, startController, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, waitForCondition, webhookEndpoint,
} from './support.ts';

describe('controller: WebhookEndpoint (real kube-apiserver 1.20, real redis-server)', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let app: TestApp;
  let controller: Controller;
  let client: Redis;
  const receivers = receiverPool();
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  const stored = (id: string) => app.shared.registry.get(id);
  const reconciles = async () => {
    const m = app.shared.metrics.registry.getSingleMetric('redeliver_controller_reconciles_total');
    const values = m ? (await m.get()).values : [];
    return values.filter((v) => v.labels.kind === 'WebhookEndpoint').reduce((n, v) => n + v.value, 0);
  };

  // The controller's warnings (an Event the API server did not take, a failed status write) are
  // kept and printed when a test fails, so a failure on a loaded CI machine says why.
  const warnings: string[] = [];
  const logTo = new PassThrough().on('data', (line: Buffer) => warnings.push(line.toString().trim()));

  before(async function () {
    [env, redis] = await Promise.all([startKubeWithCrds(), startTestRedis()]);
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'], config: { logLevel: 'warn' }, logTo });
    client = new Redis(redis.url);
    controller = await startController(app.shared, env.kubeconfig);
    await waitFor('leadership', async () => controller.isLeader());
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && warnings.length) console.log(`      warnings logged:\n${warnings.slice(-40).join('\n')}`);
    warnings.length = 0;
  });
  after(async function () {
    await controller?.close?.();
    await client?.quit();
    await app?.close();
    await receivers.closeAll();
    await Promise.all([env?.stop(), redis?.stop()]);
  });

  it('applies examples/endpoints/: every endpoint becomes Ready, is registered with sealed secrets, and shows in kubectl get', async function () {
    ok(await k(['apply', '-f', 'examples/endpoints/']));
    for (const name of ['github-events', 'shopify-orders', 'stripe-billing']) {
      ok(await k(['wait', '--for=condition=Ready', `webhookendpoint/${name}`, '--timeout=30s']));
    }
    const ep = await stored('default/stripe-billing');
    expect(ep?.sourceSecrets).to.deep.equal(['whsec_example_not_a_real_secret_0000000000000000']);
    // In Redis the secret is sealed: the plain value appears nowhere in the hash.
    const raw = await client.hget(app.shared.keys.endpoint('default/stripe-billing').endpoint, 'config');
    expect(raw).to.be.a('string').and.not.include('whsec_example_not_a_real_secret');
    const o = await getObject(env, 'webhookendpoint', 'stripe-billing');
    expect(o?.metadata.finalizers).to.deep.equal(['redeliver.io/finalizer']);
    expect(o?.status).to.include({ observedGeneration: 1, ingestPath: '/in/default/stripe-billing', backlog: 0, deadLettered: 0, oldestPendingAge: '0s' });
    expect(condition(o, 'Ready')).to.include({ status: 'True', reason: 'Registered' });
    expect(condition(o, 'Blocked')).to.include({ status: 'False', reason: 'NotBlocked' });
    expect(condition(o, 'DestinationHealthy')).to.include({ status: 'Unknown', reason: 'NoDeliveries' });
    // Printer columns: Ready, Mode, Backlog, Blocked.
    const table = ok(await k(['get', 'webhookendpoints']));
    expect(table).to.match(/NAME\s+READY\s+MODE\s+BACKLOG\s+BLOCKED\s+AGE/);
    expect(table).to.match(/shopify-orders\s+True\s+key\s+0\s+False/);
    expect((await stored('default/shopify-orders'))?.spec.ordering.partitions).to.equal(8);
    await waitFor('Registered event', async () => (await eventsFor(env, 'stripe-billing')).some((e) => e.reason === 'Registered'));
  });

  it('refuses a schema violation at the API server with the field named', async function () {
    const bad = webhookEndpoint('bad-url', { source: { provider: 'none' }, destination: { url: 'ftp://nope.example' } });
    const r = await k(['apply', '-f', '-'], JSON.stringify(bad));
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/spec\.destination\.url/);
    expect(await getObject(env, 'webhookendpoint', 'bad-url')).to.equal(undefined);
  });

  it('reports a CEL-rule violation (accepted by 1.20) as Ready=False InvalidSpec naming the field, with an event, and writes nothing', async function () {
    const bad = webhookEndpoint('no-key', { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' }, ordering: { mode: 'key' } });
    ok(await k(['apply', '-f', '-'], JSON.stringify(bad)));
    const o = await waitForCondition(env, 'webhookendpoint', 'no-key', 'Ready', 'False', 'InvalidSpec');
    expect(condition(o, 'Ready')?.message).to.include('spec.ordering.key');
    expect(await stored('default/no-key')).to.equal(undefined);
    await waitFor('InvalidSpec event', async () => (await eventsFor(env, 'no-key')).find((e) => e.reason === 'InvalidSpec' && e.type === 'Warning'));
    // Fixing it makes it Ready.
    ok(await k(['patch', 'webhookendpoint', 'no-key', '--type=merge', '-p', '{"spec":{"ordering":{"key":"/id"}}}']));
    await waitForCondition(env, 'webhookendpoint', 'no-key', 'Ready', 'True', 'Registered');
    expect((await stored('default/no-key'))?.spec.ordering.key).to.equal('/id');
  });

  it('reports a missing Secret (Ready=False SecretMissing, event) and registers once the Secret exists', async function () {
    const ep = webhookEndpoint('late-secret', { source: { provider: 'github', secretRef: { name: 'late', keys: ['token'] } }, destination: { url: 'http://127.0.0.1:9/x' } });
    ok(await k(['apply', '-f', '-'], JSON.stringify(ep)));
    const o = await waitForCondition(env, 'webhookendpoint', 'late-secret', 'Ready', 'False', 'SecretMissing');
    expect(condition(o, 'Ready')?.message).to.match(/spec\.source\.secretRef: Secret "default\/late" not found/);
    await waitFor('SecretMissing event', async () => (await eventsFor(env, 'late-secret')).find((e) => e.reason === 'SecretMissing'));
    ok(await k(['create', 'secret', 'generic', 'late', '--from-literal=token=s3cret']));
    await waitForCondition(env, 'webhookendpoint', 'late-secret', 'Ready', 'True', 'Registered');
    expect((await stored('default/late-secret'))?.sourceSecrets).to.deep.equal(['s3cret']);
    // A rotated Secret reaches Redis once its cached value expires (secretTtlMs, 1 s here).
    ok(await k(['patch', 'secret', 'late', '--type=merge', '-p', JSON.stringify({ stringData: { token: 'rotated' } })]));
    await waitFor('rotated secret in Redis', async () => (await stored('default/late-secret'))?.sourceSecrets[0] === 'rotated');
  });

  it('refuses an ordering-layout change of an active endpoint (old layout kept, rest applied) and applies it once disabled and drained', async function () {
    ok(await k(['patch', 'webhookendpoint', 'shopify-orders', '--type=merge', '-p', '{"spec":{"ordering":{"partitions":4},"destination":{"timeoutSeconds":20}}}']));
    const o = await waitForCondition(env, 'webhookendpoint', 'shopify-orders', 'Ready', 'True', 'OrderingChangeRefused');
    expect(condition(o, 'Ready')?.message).to.include('from (mode key, 8 partitions, key /id) to (mode key, 4 partitions, key /id)');
    const kept = await stored('default/shopify-orders');
    expect(kept?.spec.ordering.partitions).to.equal(8);
    expect(kept?.spec.destination.timeoutSeconds).to.equal(20);
    expect(kept?.generation).to.equal(2);
    await waitFor('OrderingChangeRefused event', async () => (await eventsFor(env, 'shopify-orders')).find((e) => e.reason === 'OrderingChangeRefused'));
    // In place: disable it; with nothing queued, the layout changes after the quiet period.
    ok(await k(['patch', 'webhookendpoint', 'shopify-orders', '--type=merge', '-p', '{"spec":{"state":"disabled"}}']));
    await waitForCondition(env, 'webhookendpoint', 'shopify-orders', 'Ready', 'False', 'Disabled');
    expect((await stored('default/shopify-orders'))?.spec.ordering.partitions).to.equal(4);
    ok(await k(['patch', 'webhookendpoint', 'shopify-orders', '--type=merge', '-p', '{"spec":{"state":"active"}}']));
    await waitForCondition(env, 'webhookendpoint', 'shopify-orders', 'Ready', 'True', 'Registered');
  });

  it('reports backlog, Blocked and DestinationHealthy from Redis, with Blocked/Unblocked events', async function () {
    let failing = true;
    const r = await receivers.start(() => ({ status: failing ? 500 : 200 }));
    const spec = {
      source: { provider: 'none' },
      destination: { url: r.url + '/hook' },
      retry: { maxAttempts: 2, backoff: { initialSeconds: 0.05, maxSeconds: 0.1, multiplier: 2, jitter: 0 } },
    };
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('flaky', spec))));
    await waitForCondition(env, 'webhookendpoint', 'flaky', 'Ready', 'True');
    await waitFor('ingest sees flaky', async () => app.shared.endpoints.get('default/flaky'));
    for (let i = 0; i < 3; i++) expect((await app.post('/in/default/flaky', JSON.stringify({ n: i }))).status).to.equal(202);
    const o = await waitForCondition(env, 'webhookendpoint', 'flaky', 'Blocked', 'True', 'DeliveryExhausted');
    expect(o.status?.backlog).to.equal(3);
    expect(o.status?.blockedDelivery).to.be.a('string');
    expect(condition(o, 'DestinationHealthy')).to.include({ status: 'False', reason: 'AttemptsFailing' });
    expect(condition(o, 'DestinationHealthy')?.message).to.include('consumer_5xx, HTTP 500');
    expect(ok(await k(['get', 'webhookendpoint', 'flaky']))).to.match(/flaky\s+True\s+strict\s+3\s+True/);
    await waitFor('Blocked event', async () => (await eventsFor(env, 'flaky')).find((e) => e.reason === 'Blocked' && e.type === 'Warning'));

    failing = false;
    await unblockPartition(app.shared.redis, app.shared.keys, 'default/flaky', 0, 'retry', 3600);
    const healed = await waitFor('drained and unblocked', async () => {
      const v = await getObject(env, 'webhookendpoint', 'flaky');
      return condition(v, 'Blocked')?.status === 'False' && v?.status?.backlog === 0 && condition(v, 'DestinationHealthy')?.status === 'True' ? v : undefined;
    });
    expect(healed.status?.lastDeliveredAt).to.be.a('string');
    expect(healed.status).to.not.have.property('blockedDelivery');
    // Events are written after the status they report, so they are awaited, not read once.
    await waitFor('Unblocked and DestinationHealthy events', async () => {
      const reasons = new Set((await eventsFor(env, 'flaky')).map((e) => e.reason));
      return reasons.has('Unblocked') && reasons.has('DestinationHealthy');
    });
  });

  it('writes status only when it changed', async function () {
    const before = await getObject(env, 'webhookendpoint', 'github-events');
    // Several status refreshes of this endpoint (each a reconcile, every 500 ms) with nothing
    // happening: awaited through the controller's reconcile counter, not a fixed sleep.
    const start = await reconciles();
    await waitFor('four refresh rounds of every endpoint', async () => (await reconciles()) >= start + 4 * 5, 30_000);
    const after = await getObject(env, 'webhookendpoint', 'github-events');
    expect(after?.metadata.resourceVersion).to.equal(before?.metadata.resourceVersion);
  });

  it('deletes through the finalizer: archived in Redis (ingest 410), then the object is gone', async function () {
    await waitFor('ingest sees github-events', async () => app.shared.endpoints.get('default/github-events'));
    ok(await k(['delete', 'webhookendpoint', 'github-events', '--wait=true', '--timeout=30s']));
    expect(await getObject(env, 'webhookendpoint', 'github-events')).to.equal(undefined);
    expect((await stored('default/github-events'))?.spec.state).to.equal('archived');
    await waitFor('ingest sees archived', async () => app.shared.endpoints.get('default/github-events')?.spec.state === 'archived');
    expect((await app.post('/in/default/github-events', '{}')).status).to.equal(410);
  });
});
