// Outages in real time with short settings (real redis-server, real receivers, the real
// dispatcher): a blocked ordering scope resumes by itself once the destination recovers, with no
// operator call; a poison event (failing while the destination takes everything else) blocks only
// its own scope and is reported in the endpoint's health, the metrics and the logs.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { choosePartition, extractEventMeta } from '../../src/domain/event.ts';
import { createSender } from '../../src/dispatch/sender.ts';
import { startWorker } from '../../src/dispatch/worker.ts';
import { createOutageLog } from '../../src/lib/outage.ts';
import { getAttempts } from '../../src/store/deliveries.ts';
import { acquireLease } from '../../src/store/dispatch.ts';
import { endpointHealth } from '../../src/store/health.ts';
import { createRedis } from '../../src/store/redis.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool } from '../support/receiver.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const shortRetry = { maxAttempts: 3, backoff: { initialSeconds: 0.01, maxSeconds: 0.05, multiplier: 2, jitter: 0 }, blockedRetrySeconds: 0.3 };
const n = (body: Buffer) => (JSON.parse(body.toString()) as { n: number }).n;

describe('outages without an operator (real redis-server, real receivers)', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;
  const receivers = receiverPool();
  const lines: Array<Record<string, unknown>> = [];

  before(async function () {
    redis = await startTestRedis();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'], config: { logLevel: 'debug' }, logTo: sink });
    client = new Redis(redis.url);
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
  });

  const logged = (msg: string) => lines.filter((l) => String(l.msg).startsWith(msg));

  it('a scope blocked by a destination outage resumes by itself, in order, once it recovers', async function () {
    let up = false;
    const r = await receivers.start(() => ({ status: up ? 200 : 503 }));
    const ep = endpoint({ name: 'outage', spec: { source: { provider: 'none' }, destination: { url: r.url }, retry: shortRetry } });
    await app.putEndpoint(ep);
    for (let i = 0; i < 5; i++) await app.post('/in/default/outage', JSON.stringify({ n: i }));
    const k = app.shared.keys.endpoint(ep.id);
    await waitFor(async () => (await client.hget(k.blocked, '0')) !== null, 10_000, 'the scope blocks');
    const head = (await client.hget(k.blocked, '0'))!;
    // Blocked, yet still retried at blockedRetrySeconds: more attempts than maxAttempts reach the receiver.
    await r.until((rs) => rs.filter((x) => n(x.body) === 0).length >= 5, 10_000);
    expect(r.receipts.every((x) => n(x.body) === 0), 'nothing behind the blocked head was sent').to.equal(true);
    expect(await client.hget(k.delivery(head), 'status'), 'still being retried, not failed').to.be.oneOf(['PENDING', 'SENDING']);
    up = true;
    await r.until((rs) => rs.filter((x) => x.status === 200).length >= 5, 10_000);
    expect(r.receipts.filter((x) => x.status === 200).map((x) => n(x.body))).to.deep.equal([0, 1, 2, 3, 4]);
    await waitFor(async () => (await client.hlen(k.blocked)) === 0, 5_000, 'the block is lifted');
    expect(await client.hget(k.delivery(head), 'status')).to.equal('DELIVERED');
    const attempts = await getAttempts(app.shared.redis, app.shared.keys, ep.id, head);
    expect(attempts.map((a) => a.attempt)).to.deep.equal(attempts.map((_, i) => i + 1));
    expect(attempts.at(-1)!.classification).to.equal('consumer_2xx');
    // Logged once at warn (with how to unblock), and its recovery.
    const blocked = logged('scope blocked').filter((l) => l.delivery === head);
    expect(blocked).to.have.length(1);
    expect(blocked[0]).to.include({ level: 40, endpoint: ep.id, classification: 'consumer_5xx' });
    expect(String(blocked[0]!.msg)).to.include(`/api/v1/endpoints/${ep.id}/unblock`);
    expect(logged('scope unblocked').filter((l) => l.delivery === head)).to.have.length(1);
    // Each failed attempt: info, with the delivery, attempt, classification and the next attempt's time.
    const retry = logged('delivery attempt failed; will retry').find((l) => l.delivery === head);
    expect(retry).to.include({ level: 30, endpoint: ep.id, attempt: 1, classification: 'consumer_5xx', status: 503 });
    expect(Date.parse(String(retry!.nextAttemptAt))).to.be.a('number').and.not.NaN;
  });

  it('logs each accepted event and each delivery at debug, with event, delivery, endpoint and attempt', async function () {
    const r = await receivers.start();
    const ep = endpoint({ name: 'chatty', spec: { source: { provider: 'none' }, destination: { url: r.url } } });
    await app.putEndpoint(ep);
    const res = await app.post('/in/default/chatty', JSON.stringify({ n: 0 }));
    await r.until((rs) => rs.length >= 1);
    const delivery = r.receipts[0]!.headers['x-redeliver-delivery-id'];
    const accepted = logged('event accepted').find((l) => l.event === res.json.event_id);
    expect(accepted).to.include({ level: 20, endpoint: ep.id, delivery });
    await waitFor(async () => logged('delivered').some((l) => l.delivery === delivery), 5_000, 'the delivery is logged');
    expect(logged('delivered').find((l) => l.delivery === delivery)).to.include({ level: 20, endpoint: ep.id, event: res.json.event_id, attempt: 1, status: 200 });
  });

  it('a poison event blocks only its own scope, and the endpoint reports it', async function () {
    const r = await receivers.start((_req, body) => ((JSON.parse(body.toString()) as { k: string }).k === 'poison' ? { status: 422 } : { status: 200 }));
    const ep = endpoint({ name: 'poison', spec: { source: { provider: 'none' }, destination: { url: r.url },
      ordering: { mode: 'key', key: '/k', partitions: 4 }, retry: shortRetry } });
    await app.putEndpoint(ep);
    const events = [{ k: 'a', n: 0 }, { k: 'poison', n: 1 }, { k: 'b', n: 2 }, { k: 'a', n: 3 }, { k: 'poison', n: 4 }, { k: 'b', n: 5 }];
    const partitionOf = (k: string) => choosePartition(ep.spec, extractEventMeta(ep.spec, {}, Buffer.from(JSON.stringify({ k }))), 'x');
    expect(partitionOf('poison'), 'the fixture keys land on different partitions').to.not.be.oneOf([partitionOf('a'), partitionOf('b')]);
    for (const e of events) await app.post('/in/default/poison', JSON.stringify(e));
    await r.until((rs) => rs.filter((x) => x.status === 200).length >= 4, 10_000);
    const k = app.shared.keys.endpoint(ep.id);
    await waitFor(async () => (await client.hget(k.blocked, String(partitionOf('poison')))) !== null, 10_000, 'the poison scope blocks');
    // Keep going a while: the blocked head is retried, the other keys are done, the event behind the poison one waits.
    await r.until((rs) => rs.filter((x) => x.status === 422).length >= 5, 10_000);
    const ok = r.receipts.filter((x) => x.status === 200).map((x) => n(x.body));
    expect([...ok].sort()).to.deep.equal([0, 2, 3, 5]);
    expect(ok.filter((i) => i === 0 || i === 3), 'key a in order').to.deep.equal([0, 3]);
    expect(ok.filter((i) => i === 2 || i === 5), 'key b in order').to.deep.equal([2, 5]);
    expect(r.receipts.map((x) => n(x.body))).to.not.include(4);
    expect(Object.keys(await client.hgetall(k.blocked))).to.deep.equal([String(partitionOf('poison'))]);
    const health = await endpointHealth(app.shared.redis, app.shared.keys, ep);
    expect(Object.keys(health.blocked)).to.deep.equal([String(partitionOf('poison'))]);
    await waitFor(async () => {
      const text = await app.shared.metrics.registry.getSingleMetricAsString('redeliver_dispatch_blocked_partitions');
      return text.includes(`redeliver_dispatch_blocked_partitions{endpoint="${ep.id}"} 1`);
    }, 10_000, 'the blocked-partitions gauge reports it');
    expect(logged('scope blocked').filter((l) => l.endpoint === ep.id)).to.have.length(1);
  });
});

// A delivery sent ahead (pipelined after its predecessor's 2xx) while Redis is frozen past the
// lease: its claim reaches Redis only after the lease expired and is refused, so Redis never
// learns that the request left. The next owner must not send it again under the same attempt
// number, and the history must show both requests.
describe('a delivery sent ahead whose claim Redis refused (real redis-server frozen past the lease)', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;
  const receivers = receiverPool();
  const stops: Array<() => Promise<void>> = [];

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest'] });
    client = new Redis(redis.url);
  });
  after(async function () {
    redis?.signal('SIGCONT');
    for (const s of stops.splice(0).reverse()) await s();
    await client?.quit();
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
  });

  it('records the early send and gives the next send a new attempt number', async function () {
    const TTL = 1500;
    let frozen = false;
    const r = await receivers.start((_req, body) => {
      if (n(body) === 0 && !frozen) {
        // Redis stops while the head's request is in flight: its 2xx comes back, the finish
        // script (which also claims the next one) is written to the socket, and the next one leaves.
        frozen = true;
        redis.signal('SIGSTOP');
        return { status: 200, delayMs: 50 };
      }
      return { status: 200 };
    });
    const ep = endpoint({ name: 'ahead', spec: { source: { provider: 'none' }, destination: { url: r.url, timeoutSeconds: 1 }, ordering: { mode: 'strict' } } });
    await app.putEndpoint(ep);
    for (const i of [0, 1]) await app.post('/in/default/ahead', JSON.stringify({ n: i }));

    const owner = async (name: string) => {
      const conn = createRedis(redis.url, { enableAutoPipelining: false });
      const ref = { endpointId: ep.id, partition: 0 };
      const started = performance.now();
      const token = await acquireLease(conn, app.shared.keys, ref, name, TTL);
      expect(token, `${name} gets the lease`).to.be.above(0);
      let lost!: () => void;
      const gone = new Promise<void>((ok) => (lost = ok));
      const worker = startWorker({
        shared: app.shared, redis: conn, sender: createSender({ allowedDestinations: ['127.0.0.0/8'] }), lease: { ...ref, owner: name, token },
        leaseValidUntil: () => started + TTL * 0.8, now: Date.now, random: Math.random, idlePollMs: 50, onLost: () => lost(),
        outage: createOutageLog(app.shared.log, 'redis'),
      });
      stops.push(async () => {
        await worker.stop();
        conn.disconnect();
      });
      return { gone, started };
    };

    const a = await owner('owner-a');
    await r.until((rs) => rs.some((x) => n(x.body) === 1), 10_000);
    expect(r.receipts.find((x) => n(x.body) === 1)!.headers['x-redeliver-attempt']).to.equal('1');
    // Frozen past the lease, then thawed: owner A's claim is refused and A stops.
    await waitFor(async () => performance.now() > a.started + TTL + 300, 10_000, 'the lease has expired');
    redis.signal('SIGCONT');
    await a.gone;

    await owner('owner-b');
    const k = app.shared.keys.endpoint(ep.id);
    const ids = (await client.xrange(k.deliveryLog, '-', '+')).map((e) => e[1][1]!);
    await waitFor(async () => (await Promise.all(ids.map((id) => client.hget(k.delivery(id), 'status')))).every((s) => s === 'DELIVERED'), 15_000, 'both delivered');

    const second = r.receipts.filter((x) => n(x.body) === 1);
    const numbers = second.map((x) => x.headers['x-redeliver-attempt']);
    expect(numbers, 'attempt numbers of the requests that carried event 1').to.deep.equal([...new Set(numbers)]);
    const history = await getAttempts(app.shared.redis, app.shared.keys, ep.id, ids[1]!);
    expect(history.map((h) => String(h.attempt)), 'the history shows every request that left').to.deep.equal(numbers);
    expect(history.map((h) => h.classification)).to.deep.equal(numbers.map(() => 'consumer_2xx'));
    // The one sent ahead of the claim Redis refused says so; the one sent again in order does not.
    expect(history.map((h) => h.unconfirmed === true)).to.deep.equal(numbers.map((_, i) => i < numbers.length - 1));
    expect(await client.hget(k.delivery(ids[1]!), 'attempts')).to.equal(String(numbers.length));
  });
});

describe('a dispatcher during a Redis outage (real redis-server killed and restarted)', function () {
  this.timeout(40_000);
  let redis: TestRedis;
  let app: TestApp;
  const receivers = receiverPool();
  const lines: Array<Record<string, unknown>> = [];

  before(async function () {
    redis = await startTestRedis({ fsync: 'always' });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'], config: { leaseTtlMs: 1500, logLevel: 'info' }, logTo: sink });
  });
  after(async function () {
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
  });

  it('logs the outage once and its end once, however many calls fail in between, then delivers again', async function () {
    const r = await receivers.start();
    // A short timeout: a head whose recorded outcome was lost with Redis is sent again after it.
    const eps = [0, 1, 2].map((i) => endpoint({ name: `quiet${i}`, spec: { source: { provider: 'none' }, destination: { url: r.url, timeoutSeconds: 2 } } }));
    for (const ep of eps) await app.putEndpoint(ep);
    for (const ep of eps) await app.post(`/in/default/${ep.name}`, JSON.stringify({ n: 0 }));
    await r.until((rs) => rs.length >= 3, 10_000);
    const before = lines.length;
    redis.signal('SIGKILL');
    await waitFor(async () => lines.slice(before).some((l) => String(l.msg).includes('redis unavailable')), 10_000, 'the outage is logged');
    // Several lease rounds (every ttl/3 = 500 ms) and worker retries fail meanwhile.
    const down = Date.now();
    await waitFor(async () => Date.now() - down > 3000, 10_000, 'the outage has lasted a while');
    await redis.restart();
    await waitFor(async () => lines.slice(before).some((l) => String(l.msg).includes('redis available again')), 15_000, 'the recovery is logged');
    const after = lines.slice(before);
    const during = after.slice(0, after.findIndex((l) => String(l.msg).includes('redis available again')) + 1);
    const loud = during.filter((l) => Number(l.level) >= 40).map((l) => l.msg);
    expect(loud, 'warnings and errors while Redis was down').to.deep.equal(['redis unavailable: the dispatcher backs off and retries quietly until it is back']);
    expect(after.filter((l) => String(l.msg).includes('redis available again'))).to.have.length(1);
    for (const ep of eps) await app.post(`/in/default/${ep.name}`, JSON.stringify({ n: 1 }));
    await r.until((rs) => rs.filter((x) => n(x.body) === 1).length >= 3, 15_000);
  });
});
