// Pure delivery-outcome logic with an injected clock and randomness.
import { expect } from 'chai';
import { backoffMs, classify, parseRetryAfter, type AttemptResult } from '../../src/domain/outcome.ts';
import { isAllowedAddress, parseAllowList } from '../../src/dispatch/ssrf.ts';
import { choosePartition, extractEventMeta } from '../../src/domain/event.ts';
import { endpoint } from '../support/fixtures.ts';

const retry = { maxAttempts: 8, backoff: { initialSeconds: 1, maxSeconds: 60, multiplier: 2, jitter: 0.2 } };
const ctx = (attempt: number, random = 0.5, nowMs = 1_000_000) => ({ attempt, maxAttempts: 8, retry, nowMs, random });
const res = (status: number, retryAfter?: string): AttemptResult => ({ kind: 'response', status, retryAfter });

describe('classify', function () {
  it('maps responses and errors to classifications', function () {
    expect(classify(res(204), ctx(1))).to.deep.equal({ type: 'delivered', classification: 'consumer_2xx' });
    expect(classify(res(404), ctx(1)).classification).to.equal('consumer_4xx');
    expect(classify(res(502), ctx(1)).classification).to.equal('consumer_5xx');
    expect(classify(res(301), ctx(1)).classification).to.equal('consumer_3xx');
    expect(classify(res(429), ctx(1)).classification).to.equal('rate_limited');
    expect(classify({ kind: 'error', classification: 'consumer_response_timeout' }, ctx(1)).classification).to.equal('consumer_response_timeout');
  });
  it('backs off exponentially within the jitter band and never past maxSeconds', function () {
    expect(backoffMs(1, retry.backoff, 0.5)).to.equal(1000);
    expect(backoffMs(3, retry.backoff, 0.5)).to.equal(4000);
    expect(backoffMs(3, retry.backoff, 0)).to.equal(3200);
    expect(backoffMs(3, retry.backoff, 0.999999)).to.be.within(4799, 4800);
    expect(backoffMs(20, retry.backoff, 0.999999)).to.equal(60_000);
  });
  it('takes the larger of backoff and Retry-After for 429 and 503, capped at maxSeconds', function () {
    expect(classify(res(429, '30'), ctx(1))).to.deep.equal({ type: 'retry', classification: 'rate_limited', delayMs: 30_000 });
    expect(classify(res(503, '0'), ctx(3))).to.include({ delayMs: 4000 });
    expect(classify(res(503, '86400'), ctx(1))).to.include({ delayMs: 60_000 });
    expect(classify(res(500, '30'), ctx(1))).to.include({ delayMs: 1000 });
    const httpDate = new Date(1_000_000 + 10_000).toUTCString();
    expect(parseRetryAfter(httpDate, 1_000_000)).to.equal(10_000);
    expect(parseRetryAfter('soon', 0)).to.equal(undefined);
  });
  it('is exhausted once attempts reach max_attempts', function () {
    expect(classify(res(500), ctx(7)).type).to.equal('retry');
    expect(classify(res(500), ctx(8))).to.deep.equal({ type: 'exhausted', classification: 'consumer_5xx' });
  });
});

describe('SSRF guard', function () {
  it('blocks loopback, private, link-local (metadata), unique-local and mapped addresses unless allowed', function () {
    const none = parseAllowList([]);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fc00::1', 'fe80::1', '::ffff:127.0.0.1', '::7f00:1', '::a00:1', '0.0.0.0', '100.64.0.1']) {
      expect(isAllowedAddress(a, none), a).to.equal(false);
    }
    expect(isAllowedAddress('93.184.216.34', none)).to.equal(true);
    expect(isAllowedAddress('127.0.0.1', parseAllowList(['127.0.0.0/8']))).to.equal(true);
    expect(isAllowedAddress('10.0.0.1', parseAllowList(['127.0.0.0/8']))).to.equal(false);
    expect(() => parseAllowList(['nope'])).to.throw(/allowedDestinations: "nope"/);
  });
});

describe('event meta and partitions', function () {
  const dest = { url: 'http://x.example/h' };
  it('reads provider ids and types, and keys events to stable partitions', function () {
    const ep = endpoint({ name: 'k', spec: { source: { provider: 'none' }, destination: dest, ordering: { mode: 'key', key: '/order/id', partitions: 8 } } });
    const meta = extractEventMeta(ep.spec, {}, Buffer.from(JSON.stringify({ type: 'orders/paid', order: { id: 42 } })));
    expect(meta).to.deep.equal({ providerEventId: undefined, eventType: 'orders/paid', orderingKey: '42' });
    const p = choosePartition(ep.spec, meta, 'e1');
    expect(choosePartition(ep.spec, meta, 'e2')).to.equal(p);
    const gh = endpoint({ name: 'g', spec: { source: { provider: 'github', secretRef: { name: 's', keys: ['k0'] } }, destination: dest }, secrets: ['x'] });
    expect(extractEventMeta(gh.spec, { 'x-github-delivery': 'abc', 'x-github-event': 'push' }, Buffer.from('not json'))).to.deep.equal({
      providerEventId: 'abc', eventType: 'push', orderingKey: undefined,
    });
  });
});
