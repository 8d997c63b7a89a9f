// Redeliver on a real Redis Cluster (test/support/redis-cluster.ts: 3 masters with a replica
// each). Every role runs against it through the cluster client: ingest, dispatcher and the API
// (listing, resend, replay, unblock). Redis itself is the judge of the one-slot rule: a script
// or transaction whose keys span two slots fails with CROSSSLOT, and a key served by another node
// with MOVED, so a test that passes here used only single-slot calls.
//
// The no-loss test SIGKILLs the master that serves an endpoint while providers keep sending, with
// ingest waiting for one replica's acknowledgement (WAIT) before each 2xx: after the failover,
// every acknowledged event must be delivered, and each scope's deliveries must follow receive
// order (the receiver checks on arrival that #n+1 never comes before #n was received). The
// promoted replica has no replica of its own until the killed node comes back (restarted, it
// rejoins as one): until then that shard answers 503 and the providers retry.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createApiClient } from '../../src/api/client.ts';
import { createDispatcher } from '../../src/dispatch/dispatcher.ts';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { createKeys } from '../../src/store/keys.ts';
import { keySlot } from '../../src/store/slot.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool, type Receipt } from '../support/receiver.ts';
import { startTestCluster, type TestCluster } from '../support/redis-cluster.ts';
import { randomPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

const OP = 'operator-key-cluster-test-0123456789';
const retry = { maxAttempts: 100, backoff: { initialSeconds: 0.01, maxSeconds: 0.2, multiplier: 2, jitter: 0.2 } };

function strict(name: string, url: string, extra: Record<string, unknown> = {}): ResolvedEndpoint {
  return endpoint({
    name,
    spec: {
      source: { provider: 'none', eventIdFrom: { jsonPointer: '/id' } },
      destination: { url: `${url}/${name}`, timeoutSeconds: 2 },
      ordering: { mode: 'strict' },
      retry,
      ...extra,
    },
  });
}

/**
 * Per scope, on arrival of each request: #seq must not be later than the next expected one (no
 * later event before an earlier one was received); a repeat of an earlier one is allowed
 * (at-least-once after a failover). `next` is how many of the scope arrived in order.
 */
function orderJudge() {
  const next = new Map<string, number>();
  const violations: string[] = [];
  return {
    next,
    violations,
    see(r: Receipt) {
      const { k, seq } = JSON.parse(r.body.toString()) as { k: string; seq: number };
      const n = next.get(k) ?? 0;
      if (seq > n) violations.push(`${k}: #${seq} arrived before #${n}`);
      else if (seq === n) next.set(k, n + 1);
    },
  };
}

/** A provider: sends #from..#to-1 of a scope one after the other, each until it gets a 2xx. */
async function provide(url: string, ep: ResolvedEndpoint, k: string, from: number, to: number, onAck: (seq: number) => void, stats = { refused: 0 }) {
  for (let seq = from; seq < to; seq++) {
    const body = JSON.stringify({ id: `${k}-${seq}`, k, seq });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${url}/in/${ep.id}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res && res.status >= 200 && res.status < 300) break;
      stats.refused++;
      if (Date.now() > deadline) throw new Error(`${k} #${seq} not acknowledged within 60 s (last ${res?.status})`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
    onAck(seq);
  }
}

describe('Redis Cluster (3 masters + 3 replicas, real redis-server)', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  const receivers = receiverPool();
  const apps: TestApp[] = [];

  before(async function () {
    cluster = await startTestCluster();
  });
  after(async function () {
    for (const a of apps.splice(0)) await a.close();
    await receivers.closeAll();
    await cluster?.stop();
  });

  const start = async (config: Record<string, unknown>, roles: Array<'ingest' | 'dispatcher' | 'api'>, prefix = randomPrefix()) => {
    const app = await startTestApp({ redisUrl: '', roles, prefix, config: { redisClusterNodes: cluster.seeds, leaseTtlMs: 2000, ...config } });
    apps.push(app);
    return app;
  };

  /** Endpoint names whose keys live on `count` different masters (one name per master). */
  const spread = async (prefix: string, count: number, stem: string) => {
    const keys = createKeys(prefix);
    const byMaster = new Map<number, string>();
    for (let i = 0; byMaster.size < count && i < 200; i++) {
      const name = `${stem}${i}`;
      const m = await cluster.masterOf(keys.endpoint(`default/${name}`).events);
      if (!byMaster.has(m)) byMaster.set(m, name);
    }
    return [...byMaster.values()];
  };

  it('agrees with Redis on the hash slot of every kind of key', async function () {
    const node = new Redis(cluster.nodes[0]!.port, '127.0.0.1');
    try {
      const k = createKeys('rd').endpoint('payments/stripe-live');
      for (const key of ['foo', 'foo{}{bar}', 'foo{{bar}}zap', k.events, k.delivery('d1'), createKeys('rd').endpointIndex]) {
        expect(keySlot(key), key).to.equal(Number(await node.call('CLUSTER', 'KEYSLOT', key)));
      }
    } finally {
      node.disconnect();
    }
  });

  it('runs ingest, dispatch and the API on every shard: order kept, listing, resend, replay and unblock work', async function () {
    const prefix = randomPrefix();
    const app = await start({ apiKeys: [`operator:${OP}`] }, ['ingest', 'dispatcher', 'api'], prefix);
    const api = createApiClient({ url: app.url, key: OP, check: true });
    const judge = orderJudge();
    const rx = await receivers.start((req, body) => {
      if (req.url?.endsWith('/gate')) return { status: 500 };
      judge.see({ headers: req.headers, body, status: 200, at: Date.now() });
      return { status: 200 };
    });
    const names = await spread(prefix, 3, 'shard');
    expect(names, 'endpoints on 3 masters').to.have.length(3);
    const eps = names.map((n) => strict(n, rx.url));
    const keyed = endpoint({ name: 'keyed', spec: { source: { provider: 'none', eventIdFrom: { jsonPointer: '/id' } },
      destination: { url: `${rx.url}/keyed` }, ordering: { mode: 'key', key: '/k', partitions: 4 }, retry } });
    for (const ep of [...eps, keyed]) await app.putEndpoint(ep);

    await Promise.all([
      ...eps.map((ep) => provide(app.url, ep, ep.name, 0, 30, () => undefined)),
      ...['a', 'b', 'c', 'd', 'e'].map((k) => provide(app.url, keyed, `keyed-${k}`, 0, 12, () => undefined)),
    ]);
    await waitFor(async () => eps.every((ep) => judge.next.get(ep.name) === 30) && ['a', 'b', 'c', 'd', 'e'].every((k) => judge.next.get(`keyed-${k}`) === 12),
      60_000, 'every event delivered');
    expect(judge.violations).to.deep.equal([]);

    // The API reads every shard: a page of deliveries across the endpoints, then a resend.
    const page = await api.get<{ items: Array<{ id: string; status: string }> }>(`/api/v1/deliveries?limit=100&status=DELIVERED`);
    expect(page.status).to.equal(200);
    expect(page.json.items).to.have.length(100);
    const resent = await api.post<{ id: string; resend_seq: number }>(`/api/v1/deliveries/${page.json.items[0]!.id}/resend`);
    expect(resent.status).to.equal(201);
    await waitFor(async () => (await api.get<{ status: string }>(`/api/v1/deliveries/${resent.json.id}`)).json.status === 'DELIVERED', 20_000, 'resend delivered');

    // A replay of one endpoint (its state under the endpoint's tag, the index a global key), holding
    // live traffic meanwhile (the hold and its release are scripts with a variable key count).
    const before = rx.receipts.length;
    const replay = await api.post<{ id: string }>('/api/v1/replays', { endpoint: eps[1]!.id, pauseLive: true });
    expect(replay.status).to.equal(201);
    await waitFor(async () => (await api.get<{ phase: string }>(`/api/v1/replays/${replay.json.id}`)).json.phase === 'Succeeded', 60_000, 'replay succeeded');
    expect(rx.receipts.length - before).to.be.at.least(30);
    await provide(app.url, eps[1]!, 'after-replay', 0, 3, () => undefined);
    await waitFor(async () => judge.next.get('after-replay') === 3, 20_000, 'live traffic flows after the hold is released');

    // Block a partition (attempts exhausted), then skip its head through the API.
    const gate = strict('gate', rx.url, { retry: { maxAttempts: 1, onExhausted: 'block' } });
    await app.putEndpoint(gate);
    await provide(app.url, gate, 'gate', 0, 1, () => undefined);
    const blocked = async () => Object.keys(((await api.get(`/api/v1/endpoints/default/gate`)).json.health as { blocked: object }).blocked).length;
    await waitFor(async () => (await blocked()) === 1, 20_000, 'gate blocked');
    const unblocked = await api.post('/api/v1/endpoints/default/gate/unblock', { action: 'skip' });
    expect(unblocked.status).to.equal(200);
    expect(await blocked()).to.equal(0);
  });

  it('keeps wake-ups on the shard of their endpoint (sharded pub/sub): idle partitions are woken, no other node hears them', async function () {
    const prefix = randomPrefix();
    const app = await start({}, ['ingest'], prefix);
    // A ten-minute idle poll: only wake-ups (or a lease round) move this dispatcher.
    const dispatcher = createDispatcher(app.shared, { idlePollMs: 600_000 });
    await dispatcher.start!();
    // Every node listens for any wake-up channel of this prefix with a plain subscription: a
    // PUBLISH reaches it (a cluster forwards PUBLISH to every node), an SPUBLISH does not.
    const listeners = cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1'));
    const overheard: string[] = [];
    try {
      for (const l of listeners) {
        l.on('pmessage', (_p: string, channel: string) => overheard.push(channel));
        await l.psubscribe(`${prefix}:*wake*`);
      }
      const rx = await receivers.start();
      const names = await spread(prefix, 3, 'woken');
      const eps = names.map((n) => strict(n, rx.url));
      for (const ep of eps) await app.putEndpoint(ep);
      await waitFor(async () => eps.every((ep) => dispatcher.owned().some((l) => l.endpointId === ep.id)), 15_000, 'the dispatcher owns every partition');
      // One event at a time, each once the one before arrived: every partition is idle when its
      // event comes, so each delivery waits on its wake-up.
      for (let i = 0; i < 30; i++) {
        const ep = eps[i % 3]!;
        expect((await app.post(`/in/${ep.id}`, JSON.stringify({ id: `w-${i}`, k: ep.name, seq: i }))).status).to.equal(202);
        await rx.until((rs) => rs.length > i, 10_000);
      }
      const woken = ((await app.shared.metrics.registry.getSingleMetric('redeliver_dispatch_pipelined_total')?.get())?.values ?? [])
        .filter((v) => v.labels.via === 'wakeup').reduce((a, v) => a + v.value, 0);
      expect(woken, 'deliveries sent from their wake-up').to.be.at.least(25);
      expect(overheard).to.deep.equal([]);
      // The dispatcher's shard subscriptions are on the endpoints' own masters.
      for (const ep of eps) {
        const k = createKeys(prefix).endpoint(ep.id);
        const master = new Redis(await cluster.masterOf(k.events), '127.0.0.1');
        try {
          const counts = (await master.call('PUBSUB', 'SHARDNUMSUB', k.wake)) as [string, number];
          expect(Number(counts[1]), k.wake).to.equal(1);
        } finally {
          master.disconnect();
        }
      }
    } finally {
      for (const l of listeners) l.disconnect();
      await dispatcher.close!();
    }
  });

  it('moves its wake-up subscriptions with their slots: through a graceful failover and a slot moved by a reshard', async function () {
    const prefix = randomPrefix();
    const keys = createKeys(prefix);
    const app = await start({}, ['ingest'], prefix);
    const dispatcher = createDispatcher(app.shared, { idlePollMs: 600_000 });
    await dispatcher.start!();
    try {
      const rx = await receivers.start();
      let sent = 0;
      /** Posts one event and awaits it: with a ten-minute idle poll, only its wake-up brings it in time. */
      const deliveredByWakeUp = async (ep: ResolvedEndpoint) => {
        const i = sent++;
        expect((await app.post(`/in/${ep.id}`, JSON.stringify({ id: `m-${i}`, k: ep.name, seq: i }))).status).to.equal(202);
        await rx.until((rs) => rs.length > i, 10_000);
      };
      const owned = (ep: ResolvedEndpoint) => waitFor(async () => dispatcher.owned().some((l) => l.endpointId === ep.id), 20_000, `${ep.id} owned`);
      const subscribedOn = (ep: ResolvedEndpoint) => waitFor(async () => {
        const k = keys.endpoint(ep.id);
        return (await shardSubscribers(await cluster.masterOf(k.events), k.wake)) === 1;
      }, 20_000, `${ep.id}: the dispatcher's subscription on the master that serves it`);

      // A graceful failover (CLUSTER FAILOVER on the replica): the old master drops the
      // subscriptions of its slots without closing the connection.
      const [name] = await spread(prefix, 1, 'handover');
      const a = strict(name!, rx.url);
      await app.putEndpoint(a);
      await owned(a);
      await deliveredByWakeUp(a);
      const oldMaster = await cluster.masterOf(keys.endpoint(a.id).events);
      const replica = await replicaOf(oldMaster);
      // A manual failover needs the replica in sync; it is asked again if it did not happen.
      await cluster.awaitReplicated();
      const tookOver = async () => (await cluster.masterOf(keys.endpoint(a.id).events)) === replica;
      for (let tries = 1; ; tries++) {
        await nodeCall(replica, 'CLUSTER', 'FAILOVER');
        try {
          await waitFor(tookOver, 10_000, 'the replica took over');
          break;
        } catch (err) {
          if (tries === 3) throw err;
        }
      }
      await subscribedOn(a);
      for (let i = 0; i < 3; i++) await deliveredByWakeUp(a);

      // A slot moved to another master as a reshard does, before the endpoint's first key: the
      // dispatcher's subscriber still has the old slot map (its SSUBSCRIBE is answered MOVED).
      const b = strict(`moved-${prefix}`, rx.url);
      const slot = keySlot(keys.endpoint(b.id).events);
      const from = await cluster.masterOf(keys.endpoint(b.id).events);
      const to = (await cluster.masters()).find((m) => m !== from)!;
      await moveEmptySlot(slot, from, to);
      await app.putEndpoint(b);
      await owned(b);
      await subscribedOn(b);
      for (let i = 0; i < 3; i++) await deliveredByWakeUp(b);
    } finally {
      await dispatcher.close!();
    }
    await cluster.awaitReplicated();
  });

  it('answers 503 when the replicas do not acknowledge in time (WAIT), and 2xx once they do', async function () {
    // Each master has one replica: asking for two can never be met.
    const prefix = randomPrefix();
    const strictAck = await start({ redisWaitReplicas: 2, redisWaitTimeoutMs: 200 }, ['ingest'], prefix);
    const oneAck = await start({ redisWaitReplicas: 1, redisWaitTimeoutMs: 2000, redisTimeoutMs: 5000 }, ['ingest'], prefix);
    const ep = strict('acked', 'http://127.0.0.1:9');
    await strictAck.putEndpoint(ep);
    await waitFor(async () => oneAck.shared.endpoints.get(ep.id) !== undefined, 10_000, 'second app sees the endpoint');
    const refused = await strictAck.post(`/in/${ep.id}`, JSON.stringify({ id: 'x-1', k: 'x', seq: 0 }));
    expect(refused.status).to.equal(503);
    expect(refused.json.code).to.equal('storage_unavailable');
    // One replica per master, its link up: WAIT 1 is met.
    await cluster.awaitReplicated();
    const ok = await oneAck.post(`/in/${ep.id}`, JSON.stringify({ id: 'x-2', k: 'x', seq: 1 }));
    expect(ok.status).to.be.within(200, 299);
    // The replica of the endpoint's master holds the event the 2xx promised.
    const master = await cluster.masterOf(createKeys(prefix).endpoint(ep.id).events);
    const replicaPort = await replicaOf(master);
    const replica = new Redis(replicaPort, '127.0.0.1');
    try {
      await replica.call('READONLY');
      const stored = await replica.hget(createKeys(prefix).endpoint(ep.id).eventIndex, ok.json.event_id as string);
      expect(stored, 'event on the replica').to.be.a('string');
    } finally {
      replica.disconnect();
    }
  });

  /** One command to the node on `port` itself (CLUSTER …, PUBSUB …). */
  const nodeCall = async (port: number, ...args: Array<string | number>): Promise<unknown> => {
    const c = new Redis(port, '127.0.0.1');
    try {
      return await c.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      c.disconnect();
    }
  };
  const shardSubscribers = async (port: number, channel: string) => Number(((await nodeCall(port, 'PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
  /** Moves an empty slot to the master on `to` the way a reshard does: IMPORTING, MIGRATING, then NODE on every master. */
  const moveEmptySlot = async (slot: number, from: number, to: number) => {
    const toId = String(await nodeCall(to, 'CLUSTER', 'MYID'));
    expect(Number(await nodeCall(from, 'CLUSTER', 'COUNTKEYSINSLOT', slot)), `slot ${slot} is empty`).to.equal(0);
    await nodeCall(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', String(await nodeCall(from, 'CLUSTER', 'MYID')));
    await nodeCall(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    await nodeCall(to, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    for (const m of await cluster.masters()) if (m !== to) await nodeCall(m, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    await waitFor(async () => {
      const views = await Promise.all(cluster.nodes.filter((n) => n.up).map((n) => nodeCall(n.port, 'CLUSTER', 'NODES') as Promise<string>));
      return views.every((v) => v.split('\n').some((line) => line.startsWith(`${toId} `) && line.split(' ').slice(8).some((r) => {
        const [lo, hi = lo] = r.split('-').map(Number);
        return slot >= lo! && slot <= hi!;
      })));
    }, 20_000, `every node sees slot ${slot} on ${to}`);
  };

  const replicaOf = async (masterPort: number): Promise<number> => {
    const c = new Redis(masterPort, '127.0.0.1');
    try {
      const info = (await c.call('INFO', 'replication')) as string;
      const m = /slave0:ip=[^,]+,port=(\d+)/.exec(info);
      if (!m) throw new Error(`master ${masterPort} has no replica`);
      return Number(m[1]);
    } finally {
      c.disconnect();
    }
  };

  it('kill -9 of a master while ingesting with replicated acks: 0 acknowledged events lost, 0 order violations', async function () {
    const prefix = randomPrefix();
    const app = await start({ redisWaitReplicas: 1, redisWaitTimeoutMs: 2000, redisTimeoutMs: 5000 }, ['ingest', 'dispatcher'], prefix);
    const judge = orderJudge();
    const rx = await receivers.start((_req, body) => {
      judge.see({ headers: {}, body, status: 200, at: Date.now() });
      return { status: 200 };
    });
    const names = await spread(prefix, 3, 'fo');
    const eps = names.map((n) => strict(n, rx.url));
    for (const ep of eps) await app.putEndpoint(ep);
    const target = eps[0]!;
    const victim = await cluster.masterOf(createKeys(prefix).endpoint(target.id).events);

    const PER_SCOPE = 120;
    const acked = new Map<string, number>();
    const stats = { refused: 0 };
    let killed: Promise<void> | undefined;
    const onAck = (k: string) => (seq: number) => {
      acked.set(k, seq + 1);
      // Mid-stream: the master of the target endpoint dies with events in flight.
      // Its replica takes over; the shard acknowledges again once the killed node is back as the
      // new master's replica (WAIT needs one), as when Kubernetes restarts the pod.
      if (k === target.name && seq === 40) killed = cluster.kill(victim).then(() => cluster.awaitFailover(victim)).then(() => cluster.restart(victim));
    };
    await Promise.all(eps.flatMap((ep) => [0, 1].map((j) => provide(app.url, ep, `${ep.name}`.concat(j ? '-b' : ''), 0, PER_SCOPE, onAck(`${ep.name}`.concat(j ? '-b' : '')), stats))));
    expect(killed, 'the master was killed mid-run').to.not.equal(undefined);
    await killed;

    const scopes = [...acked.keys()];
    expect(scopes).to.have.length(6);
    await waitFor(async () => scopes.every((k) => (judge.next.get(k) ?? 0) >= acked.get(k)!), 90_000,
      'every acknowledged event delivered');
    const lost = scopes.map((k) => acked.get(k)! - Math.min(acked.get(k)!, judge.next.get(k) ?? 0)).reduce((a, b) => a + b, 0);
    if (process.env.TEST_LOG_LEVEL !== 'silent') {
      console.log(`      acknowledged ${[...acked.values()].reduce((a, b) => a + b, 0)}, refused during failover ${stats.refused}, ` +
        `received ${rx.receipts.length}, lost 0 expected: ${lost}`);
    }
    expect(lost).to.equal(0);
    expect(judge.violations).to.deep.equal([]);
    expect(await cluster.masters()).to.not.include(victim);
  });
});
