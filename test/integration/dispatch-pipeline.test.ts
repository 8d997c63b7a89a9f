// The head scripts' contract on a real redis-server (src/store/dispatch.ts, lua/lib-head.lua):
// a claim also reads the next delivery without claiming it; the finish script that is told "I
// already sent that one" claims it only if it really is the next head, and refuses everything
// once the lease is someone else's; a call repeated with the same call id (an answer lost with
// the connection) is answered the same instead of looking like a claim left in flight. The
// dispatcher's order and crash tests (dispatch-order.test.ts) rely on these.
import { expect } from 'chai';
import { createRedis, type RedisClient } from '../../src/store/redis.ts';
import { createKeys, type Keys } from '../../src/store/keys.ts';
import { createRegistry } from '../../src/store/registry.ts';
import { appendEvent } from '../../src/store/events.ts';
import { acquireLease, claimHead, finishAndClaim, type ClaimedDelivery, type FinishInput, type HeadAnswer, type Lease } from '../../src/store/dispatch.ts';
import { getAttempts, unblockPartition } from '../../src/store/deliveries.ts';
import { endpoint } from '../support/fixtures.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';

const TAKEOVER_MS = 31_000;

describe('pipelined claims (real redis-server)', function () {
  let redis: TestRedis;
  let client: RedisClient;
  let keys: Keys;
  let n = 0;
  let c = 0;
  const call = () => `test-${++c}`;

  before(async function () {
    redis = await startTestRedis();
    client = createRedis(redis.url, { enableAutoPipelining: false });
  });
  after(async function () {
    client?.disconnect();
    await redis?.stop();
  });

  /** A strict endpoint with `count` events queued, and this test's lease on its partition. */
  async function partition(count: number): Promise<{ lease: Lease; ids: string[] }> {
    keys = createKeys(randomPrefix());
    const ep = endpoint({ name: `p${n++}`, spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x' }, ordering: { mode: 'strict' } } });
    await createRegistry(client, keys, Buffer.alloc(32, 5)).put(ep);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const r = await appendEvent(client, keys, {
        endpointId: ep.id, eventId: `ev${i}`, deliveryId: `dl${i}`, eventType: 't', providerEventId: undefined, receivedAt: new Date().toISOString(),
        headers: { 'content-type': 'application/json' }, body: Buffer.from(`{"n":${i}}`), maxAttempts: 8, dedupeWindowSeconds: 0, partition: 0, orderingKey: undefined,
      });
      ids.push(r.deliveryId!);
    }
    const ref = { endpointId: ep.id, partition: 0 };
    return { lease: { ...ref, owner: 'me', token: await acquireLease(client, keys, ref, 'me', 60_000) }, ids };
  }

  const delivered = (c: ClaimedDelivery): FinishInput => ({
    deliveryId: c.id, attemptNumber: c.attempt, outcome: 'delivered', attempt: { attempt: c.attempt, classification: 'consumer_2xx' }, source: c.source,
    queueEntryId: c.queueEntryId, statusCode: 200, responseBody: 'ok', error: '', classification: '', retryDelayMs: undefined, retentionSeconds: 0,
  });
  const sendOf = (a: HeadAnswer): ClaimedDelivery => {
    if (a.type !== 'send') throw new Error(`expected a head to send, got ${a.type}`);
    return a.delivery;
  };
  const status = (lease: Lease, id: string) => client.hget(keys.endpoint(lease.endpointId).delivery(id), 'status');

  it('claims the head and reads the next one with its event, leaving it PENDING', async function () {
    const { lease, ids } = await partition(3);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call(), peek: true }));
    expect(head.id).to.equal(ids[0]);
    expect(head.attempt).to.equal(1);
    expect(await status(lease, ids[0]!)).to.equal('SENDING');
    expect(head.next?.id).to.equal(ids[1]);
    expect(head.next?.attempt, 'the number it gets once claimed').to.equal(1);
    expect(head.next?.body.toString()).to.equal('{"n":1}');
    expect(head.next?.startedAt).to.equal('');
    expect(await status(lease, ids[1]!)).to.equal('PENDING');
    // Without peek there is no look-ahead.
    const { lease: other } = await partition(2);
    expect(sendOf(await claimHead(client, keys, other, Date.now(), TAKEOVER_MS, { call: call() })).next).to.equal(undefined);
  });

  it('records the head and claims the delivery already sent, without reading its event again', async function () {
    const { lease, ids } = await partition(3);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call(), peek: true }));
    // The event is removed from the stream: a claim that read it again would mark the delivery
    // event_expired instead of confirming what was already sent.
    const k = keys.endpoint(lease.endpointId);
    const sid = await client.hget(k.delivery(ids[1]!), 'event_sid');
    await client.xdel(k.events, sid!);
    const answer = await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: call(), peek: true, sentNext: head.next });
    const second = sendOf(answer);
    expect(second.id).to.equal(ids[1]);
    expect(second.attempt).to.equal(1);
    expect(second.startedAt).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(second.body.toString(), 'carried over from the look-ahead').to.equal('{"n":1}');
    expect(second.next?.id).to.equal(ids[2]);
    expect(await status(lease, ids[0]!)).to.equal('DELIVERED');
    expect(await client.hmget(k.delivery(ids[1]!), 'status', 'attempts')).to.deep.equal(['SENDING', '1']);
  });

  it('answers with the real head, in full, when the queue changed after the look-ahead', async function () {
    const { lease, ids } = await partition(3);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call(), peek: true }));
    const k = keys.endpoint(lease.endpointId);
    // The look-ahead's queue entry goes away (as if finished elsewhere): the next head is #2.
    await client.xdel(k.queue(0), head.next!.queueEntryId);
    const second = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: call(), peek: true, sentNext: head.next }));
    expect(second.id, 'the caller sees it is not the one it sent').to.equal(ids[2]);
    expect(second.body.toString()).to.equal('{"n":2}');
    expect(await status(lease, ids[1]!)).to.equal('PENDING');
  });

  it('refuses a pipelining owner whose lease was taken over: nothing recorded, nothing claimed', async function () {
    const { lease, ids } = await partition(3);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call(), peek: true }));
    const k = keys.endpoint(lease.endpointId);
    await client.del(k.lease(0));
    await acquireLease(client, keys, { endpointId: lease.endpointId, partition: 0 }, 'successor', 60_000);
    const answer = await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: call(), peek: true, sentNext: head.next });
    expect(answer.type).to.equal('fenced');
    expect(await status(lease, ids[0]!)).to.equal('SENDING');
    expect(await status(lease, ids[1]!)).to.equal('PENDING');
  });

  it('answers a repeated claim (same call id) the same, and makes any other claim wait for the takeover', async function () {
    const { lease, ids } = await partition(2);
    const first = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: 'claim-1', peek: true }));
    const again = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: 'claim-1', peek: true }));
    expect([again.id, again.attempt, again.startedAt, again.body.toString()]).to.deep.equal([first.id, 1, first.startedAt, '{"n":0}']);
    expect(again.next?.id).to.equal(ids[1]);
    expect(await client.hget(keys.endpoint(lease.endpointId).delivery(ids[0]!), 'attempts')).to.equal('1');
    const other = await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: 'claim-2' });
    expect(other.type, 'a different call finds the head in flight').to.equal('wait');
  });

  it('answers a repeated finish (same call id) with its claim again, recording the outcome once', async function () {
    const { lease, ids } = await partition(3);
    const k = keys.endpoint(lease.endpointId);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call(), peek: true }));
    const first = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: 'finish-1', peek: true, sentNext: head.next }));
    const again = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: 'finish-1', peek: true, sentNext: head.next }));
    expect([again.id, again.attempt, again.startedAt]).to.deep.equal([ids[1], 1, first.startedAt]);
    expect(await client.hget(k.stats, 'delivered')).to.equal('1');
    expect(await getAttempts(client, keys, lease.endpointId, ids[0]!)).to.have.length(1);
    expect(await client.hget(k.delivery(ids[1]!), 'attempts')).to.equal('1');
    const other = await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(head), { call: 'finish-2' });
    expect(other.type, 'another call for an attempt already recorded').to.equal('stale');
  });

  it('does not record a repeated retry outcome on the attempt that followed it', async function () {
    const { lease, ids } = await partition(1);
    const k = keys.endpoint(lease.endpointId);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call() }));
    const retry: FinishInput = { ...delivered(head), outcome: 'retry', statusCode: 500, classification: 'consumer_5xx', retryDelayMs: 0 };
    // Due at once: the same script claims the head again as attempt 2.
    const second = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, retry, { call: 'retry-1' }));
    expect([second.id, second.attempt]).to.deep.equal([ids[0], 2]);
    const again = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, retry, { call: 'retry-1' }));
    expect([again.id, again.attempt]).to.deep.equal([ids[0], 2]);
    expect(await client.hmget(k.delivery(ids[0]!), 'status', 'attempts')).to.deep.equal(['SENDING', '2']);
    expect(await getAttempts(client, keys, lease.endpointId, ids[0]!), 'attempt 1 recorded once').to.have.length(1);
  });

  it('keeps a blocked head at the head, claims it again when due, and records its retry even if an unblock ended it meanwhile', async function () {
    const { lease, ids } = await partition(2);
    const k = keys.endpoint(lease.endpointId);
    const head = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call() }));
    const block: FinishInput = { ...delivered(head), outcome: 'block', statusCode: 503, classification: 'consumer_5xx', retryDelayMs: 60_000 };
    expect(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, block, { call: call() })).to.deep.equal({ type: 'blocked', deliveryId: ids[0] });
    expect(await client.hget(k.blocked, '0')).to.equal(ids[0]);
    expect(await client.hget(k.delivery(ids[0]!), 'status'), 'blocked, still to be retried').to.equal('PENDING');
    const waiting = await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call() });
    expect(waiting.type, 'nothing behind it moves; it waits for its next try').to.equal('wait');
    // Due now: claimed again as attempt 2, then unblocked (skip) by an operator while in flight.
    await client.hset(k.delivery(ids[0]!), 'next_attempt_ms', 0);
    const retried = sendOf(await claimHead(client, keys, lease, Date.now(), TAKEOVER_MS, { call: call() }));
    expect([retried.id, retried.attempt]).to.deep.equal([ids[0], 2]);
    await unblockPartition(client, keys, lease.endpointId, 0, 'skip', 0);
    const next = sendOf(await finishAndClaim(client, keys, lease, Date.now(), TAKEOVER_MS, delivered(retried), { call: call() }));
    expect(next.id, 'the partition goes on').to.equal(ids[1]);
    expect(await client.hget(k.delivery(ids[0]!), 'status'), 'ended by the unblock').to.equal('FAILED');
    const history = (await getAttempts(client, keys, lease.endpointId, ids[0]!)).map((a) => a.attempt);
    expect(history, 'the retry in flight is recorded').to.deep.equal([1, 2]);
  });
});
