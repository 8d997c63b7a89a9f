// The delivery loop's pure steps (src/dispatch/steps.ts) with an injected clock and randomness:
// the request for a claimed delivery (its signature checked by the standardwebhooks library),
// settling an attempt (classify, record, next: pipelined or not), a request sent ahead whose claim
// was refused, and which wake-ups bring a head to send.
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { PIPELINE_WINDOW_MS } from '../../src/dispatch/gate.ts';
import type { SendResult } from '../../src/dispatch/sender.ts';
import { keepsWokenHead, request, settle, streamIdAfter, unconfirmedAttempt } from '../../src/dispatch/steps.ts';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import type { ClaimedDelivery } from '../../src/store/dispatch.ts';
import { endpoint } from '../support/fixtures.ts';

const SIGNING = 'whsec_' + Buffer.from('steps-test-signing-secret-32byte').toString('base64');
const T = Date.UTC(2026, 10, 30, 12, 0, 0);

const ep = (spec: Record<string, unknown> = {}, signed = false): ResolvedEndpoint => endpoint({
  name: 'steps',
  spec: {
    source: { provider: 'none' },
    destination: { url: 'http://127.0.0.1:9/hook', timeoutSeconds: 10, headers: { 'x-team': 'payments' },
      ...(signed ? { signing: { secretRef: { name: 's', key: 'signing' } } } : {}) },
    retry: { maxAttempts: 3, backoff: { initialSeconds: 1, maxSeconds: 60, multiplier: 2, jitter: 0 } },
    ...spec,
  },
  ...(signed ? { signingSecret: SIGNING } : {}),
});

const claimed = (over: Partial<ClaimedDelivery> = {}): ClaimedDelivery => ({
  source: 'queue', queueEntryId: '1700000000000-3', id: 'd-1', eventId: 'evt_1', eventType: 'invoice.paid', attempt: 1, maxAttempts: 3,
  resendSeq: '0', destinationUrl: '', startedAt: new Date(T).toISOString(), eventHeaders: { 'content-type': 'application/json; charset=utf-8' },
  body: Buffer.from('{"id":"evt_1"}'), ...over,
});

const got = (status: number | undefined, over: Partial<SendResult> = {}): SendResult => ({
  result: status === undefined ? { kind: 'error', classification: 'connection_refused' } : { kind: 'response', status },
  statusCode: status, body: status === undefined ? '' : 'ok', error: status === undefined ? 'ECONNREFUSED' : '', durationMs: 12.4, ...over,
});

// Monotonic clock: claimed at 1,000 ms, lease good until 20,000 ms.
const at = (now: number, over: { stopped?: boolean; leaseValidUntil?: number } = {}) =>
  ({ nowMs: T, random: 0.5, stopped: over.stopped ?? false, clock: { now, claimedAt: 1000, leaseValidUntil: over.leaseValidUntil ?? 20_000 } });

describe('delivery loop steps', function () {
  it('builds the request: identity headers, the endpoint\'s headers and the event\'s content type', function () {
    const r = request(ep(), claimed({ attempt: 2, resendSeq: '1' }), T);
    expect(r.url).to.equal('http://127.0.0.1:9/hook');
    expect(r.headers).to.include({
      'content-type': 'application/json; charset=utf-8', 'webhook-id': 'evt_1', 'x-redeliver-delivery-id': 'd-1',
      'x-redeliver-attempt': '2', 'x-redeliver-resend-seq': '1', 'x-redeliver-event-type': 'invoice.paid', 'x-team': 'payments',
    });
    expect(r.headers).to.not.have.property('webhook-signature');
    expect(r.body.toString()).to.equal('{"id":"evt_1"}');
    // A replay's destination override wins.
    expect(request(ep(), claimed({ destinationUrl: 'http://127.0.0.1:9/replay' }), T).url).to.equal('http://127.0.0.1:9/replay');
  });

  it('signs with Standard Webhooks at the injected time, which the standardwebhooks library verifies', function () {
    const r = request(ep({}, true), claimed(), T);
    expect(r.headers['webhook-timestamp']).to.equal(String(T / 1000));
    const wh = new Webhook(SIGNING);
    // The library checks the timestamp against its own clock: verify at the injected time.
    const realNow = Date.now;
    Date.now = () => T + 1000;
    try {
      expect(wh.verify(r.body.toString(), r.headers)).to.deep.equal({ id: 'evt_1' });
      expect(() => wh.verify('{"id":"evt_2"}', r.headers)).to.throw();
    } finally {
      Date.now = realNow;
    }
  });

  it('settles a 2xx as delivered and sends the look-ahead at once, soon after the claim', function () {
    const next = claimed({ id: 'd-2', queueEntryId: '1700000000000-4', startedAt: '' });
    const s = settle(ep(), claimed({ next }), got(200), at(1000 + PIPELINE_WINDOW_MS - 1));
    expect(s.decision.step).to.equal('delivered');
    expect(s.finish).to.include({ deliveryId: 'd-1', attemptNumber: 1, outcome: 'delivered', statusCode: 200, classification: '', retryDelayMs: undefined });
    expect(s.finish.attempt).to.include({ attempt: 1, status_code: 200, classification: 'consumer_2xx', duration_ms: 12 });
    expect(s.pipelined?.id).to.equal('d-2');
  });

  it('claims the next head as usual when the head was slow, the lease is ending, the loop stops or there is no look-ahead', function () {
    const next = claimed({ id: 'd-2' });
    expect(settle(ep(), claimed({ next }), got(200), at(1000 + PIPELINE_WINDOW_MS)).pipelined).to.equal(undefined);
    expect(settle(ep(), claimed({ next }), got(200), at(1100, { leaseValidUntil: 1100 })).pipelined).to.equal(undefined);
    expect(settle(ep(), claimed({ next }), got(200), at(1100, { stopped: true })).pipelined).to.equal(undefined);
    expect(settle(ep(), claimed(), got(200), at(1100)).pipelined).to.equal(undefined);
  });

  it('settles a failure as a retry with its backoff, and never pipelines after it', function () {
    const s = settle(ep(), claimed({ attempt: 2, next: claimed({ id: 'd-2' }) }), got(503), at(1100));
    // Attempt 2 of 3, backoff 1 s doubling, no jitter: 2 s.
    expect(s.decision).to.include({ step: 'retry', classification: 'consumer_5xx', delayMs: 2000 });
    expect(s.finish).to.include({ outcome: 'retry', classification: 'consumer_5xx', retryDelayMs: 2000, statusCode: 503 });
    expect(s.finish.attempt.next_attempt_in_ms).to.equal(2000);
    expect(s.pipelined).to.equal(undefined);
  });

  it('settles the last attempt by the endpoint\'s policy: block the scope, or dead-letter', function () {
    const blocked = settle(ep(), claimed({ attempt: 3 }), got(undefined), at(1100));
    expect(blocked.finish).to.include({ outcome: 'block', classification: 'connection_refused', error: 'ECONNREFUSED' });
    const dead = settle(ep({ retry: { maxAttempts: 3, onExhausted: 'deadletter' } }), claimed({ attempt: 3 }), got(410), at(1100));
    expect(dead.finish).to.include({ outcome: 'deadletter', classification: 'consumer_4xx', retryDelayMs: undefined });
  });

  it('records a request sent ahead whose claim was refused as unconfirmed, with no next attempt of its own', function () {
    const a = unconfirmedAttempt(ep(), claimed({ attempt: 4 }), '2026-11-30T12:00:00.000Z', got(500), T);
    expect(a).to.include({ attempt: 4, started_at: '2026-11-30T12:00:00.000Z', status_code: 500, classification: 'consumer_5xx', unconfirmed: true });
    expect(a.next_attempt_in_ms).to.equal(null);
  });

  it('keeps a woken head only in a loop asleep on an empty partition, and only one it has not claimed yet', function () {
    const head = claimed({ queueEntryId: '1700000000001-0' });
    expect(keepsWokenHead(head, { idleOnEmpty: true, asleep: true, lastQueueEntry: '1700000000000-9' })).to.equal(true);
    expect(keepsWokenHead(head, { idleOnEmpty: true, asleep: true, lastQueueEntry: '1700000000001-0' })).to.equal(false);
    expect(keepsWokenHead(head, { idleOnEmpty: false, asleep: true, lastQueueEntry: '0-0' })).to.equal(false);
    expect(keepsWokenHead(head, { idleOnEmpty: true, asleep: false, lastQueueEntry: '0-0' })).to.equal(false);
    expect(streamIdAfter('5-10', '5-9')).to.equal(true);
    expect(streamIdAfter('10-0', '9-99')).to.equal(true);
    expect(streamIdAfter('9-99', '10-0')).to.equal(false);
  });
});
