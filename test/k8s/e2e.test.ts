// End to end, as deployed: `node src/main.ts all` as a child process (KUBECONFIG and REDELIVER_*
// env only), a real kube-apiserver 1.20, a real redis-server and a receiver on port 0.
// CRDs and an endpoint applied with kubectl → Ready → signed webhooks delivered in order → a
// ReplayRequest, with the process killed (SIGKILL) in the middle of it, resumed by the next one
// without a second enqueue → the API server cut off: the data plane goes on, and the controller
// catches up on what changed meanwhile once it is back → delete: 410 and the finalizer gone → the
// API server stopped for good: webhooks are still delivered.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { KubeTestEnv } from '../support/kube.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';
import { TEST_SECRET_KEY } from '../support/app.ts';
import { startApiProxy, type ApiProxy } from './proxy.ts';
import { condition, getObject, ok, startKubeWithCrds, SUITE_TIMEOUT_MS, waitFor, webhookEndpoint } from './support.ts';

const SECRET = 'whsec_' + Buffer.from('e2e-suite-signing-secret-32bytes').toString('base64');

interface Redeliver {
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
}

describe('end to end: redeliver all + kube-apiserver 1.20 + redis-server', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;
  let redis: TestRedis;
  let proxy: ApiProxy;
  let receiver: Receiver;
  let proc: Redeliver | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'redeliver-e2e-'));
  const prefix = randomPrefix();
  const k = (args: string[], input?: string) => env.kubectl(args, input);
  let starts = 0;

  /** `redeliver all` as the container runs it; resolves with its URL once it listens. */
  const startRedeliver = async (): Promise<Redeliver> => {
    const log = createWriteStream(join(logDir, `redeliver-${++starts}.log`));
    const child = spawn(process.execPath, ['src/main.ts', 'all'], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: proxy.kubeconfig,
        REDIS_URL: redis.url,
        REDELIVER_SECRET_KEY: TEST_SECRET_KEY,
        REDELIVER_REDIS_PREFIX: prefix,
        REDELIVER_HOST: '127.0.0.1',
        REDELIVER_PORT: '0',
        REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8',
        REDELIVER_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.pipe(log);
    const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redeliver did not start; see ${logDir}`)), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(line + '\n');
        const m = /"url":"(http:[^"]+)".*"msg":"redeliver started"/.exec(line);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`redeliver exited (${code}); see ${logDir}`)));
    });
    return { url, child, exited };
  };
  const stopRedeliver = async (signal: NodeJS.Signals) => {
    if (!proc) return;
    proc.child.kill(signal);
    await proc.exited;
    proc = undefined;
  };

  const send = async (endpoint: string, n: number) => {
    const body = JSON.stringify({ n });
    const id = `msg_${endpoint}_${n}`;
    const at = new Date();
    const res = await fetch(`${proc!.url}/in/default/${endpoint}`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign(id, at, body) },
    });
    expect(res.status, await res.clone().text()).to.equal(202);
    return ((await res.json()) as { event_id: string }).event_id;
  };
  const received = (path: string) => receiver.receipts.filter((r) => r.headers['x-redeliver-resend-seq'] === '0' && r.headers['x-test-path'] === path);
  const endpointSpec = (path: string, headers: Record<string, string> = {}) => ({
    source: { provider: 'standard-webhooks', secretRef: { name: 'e2e-secret', keys: ['key'] } },
    destination: { url: `${receiver.url}/${path}`, headers: { 'X-Test-Path': path, ...headers } },
  });

  before(async function () {
    [env, redis, receiver] = await Promise.all([startKubeWithCrds(), startTestRedis(), startReceiver()]);
    proxy = await startApiProxy({ kubeconfig: env.kubeconfig, server: env.server, dir: env.dir, name: 'redeliver' });
    proc = await startRedeliver();
  });
  after(async function () {
    await stopRedeliver('SIGTERM');
    await proxy?.close();
    await receiver?.close();
    await Promise.all([env?.stop(), redis?.stop()]);
    // Logs stay for a failed run (the path is in the error) or when KEEP_E2E_LOGS is set.
    if (this.currentTest?.state !== 'failed' && !process.env.KEEP_E2E_LOGS) rmSync(logDir, { recursive: true, force: true });
  });

  it('registers an endpoint applied with kubectl and delivers signed webhooks to it in order', async function () {
    ok(await k(['create', 'secret', 'generic', 'e2e-secret', `--from-literal=key=${SECRET}`]));
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('orders', endpointSpec('orders')))));
    ok(await k(['wait', '--for=condition=Ready', 'webhookendpoint/orders', '--timeout=60s']));
    // Ready means registered; the ingest's registry cache follows by pub/sub within moments.
    await waitFor('ingest accepts', async () => (await fetch(`${proc!.url}/in/default/orders`, { method: 'POST', body: '{}' })).status === 401);
    for (let n = 0; n < 20; n++) await send('orders', n);
    await receiver.until(() => received('orders').length >= 20);
    expect(received('orders').map((r) => JSON.parse(r.body.toString()).n)).to.deep.equal([...Array(20).keys()]);
    const o = await waitFor('status shows the deliveries', async () => {
      const v = await getObject(env, 'webhookendpoint', 'orders');
      return v?.status?.lastDeliveredAt && v.status.backlog === 0 && condition(v, 'DestinationHealthy')?.status === 'True' ? v : undefined;
    }, 30_000, 500);
    expect(o.status).to.include({ backlog: 0, deadLettered: 0, ingestPath: '/in/default/orders' });
  });

  it('runs a ReplayRequest to Succeeded across a SIGKILL of the process, enqueueing every event exactly once', async function () {
    const name = ok(await k(['create', '-f', '-', '-o', 'name'], JSON.stringify({
      apiVersion: 'redeliver.io/v1alpha1', kind: 'ReplayRequest', metadata: { generateName: 'orders-replay-', namespace: 'default' },
      spec: { endpointRef: { name: 'orders' }, rateLimit: { perSecond: 4 } },
    }))).trim().replace(/^.*\//, '');
    const replayedNow = () => receiver.receipts.filter((r) => r.headers['x-redeliver-resend-seq'] === '1');
    await waitFor('replay under way', async () => replayedNow().length >= 2, 30_000, 50);
    expect(replayedNow().length).to.be.below(20);
    await stopRedeliver('SIGKILL');
    proc = await startRedeliver();
    // The new process waits out the dead one's Lease (15 s) and replay lease (5 s), then resumes.
    const done = await waitFor('replay Succeeded', async () => {
      const v = await getObject(env, 'replayrequest', name);
      return v?.status?.phase === 'Succeeded' ? v : undefined;
    }, 90_000, 500);
    expect(done.status).to.include({ matched: 20, enqueued: 20, delivered: 20, failed: 0 });
    // One new delivery per event (a delivery in flight at the kill may be sent again, same id).
    const byEvent = new Map<string, Set<string>>();
    for (const r of replayedNow()) {
      const ids = byEvent.get(r.headers['webhook-id'] as string) ?? new Set<string>();
      ids.add(r.headers['x-redeliver-delivery-id'] as string);
      byEvent.set(r.headers['webhook-id'] as string, ids);
    }
    expect(byEvent.size).to.equal(20);
    expect([...byEvent.values()].every((s) => s.size === 1)).to.equal(true);
    expect(receiver.receipts.some((r) => Number(r.headers['x-redeliver-resend-seq']) > 1)).to.equal(false);
  });

  it('keeps delivering while the API server is unreachable, and catches up on changes once it is back', async function () {
    proxy.cut();
    ok(await k(['patch', 'webhookendpoint', 'orders', '--type=merge', '-p', '{"spec":{"destination":{"headers":{"X-Test-Path":"orders","X-Added":"while-away"}}}}']));
    ok(await k(['apply', '-f', '-'], JSON.stringify(webhookEndpoint('late', endpointSpec('late')))));
    // The controller has noticed: its watches failed and it tried to reconnect (refused).
    await waitFor('the controller tries to reconnect', async () => proxy.refused() >= 2, 30_000);
    for (let n = 20; n < 30; n++) await send('orders', n);
    await receiver.until(() => received('orders').length >= 30);
    expect(received('orders').map((r) => JSON.parse(r.body.toString()).n)).to.deep.equal([...Array(30).keys()]);
    expect(received('orders').some((r) => r.headers['x-added'])).to.equal(false);
    expect((await getObject(env, 'webhookendpoint', 'late'))?.status).to.equal(undefined);

    proxy.restore();
    ok(await k(['wait', '--for=condition=Ready', 'webhookendpoint/late', '--timeout=90s']));
    await waitFor('the header change reached the registry', async () => {
      const res = await fetch(`${proc!.url}/in/default/orders`, { method: 'POST', body: '{}' });
      return res.status === 401 && (await getObject(env, 'webhookendpoint', 'orders'))?.status?.observedGeneration === 2;
    }, 90_000, 500);
    await send('orders', 30);
    await receiver.until(() => received('orders').length >= 31);
    expect(received('orders').at(-1)?.headers['x-added']).to.equal('while-away');
  });

  it('deletes an endpoint: its ingest path answers 410 and the finalizer is gone', async function () {
    ok(await k(['delete', 'webhookendpoint', 'orders', '--wait=true', '--timeout=60s']));
    expect(await getObject(env, 'webhookendpoint', 'orders')).to.equal(undefined);
    await waitFor('410', async () => (await fetch(`${proc!.url}/in/default/orders`, { method: 'POST', body: '{}' })).status === 410);
  });

  it('keeps delivering with the API server stopped', async function () {
    await waitFor('late accepts', async () => (await fetch(`${proc!.url}/in/default/late`, { method: 'POST', body: '{}' })).status === 401);
    await env.stop();
    for (let n = 0; n < 10; n++) await send('late', n);
    await receiver.until(() => received('late').length >= 10);
    expect(received('late').map((r) => JSON.parse(r.body.toString()).n)).to.deep.equal([...Array(10).keys()]);
  });
});
