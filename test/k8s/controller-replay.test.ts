// The ReplayRequest reconciler against a real kube-apiserver 1.20 and a real redis-server, driving
// the shared replay engine: kubectl create → Running → Succeeded with the right counters (watched
// with `kubectl get -w`), the example file, spec changes ignored (no CEL on 1.20), cancel on
// delete, and a controller restart in the middle of a replay that sends nothing twice.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { Controller } from '../../src/controller/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import {
  condition, eventsFor, getObject, ok, startController, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, waitForCondition, webhookEndpoint, type ObjectView,
} from './support.ts';

const SECRET = 'whsec_' + Buffer.from('replay-suite-signing-secret-32by').toString('base64');

describe('controller: ReplayRequest (real kube-apiserver 1.20, real redis-server, replay engine)', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let app: TestApp;
  let controller: Controller;
  let receiver: Receiver;
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  const eventIds: string[] = [];

  const send = async (n: number) => {
    const body = JSON.stringify({ n });
    const id = `msg_${n}_${Math.random().toString(36).slice(2)}`;
    const at = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign(id, at, body) };
    const res = await app.post('/in/default/orders', body, headers);
    expect(res.status).to.equal(202);
    eventIds.push(res.json.event_id as string);
  };
  const replayed = () => receiver.receipts.filter((r) => r.headers['x-redeliver-resend-seq'] !== '0');
  const replay = (spec: Record<string, unknown>) => JSON.stringify({
    apiVersion: 'redeliver.io/v1alpha1', kind: 'ReplayRequest', metadata: { generateName: 'orders-replay-', namespace: 'default' },
    spec: { endpointRef: { name: 'orders' }, ...spec },
  });
  const create = async (spec: Record<string, unknown>) => ok(await k(['create', '-f', '-', '-o', 'name'], replay(spec))).trim().replace(/^.*\//, '');
  const get = (name: string) => getObject(env, 'replayrequest', name);
  const waitPhase = (name: string, phase: string, timeoutMs = 30_000) =>
    waitFor(`${name} ${phase}`, async () => {
      const o = await get(name);
      return o?.status?.phase === phase ? o : undefined;
    }, timeoutMs, 200);

  before(async function () {
    [env, redis] = await Promise.all([startKubeWithCrds(), startTestRedis()]);
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'] });
    receiver = await startReceiver();
    controller = await startController(app.shared, env.kubeconfig);
    ok(await k(['create', 'secret', 'generic', 'orders-secret', `--from-literal=key=${SECRET}`]));
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('orders', {
      source: { provider: 'standard-webhooks', secretRef: { name: 'orders-secret', keys: ['key'] } },
      destination: { url: receiver.url + '/orders' },
    }))));
    await waitForCondition(env, 'webhookendpoint', 'orders', 'Ready', 'True');
    await waitFor('ingest sees orders', async () => app.shared.endpoints.get('default/orders'));
    for (let i = 0; i < 12; i++) await send(i);
    await receiver.until((rs) => rs.length >= 12);
  });
  after(async function () {
    await controller?.close?.();
    await app?.close();
    await receiver?.close();
    await Promise.all([env?.stop(), redis?.stop()]);
  });

  it('runs a ReplayRequest to Succeeded (followed with kubectl get -w) and re-delivers every event once, in order', async function () {
    const watcher = spawn('kubectl', ['--kubeconfig', env.kubeconfig, 'get', 'replayrequests', '-n', 'default', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const succeeded = new Promise<string>((resolve) => {
      createInterface({ input: watcher.stdout! }).on('line', (l) => {
        lines.push(l);
        if (/\sSucceeded\s/.test(l)) resolve(l);
      });
    });
    try {
      const name = await create({});
      let timer: NodeJS.Timeout | undefined;
      const line = await Promise.race([succeeded, new Promise<string>((_, fail) => {
        timer = setTimeout(() => fail(new Error(`no Succeeded line in:\n${lines.join('\n')}`)), 30_000);
      })]).finally(() => clearTimeout(timer));
      // Printer columns: NAME ENDPOINT PHASE DELIVERED MATCHED AGE.
      expect(line).to.match(new RegExp(`^${name}\\s+orders\\s+Succeeded\\s+12\\s+12\\s`));
      expect(lines.join('\n')).to.match(/\sRunning\s/);
      const o = await get(name);
      expect(o?.status).to.include({ phase: 'Succeeded', matched: 12, enqueued: 12, delivered: 12, failed: 0, observedGeneration: 1 });
      expect(o?.status?.completedAt).to.be.a('string');
      expect(condition(o, 'Complete')).to.include({ status: 'True', reason: 'Succeeded' });
      expect(o?.metadata.finalizers).to.deep.equal(['redeliver.io/finalizer']);
      expect(replayed().map((r) => r.headers['webhook-id'])).to.have.length(12);
      expect(replayed().map((r) => JSON.parse(r.body.toString()).n)).to.deep.equal([...Array(12).keys()]);
      // Events are written after the status they report: awaited, not read once.
      await waitFor('Started and Succeeded events', async () => {
        const reasons = new Set((await eventsFor(env, name)).map((e) => e.reason));
        return reasons.has('Started') && reasons.has('Succeeded');
      });
    } finally {
      watcher.kill();
    }
  });

  it('creates the example (kubectl create -f examples/replay.yaml) and finishes it (nothing matches its range)', async function () {
    ok(await k(['apply', '-f', 'examples/endpoints/']));
    await waitForCondition(env, 'webhookendpoint', 'stripe-billing', 'Ready', 'True');
    await waitFor('ingest sees stripe-billing', async () => app.shared.endpoints.get('default/stripe-billing'));
    const name = ok(await k(['create', '-f', 'examples/replay.yaml', '-o', 'name'])).trim().replace(/^.*\//, '');
    expect(name).to.match(/^stripe-billing-replay-/);
    const o = await waitPhase(name, 'Succeeded');
    expect(o.status).to.include({ matched: 0, enqueued: 0, delivered: 0 });
  });

  it('fails a replay whose spec breaks a CEL rule (from after to), naming the field', async function () {
    const name = await create({ selector: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } });
    const o = await waitPhase(name, 'Failed');
    expect(condition(o, 'Complete')).to.include({ status: 'True', reason: 'InvalidSpec' });
    expect(o.status?.message).to.include('spec.selector.from');
  });

  it('stays Pending while its endpoint does not exist, and starts once it does', async function () {
    const name = ok(await k(['create', '-f', '-', '-o', 'name'], JSON.stringify({
      apiVersion: 'redeliver.io/v1alpha1', kind: 'ReplayRequest', metadata: { name: 'early', namespace: 'default' }, spec: { endpointRef: { name: 'later' } },
    }))).trim().replace(/^.*\//, '');
    const pending = await waitPhase(name, 'Pending');
    expect(condition(pending, 'Complete')).to.include({ status: 'False', reason: 'EndpointNotFound' });
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('later', { source: { provider: 'none' }, destination: { url: receiver.url + '/later' } }))));
    await waitPhase(name, 'Succeeded');
  });

  it('ignores a spec change after the start and says so in a condition (1.20 has no CEL for self == oldSelf)', async function () {
    const name = await create({ rateLimit: { perSecond: 4 } });
    await waitPhase(name, 'Running');
    ok(await k(['patch', 'replayrequest', name, '--type=merge', '-p', '{"spec":{"selector":{"eventTypes":["nothing"]}}}']));
    const o = await waitForCondition(env, 'replayrequest', name, 'SpecChangeIgnored', 'True', 'SpecImmutable');
    expect(o.metadata.generation).to.equal(2);
    const done = await waitPhase(name, 'Succeeded');
    // It ran with the spec it started with: all 12 events.
    expect(done.status).to.include({ matched: 12, delivered: 12, observedGeneration: 2 });
    await waitFor('SpecChangeIgnored event', async () => (await eventsFor(env, name)).some((e) => e.reason === 'SpecChangeIgnored'));
  });

  it('cancels a running replay when its ReplayRequest is deleted, then lets the object go', async function () {
    const name = await create({ rateLimit: { perSecond: 2 } });
    await waitPhase(name, 'Running');
    const uid = (await get(name))!.metadata.uid;
    ok(await k(['delete', 'replayrequest', name, '--wait=true', '--timeout=30s']));
    expect(await get(name)).to.equal(undefined);
    const state = await app.shared.redis.hget(app.shared.keys.endpoint('default/orders').replay(uid), 'phase');
    expect(state).to.equal('Cancelled');
    // What it enqueued before the cancel is still delivered; let that finish before the next test.
    await waitFor('queue drained', async () => (await app.shared.redis.xlen(app.shared.keys.endpoint('default/orders').queue(0))) === 0);
  });

  it('resumes after a controller restart in the middle of a replay without sending anything twice', async function () {
    const before = replayed().length;
    const name = await create({ rateLimit: { perSecond: 5 } });
    const mid: ObjectView = await waitFor('a few enqueued', async () => {
      const o = await get(name);
      const n = Number(o?.status?.enqueued ?? 0);
      return n >= 3 ? o : undefined;
    }, 30_000, 100);
    expect(Number(mid.status?.enqueued)).to.be.lessThan(12);
    await controller.close?.();
    controller = await startController(app.shared, env.kubeconfig);
    const done = await waitPhase(name, 'Succeeded');
    expect(done.status).to.include({ matched: 12, enqueued: 12, delivered: 12, failed: 0 });
    const mine = replayed().slice(before);
    expect(mine).to.have.length(12);
    expect(mine.map((r) => r.headers['webhook-id'])).to.deep.equal(eventIds.slice(0, 12));
  });
});
