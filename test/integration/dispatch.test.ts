// The dispatcher on a real redis-server with real receivers: order, retries, block and
// deadletter, the attempt record, and outbound Standard Webhooks signatures.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { createDispatcher } from '../../src/dispatch/dispatcher.ts';
import type { Shared } from '../../src/lib/runtime.ts';
import { createRedis } from '../../src/store/redis.ts';
import { applyRetention } from '../../src/dispatch/retention.ts';
import { choosePartition } from '../../src/domain/event.ts';
import { getAttempts, getDelivery, resendDelivery, unblockPartition } from '../../src/store/deliveries.ts';
import { latestDeliveryId } from '../../src/store/listing.ts';
import { recordEarlySend } from '../../src/store/dispatch.ts';
import { endpoint } from '../support/fixtures.ts';
import { receiverPool, startReceiver, type Receiver } from '../support/receiver.ts';
import { startReplyDropper } from '../support/reply-dropper.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, useTestStack, type TestApp } from '../support/app.ts';
import { waitFor } from '../support/wait.ts';

const SIGNING = 'whsec_' + Buffer.from('outbound-signing-secret-32-bytes').toString('base64');
const fastRetry = (maxAttempts: number, onExhausted?: string) => ({
  maxAttempts, backoff: { initialSeconds: 0.01, maxSeconds: 0.05, multiplier: 2, jitter: 0 }, ...(onExhausted ? { onExhausted } : {}),
});

describe('dispatcher (real redis-server, real receivers)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;
  const receivers = receiverPool();

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'] });
    client = new Redis(redis.url);
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await receivers.closeAll();
    await redis?.stop();
  });

  const receiver = receivers.start;
  // Read through the store's reader, as every caller reads a record (stored compact).
  const delivery = async (id: string, epId: string): Promise<Record<string, string>> => (await getDelivery(app.shared.redis, app.shared.keys, epId, id)) ?? {};
  const attempts = (id: string, epId: string) => getAttempts(app.shared.redis, app.shared.keys, epId, id);

  it('delivers in receive order, signed with Standard Webhooks, and records the attempt', async function () {
    const r = await receiver();
    const ep = endpoint({ name: 'ordered', spec: { source: { provider: 'none' }, destination: { url: r.url + '/hook', signing: { secretRef: { name: 's', key: 'signing' } } } }, signingSecret: SIGNING });
    await app.putEndpoint(ep);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await app.post('/in/default/ordered', JSON.stringify({ n: i }));
      ids.push(res.json.event_id as string);
    }
    await r.until((rs) => rs.length >= 30);
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([...Array(30).keys()]);
    const wh = new Webhook(SIGNING);
    for (const x of r.receipts) {
      expect(() => wh.verify(x.body.toString(), x.headers as Record<string, string>)).not.to.throw();
    }
    expect(r.receipts.map((x) => x.headers['webhook-id'])).to.deep.equal(ids);
    const dId = r.receipts[0]!.headers['x-redeliver-delivery-id'] as string;
    await waitFor(async () => (await delivery(dId, ep.id)).status === 'DELIVERED');
    const d = await delivery(dId, ep.id);
    expect(d).to.include({ status: 'DELIVERED', attempts: '1', last_response_status: '200' });
    const [a] = await attempts(dId, ep.id);
    expect(a).to.include({ attempt: 1, status_code: 200, classification: 'consumer_2xx' });
  });

  it('retries 500s and honours Retry-After on 429, keeping later events behind', async function () {
    const r = await receiver((_req, body, n) => {
      const ev = JSON.parse(body.toString()) as { n: number };
      if (ev.n === 0 && n === 0) return { status: 500, body: 'boom' };
      if (ev.n === 0 && n === 1) return { status: 429, headers: { 'retry-after': '1' } };
      return { status: 200 };
    });
    const ep = endpoint({ name: 'flaky', spec: { source: { provider: 'none' }, destination: { url: r.url }, retry: { ...fastRetry(5), backoff: { initialSeconds: 0.01, maxSeconds: 5, multiplier: 2, jitter: 0 } } } });
    await app.putEndpoint(ep);
    await app.post('/in/default/flaky', JSON.stringify({ n: 0 }));
    await app.post('/in/default/flaky', JSON.stringify({ n: 1 }));
    await r.until((rs) => rs.filter((x) => x.status === 200).length >= 2);
    const seq = r.receipts.map((x) => [JSON.parse(x.body.toString()).n, x.status]);
    expect(seq).to.deep.equal([[0, 500], [0, 429], [0, 200], [1, 200]]);
    expect(r.receipts[2]!.at - r.receipts[1]!.at).to.be.at.least(950);
    const id = r.receipts[0]!.headers['x-redeliver-delivery-id'] as string;
    const as = await attempts(id, ep.id);
    expect(as.map((a) => a.classification)).to.deep.equal(['consumer_5xx', 'rate_limited', 'consumer_2xx']);
    expect(as[0]).to.include({ response_body: 'boom' });
    expect(r.receipts.slice(0, 3).map((x) => x.headers['x-redeliver-attempt'])).to.deep.equal(['1', '2', '3']);
    // Delivered: the record and its attempts list expire with the endpoint's retention.
    const k = app.shared.keys.endpoint(ep.id);
    expect(await client.ttl(k.delivery(id))).to.be.greaterThan(0);
    expect(await client.ttl(k.attempts(id))).to.be.greaterThan(0);
  });

  it('blocks an ordered partition when attempts run out, and dead-letters when told to', async function () {
    const bad = await receiver((_req, body) => (JSON.parse(body.toString()).n === 0 ? { status: 503 } : { status: 200 }));
    const blocking = endpoint({ name: 'blocking', spec: { source: { provider: 'none' }, destination: { url: bad.url }, retry: fastRetry(3) } });
    const dead = endpoint({ name: 'dead', spec: { source: { provider: 'none' }, destination: { url: bad.url + '/dead' }, retry: fastRetry(2, 'deadletter') } });
    await app.putEndpoint(blocking);
    await app.putEndpoint(dead);
    for (const n of [0, 1]) {
      await app.post('/in/default/blocking', JSON.stringify({ n }));
      await app.post('/in/default/dead', JSON.stringify({ n }));
    }
    await bad.until((rs) => rs.filter((x) => x.headers['x-redeliver-attempt'] && x.body.toString().includes('"n":1')).length >= 1);
    const k = app.shared.keys.endpoint(blocking.id);
    await waitFor(async () => (await client.hget(k.blocked, '0')) !== null);
    const blockedId = (await client.hget(k.blocked, '0'))!;
    // Blocked, not failed: it stays PENDING at the head and is tried again every blockedRetrySeconds.
    expect(await delivery(blockedId, blocking.id)).to.include({ status: 'PENDING', attempts: '3', last_failure_reason: 'consumer_5xx' });
    // Only the dead-letter endpoint moved on to n=1.
    const n1 = bad.receipts.filter((x) => x.body.toString().includes('"n":1'));
    expect(n1).to.have.length(1);
    expect(bad.receipts.filter((x) => x.body.toString().includes('"n":0'))).to.have.length(5);
  });

  it('drops events past retention, but never one a partition head still needs', async function () {
    const r = await receiver((_req, body) => (JSON.parse(body.toString()).n === 1 ? { status: 500 } : { status: 200 }));
    const ep = endpoint({ name: 'retention', spec: { source: { provider: 'none' }, destination: { url: r.url }, retry: fastRetry(2), retention: { seconds: 60 } } });
    await app.putEndpoint(ep);
    const ids: string[] = [];
    for (const n of [0, 1, 2]) ids.push((await app.post('/in/default/retention', JSON.stringify({ n }))).json.event_id as string);
    const k = app.shared.keys.endpoint(ep.id);
    await waitFor(async () => (await client.hget(k.blocked, '0')) !== null);
    const removed = await applyRetention(app.shared, ep, Date.now() + 3_600_000);
    expect(removed).to.equal(1);
    const left = await client.xrange(k.events, '-', '+');
    expect(left.map((e) => e[1][1])).to.deep.equal(ids.slice(1));
    expect(await client.hexists(k.eventIndex, ids[0]!)).to.equal(0);
    const firstDelivery = r.receipts[0]!.headers['x-redeliver-delivery-id'] as string;
    expect(await client.ttl(k.delivery(firstDelivery))).to.be.within(1, 60);
    // Its record lives on, its event does not: a resend is refused instead of sending no payload.
    await expectCode(resendDelivery(app.shared.redis, app.shared.keys, ep.id, firstDelivery), 'event_expired', 410);
  });

  it('fails a delivery whose event is gone as event_expired, and lets its record expire like any ended one', async function () {
    const r = await receiver();
    const ep = endpoint({ name: 'vanished', spec: { source: { provider: 'none' }, destination: { url: r.url }, retention: { seconds: 60 }, paused: true } });
    await app.putEndpoint(ep);
    const res = await app.post('/in/default/vanished', JSON.stringify({ n: 0 }));
    const k = app.shared.keys.endpoint(ep.id);
    const id = (await latestDeliveryId(app.shared.redis, app.shared.keys, ep.id, res.json.event_id as string))!;
    // Its event removed under it, as retention would remove an event no head protects.
    const [entry] = await client.xrange(k.events, '-', '+');
    expect(await client.xdel(k.events, entry![0])).to.equal(1);
    await app.putEndpoint({ ...ep, spec: { ...ep.spec, paused: false }, updatedAt: new Date().toISOString() });
    await waitFor(async () => (await delivery(id, ep.id)).status === 'FAILED', 10_000, 'failed as event_expired');
    expect(await delivery(id, ep.id)).to.include({ last_failure_reason: 'event_expired' });
    await waitFor(async () => (await client.ttl(k.delivery(id))) > 0, 5_000, 'the record has its retention TTL');
    expect(r.receipts).to.have.length(0);
  });

  it('spaces deliveries by spec.rateLimit', async function () {
    const r = await receiver();
    const ep = endpoint({ name: 'paced', spec: { source: { provider: 'none' }, destination: { url: r.url }, rateLimit: { perSecond: 20 } } });
    await app.putEndpoint(ep);
    for (let n = 0; n < 6; n++) await app.post('/in/default/paced', JSON.stringify({ n }));
    await r.until((rs) => rs.length >= 6);
    const gaps = r.receipts.slice(1).map((x, i) => x.at - r.receipts[i]!.at);
    // 20/s on one partition: at least ~50 ms apart (a little slack for timer granularity).
    for (const g of gaps) expect(g).to.be.at.least(45);
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('classifies refused connections and blocks private destinations unless allowed', async function () {
    const refused = endpoint({ name: 'refused', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:1/x' }, retry: fastRetry(1, 'deadletter') } });
    const metadata = endpoint({ name: 'metadata', spec: { source: { provider: 'none' }, destination: { url: 'http://169.254.169.254/latest' }, retry: fastRetry(1, 'deadletter') } });
    await app.putEndpoint(refused);
    await app.putEndpoint(metadata);
    const a = await app.post('/in/default/refused', '{}');
    const b = await app.post('/in/default/metadata', '{}');
    void a; void b;
    const last = async (epId: string) => {
      const ids = await client.xrange(app.shared.keys.endpoint(epId).deliveryLog, '-', '+');
      return delivery(ids.at(-1)![1][1]!, epId);
    };
    await waitFor(async () => (await last(refused.id)).status === 'FAILED' && (await last(metadata.id)).status === 'FAILED');
    expect((await last(refused.id)).last_failure_reason).to.equal('connection_refused');
    expect((await last(metadata.id)).last_failure_reason).to.equal('destination_blocked');
  });
});

// Each test below runs its own dispatcher (a ten-minute idle poll, so only wake-ups move it).
describe('dispatcher wake-ups and lost Redis answers (real redis-server, real receivers)', function () {
  const s = useTestStack({ roles: ['ingest'] });
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async function () {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A dispatcher of the test's own (on `shared`), a receiver, and a strict endpoint it owns. */
  async function partitionOwnedBy(name: string, destination: Record<string, unknown> = {}, shared: Shared = s.app.shared) {
    const dispatcher = createDispatcher(shared, { idlePollMs: 600_000 });
    await dispatcher.start!();
    cleanups.push(() => dispatcher.close!());
    const r = await startReceiver();
    cleanups.push(() => r.close());
    const ep = endpoint({ name, spec: { source: { provider: 'none' }, destination: { url: r.url + '/hook', ...destination }, ordering: { mode: 'strict' } } });
    await s.app.putEndpoint(ep);
    await waitFor(async () => dispatcher.owned().some((l) => l.endpointId === ep.id), 15_000, 'the dispatcher owns the partition');
    return { r, ep };
  }

  it('never sleeps through a wake: each event of a trickle is delivered without waiting for the idle poll', async function () {
    this.timeout(60_000);
    // The idle poll is ten minutes: an event whose wake-up is lost waits for it, or for the
    // dispatcher's next lease round (which wakes its partitions, every few seconds).
    const { r } = await partitionOwnedBy('trickle');
    // One event at a time, each sent the moment the previous one arrives: the partition goes
    // idle between events, so every delivery depends on its wake-up (the race is the wake landing
    // between the claim that found the queue empty and the sleep after it).
    for (let i = 0; i < 300; i++) {
      expect((await s.app.post('/in/default/trickle', JSON.stringify({ n: i }))).status).to.equal(202);
      await r.until((rs) => rs.length > i, 2_000);
    }
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([...Array(300).keys()]);
  });

  const counter = async (name: string, labels: Record<string, string>) => {
    const metric = (await s.app.shared.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    return metric.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
  };

  it('sends the event of an idle partition straight from its wake-up, claimed in Redis, in order', async function () {
    const { r, ep } = await partitionOwnedBy('woken');
    const k = s.app.shared.keys.endpoint(ep.id);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await s.app.post('/in/default/woken', JSON.stringify({ n: i }));
      ids.push(res.json.event_id as string);
      // Idle again before the next one: recorded DELIVERED and nothing queued.
      await r.until((rs) => rs.length > i);
      const latest = () => latestDeliveryId(s.app.shared.redis, s.app.shared.keys, ep.id, ids[i]!);
      await waitFor(async () => (await s.client.hget(k.delivery((await latest())!), 'status')) === 'DELIVERED' && (await s.client.xlen(k.queue(0))) === 0);
    }
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([...Array(20).keys()]);
    expect(r.receipts.map((x) => x.headers['webhook-id'])).to.deep.equal(ids);
    expect(r.receipts.every((x) => x.headers['x-redeliver-attempt'] === '1')).to.equal(true);
    // Each one was sent from its wake-up, and each claim named it (no miss).
    expect(await counter('redeliver_dispatch_pipelined_total', { endpoint: ep.id, via: 'wakeup' })).to.be.at.least(15);
    expect(await counter('redeliver_dispatch_pipeline_misses_total', { endpoint: ep.id })).to.equal(0);
    // The record is as for any delivery: one attempt, with its start time.
    const record = (await getDelivery(s.app.shared.redis, s.app.shared.keys, ep.id, (await latestDeliveryId(s.app.shared.redis, s.app.shared.keys, ep.id, ids[19]!))!))!;
    expect(record).to.include({ status: 'DELIVERED', attempts: '1' });
    const attempts = await getAttempts(s.app.shared.redis, s.app.shared.keys, ep.id, record.id!);
    expect(attempts).to.have.length(1);
    expect(attempts[0]).to.include({ attempt: 1, classification: 'consumer_2xx', status_code: 200 });
    expect(attempts[0]!.started_at).to.equal(record.last_attempt_at);
    // A single short attempt is kept in the record itself: no attempts list key for it.
    expect(await s.client.exists(k.attempts(record.id!))).to.equal(0);
    expect(await s.client.hexists(k.delivery(record.id!), 'a1')).to.equal(1);
  });

  it('never waits on a wake-up subscription Redis does not confirm: every partition runs, and it closes at once', async function () {
    this.timeout(30_000);
    // On a cluster, ioredis never settles an SSUBSCRIBE that a node answers with MOVED: the
    // wake-up connection here forwards every call but that one, whose answer never comes.
    const asked: string[] = [];
    const shared: Shared = {
      ...s.app.shared,
      connect: (name, o) => {
        const c = s.app.shared.connect(name, o);
        if (name !== 'dispatch-wake') return c;
        return new Proxy(c, {
          get(target, prop) {
            if (prop === 'ssubscribe') return (...channels: string[]) => (asked.push(...channels), new Promise(() => undefined));
            const v = Reflect.get(target, prop, target) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
      },
    };
    const r = await startReceiver();
    cleanups.push(() => r.close());
    const ep = endpoint({ name: 'unconfirmed', spec: { source: { provider: 'none' }, destination: { url: r.url + '/hook' }, ordering: { mode: 'key', key: '/k', partitions: 8 } } });
    await s.app.putEndpoint(ep);
    // Dispatchers of earlier tests counted their partitions lost when they closed.
    const lostBefore = await counter('redeliver_dispatch_lease_changes_total', { change: 'lost' });
    const dispatcher = createDispatcher(shared, { idlePollMs: 200 });
    await dispatcher.start!();
    cleanups.push(() => dispatcher.close!());
    expect(dispatcher.owned().filter((l) => l.endpointId === ep.id)).to.have.length(8);
    // One subscription asked for the endpoint, not one per partition or per lease round.
    expect(asked.filter((c) => c === s.app.shared.keys.endpoint(ep.id).wake)).to.have.length(1);
    for (const k of ['a', 'b', 'c']) expect((await s.app.post('/in/default/unconfirmed', JSON.stringify({ k }))).status).to.equal(202);
    await r.until((rs) => rs.length >= 3, 10_000);
    expect(await counter('redeliver_dispatch_lease_changes_total', { change: 'lost' })).to.equal(lostBefore);
    // Closing waits on nothing it asked Redis for.
    await dispatcher.close!();
  });

  it('gives an attempt recorded after its delivery ended the record\'s retention TTL', async function () {
    const ep = endpoint({ name: 'late', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' } } });
    await s.app.putEndpoint(ep);
    const res = await s.app.post('/in/default/late', JSON.stringify({ n: 0 }));
    const k = s.app.shared.keys.endpoint(ep.id);
    const id = (await latestDeliveryId(s.app.shared.redis, s.app.shared.keys, ep.id, res.json.event_id as string))!;
    // Ended as finish.lua leaves it: its one attempt inline (no attempts list), a retention TTL.
    await s.client.hset(k.delivery(id), 'status', 'DELIVERED', 'attempts', '1', 'a1', '{"n":1,"c":"consumer_2xx"}');
    await s.client.expire(k.delivery(id), 600);
    // A request sent ahead under attempt 2, whose claim Redis never confirmed, is recorded late.
    await recordEarlySend(s.app.shared.redis, s.app.shared.keys, ep.id, id, 2,
      { attempt: 2, classification: 'consumer_2xx', status_code: 200, response_body: 'x'.repeat(100) }, Date.now());
    expect(await s.client.llen(k.attempts(id))).to.equal(1);
    expect(await s.client.pttl(k.attempts(id))).to.be.within(1, 600_000);
  });

  it('makes a lost consumer group again (NOGROUP, as after a Redis restart without its data) and goes on in order', async function () {
    const { r, ep } = await partitionOwnedBy('nogroup');
    const k = s.app.shared.keys.endpoint(ep.id);
    expect((await s.app.post('/in/default/nogroup', JSON.stringify({ n: 0 }))).status).to.equal(202);
    await r.until((rs) => rs.length >= 1);
    await waitFor(async () => (await s.client.xlen(k.queue(0))) === 0, 5_000, 'the first one finished');
    await s.client.xgroup('DESTROY', k.queue(0), 'dispatch');
    for (let i = 1; i <= 3; i++) expect((await s.app.post('/in/default/nogroup', JSON.stringify({ n: i }))).status).to.equal(202);
    await r.until((rs) => rs.length >= 4, 5_000);
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([0, 1, 2, 3]);
  });

  it('neither stalls nor sends again when the answer to a claim or a finish is lost and ioredis repeats the script', async function () {
    this.timeout(60_000);
    const dropper = await startReplyDropper(s.redis.port);
    // The dispatcher's script connection goes through the proxy; everything else is direct.
    const shared: Shared = { ...s.app.shared, connect: (name, opts) => (name === 'dispatch' ? createRedis(dropper.url, opts) : s.app.shared.connect(name, opts)) };
    cleanups.push(async () => dropper.close());
    // A takeover wait (timeout + 1 s = 11 s) would blow the receiver's 5 s wait below.
    const { r, ep } = await partitionOwnedBy('lostreply', { timeoutSeconds: 10 }, shared);
    // Every third script call on that connection loses its answer: claims after a wake-up,
    // finishes with and without a pipelined next, in idle stretches and in bursts.
    dropper.dropReplyAfter('lostreply', { every: 3, times: 1000 });
    const ids: string[] = [];
    const post = async (n: number) => ids.push((await s.app.post('/in/default/lostreply', JSON.stringify({ n }))).json.event_id as string);
    for (let i = 0; i < 30; i++) {
      await post(i);
      if (i % 3 === 0) await r.until((rs) => rs.length > i, 5_000); // idle between some of them
    }
    await r.until((rs) => rs.length >= 30, 5_000);
    expect(dropper.droppedCount(), 'answers lost').to.be.at.least(5);
    expect(r.receipts.map((x) => JSON.parse(x.body.toString()).n), 'each once, in order').to.deep.equal([...Array(30).keys()]);
    const k = s.app.shared.keys.endpoint(ep.id);
    await waitFor(async () => (await s.client.hget(k.stats, 'delivered')) === '30', 5_000, 'all 30 recorded DELIVERED');
    for (const id of ids) {
      const d = (await latestDeliveryId(s.app.shared.redis, s.app.shared.keys, ep.id, id))!;
      const attempts = (await getAttempts(s.app.shared.redis, s.app.shared.keys, ep.id, d)).map((a) => a.classification);
      expect(attempts, `attempts of ${id}`).to.deep.equal(['consumer_2xx']);
    }
  });
});

describe('resend and unblock (real redis-server, real receivers)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;
  let r: Receiver;
  let failFirst = true;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url, roles: ['ingest', 'dispatcher'] });
    client = new Redis(redis.url);
    r = await startReceiver((_req, body) => (failFirst && JSON.parse(body.toString()).n === 0 ? { status: 500 } : { status: 200 }));
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await r?.close();
    await redis?.stop();
  });

  it('resends a DELIVERED delivery as a new one (resend_seq + 1), leaving the source untouched; refuses PENDING and inactive endpoints', async function () {
    failFirst = false;
    const ep = endpoint({ name: 'resend', spec: { source: { provider: 'none' }, destination: { url: r.url + '/resend' } } });
    await app.putEndpoint(ep);
    await app.post('/in/default/resend', JSON.stringify({ n: 5 }));
    await r.until((rs) => rs.some((x) => x.headers['x-redeliver-resend-seq'] === '0' && x.body.toString().includes('"n":5')));
    const sourceId = r.receipts.at(-1)!.headers['x-redeliver-delivery-id'] as string;
    await waitFor(async () => (await getDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId))?.status === 'DELIVERED');
    const before = await getDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId);
    const first = await resendDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId);
    const second = await resendDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId);
    expect([first.resendSeq, second.resendSeq]).to.deep.equal([1, 2]);
    await r.until((rs) => rs.filter((x) => x.body.toString().includes('"n":5')).length >= 3);
    const got = r.receipts.filter((x) => x.body.toString().includes('"n":5'));
    expect(got.map((x) => x.headers['x-redeliver-resend-seq'])).to.deep.equal(['0', '1', '2']);
    expect(new Set(got.map((x) => x.headers['webhook-id'])).size).to.equal(1);
    expect(await getDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId)).to.deep.equal(before);
    // A PENDING delivery: pause the endpoint, queue one, try to resend it.
    await app.putEndpoint({ ...ep, spec: { ...ep.spec, paused: true }, updatedAt: new Date().toISOString() });
    await app.post('/in/default/resend', JSON.stringify({ n: 6 }));
    const log = await client.xrange(app.shared.keys.endpoint(ep.id).deliveryLog, '-', '+');
    const pendingId = log.at(-1)![1][1]!;
    await expectCode(resendDelivery(app.shared.redis, app.shared.keys, ep.id, pendingId), 'not_resendable', 409);
    await app.putEndpoint({ ...ep, spec: { ...ep.spec, state: 'disabled' }, updatedAt: new Date().toISOString() });
    await expectCode(resendDelivery(app.shared.redis, app.shared.keys, ep.id, sourceId), 'endpoint_not_active', 409);
    await expectCode(resendDelivery(app.shared.redis, app.shared.keys, ep.id, 'no-such-id'), 'not_found', 404);
  });

  it('puts a resend in the partition its key has under the current layout', async function () {
    const spec = { source: { provider: 'none' }, destination: { url: r.url + '/keyed' }, ordering: { mode: 'key', key: '/k', partitions: 4 } };
    const ep = endpoint({ name: 'keyed', spec });
    await app.putEndpoint(ep);
    for (const key of ['a', 'b', 'c', 'd', 'e']) await app.post('/in/default/keyed', JSON.stringify({ k: key, n: 9 }));
    await r.until((rs) => rs.filter((x) => x.headers['x-redeliver-event-type'] !== undefined && x.body.toString().includes('"k"')).length >= 5);
    const log = await client.xrange(app.shared.keys.endpoint(ep.id).deliveryLog, '-', '+');
    const ids = log.map((e) => e[1][1]!);
    await waitFor(async () => (await Promise.all(ids.map((id) => getDelivery(app.shared.redis, app.shared.keys, ep.id, id)))).every((d) => d?.status === 'DELIVERED'));
    // Same layout: the same partition as the original.
    for (const id of ids) {
      const src = (await getDelivery(app.shared.redis, app.shared.keys, ep.id, id))!;
      const { record } = await resendDelivery(app.shared.redis, app.shared.keys, ep.id, id);
      expect(record.partition, `key ${src.ordering_key}`).to.equal(src.partition);
    }
    // A new layout (8 partitions): the partition ingest would now choose for that key.
    const wider = endpoint({ name: 'keyed', spec: { ...spec, ordering: { mode: 'key', key: '/k', partitions: 8 } } });
    await app.putEndpoint(wider);
    for (const id of ids) {
      const src = (await getDelivery(app.shared.redis, app.shared.keys, ep.id, id))!;
      const { record } = await resendDelivery(app.shared.redis, app.shared.keys, ep.id, id);
      const expected = choosePartition(wider.spec, { providerEventId: undefined, eventType: '', orderingKey: src.ordering_key }, src.event_id!);
      expect(Number(record.partition)).to.equal(expected);
    }
  });

  it('unblocks a blocked partition with retry (new delivery at the head, order kept) or skip', async function () {
    failFirst = true;
    const ep = endpoint({ name: 'unblock', spec: { source: { provider: 'none' }, destination: { url: r.url + '/unblock' }, retry: fastRetry(2) } });
    await app.putEndpoint(ep);
    await app.post('/in/default/unblock', JSON.stringify({ n: 0 }));
    await app.post('/in/default/unblock', JSON.stringify({ n: 1 }));
    const k = app.shared.keys.endpoint(ep.id);
    await waitFor(async () => (await client.hget(k.blocked, '0')) !== null);
    await expectCode(unblockPartition(app.shared.redis, app.shared.keys, ep.id, 3, 'skip', 60), 'not_blocked', 409);
    failFirst = false;
    const { blockedId, newId } = await unblockPartition(app.shared.redis, app.shared.keys, ep.id, 0, 'retry', 60);
    await r.until((rs) => rs.filter((x) => x.headers['x-redeliver-delivery-id'] === newId).length === 1 &&
      rs.some((x) => x.body.toString().includes('"n":1')));
    const path = r.receipts.filter((x) => x.status === 200 && (x.headers['x-redeliver-delivery-id'] === newId || x.body.toString().includes('"n":1')));
    expect(path.map((x) => JSON.parse(x.body.toString()).n)).to.deep.equal([0, 1]);
    expect(await getDelivery(app.shared.redis, app.shared.keys, ep.id, blockedId)).to.include({ status: 'FAILED' });
    expect(await getDelivery(app.shared.redis, app.shared.keys, ep.id, newId!)).to.include({ resend_seq: '1', origin: 'unblock' });
  });
});

async function expectCode(p: Promise<unknown>, code: string, status: number) {
  try {
    await p;
  } catch (err) {
    expect(err).to.include({ code, status });
    return;
  }
  throw new Error(`expected ${code}`);
}
