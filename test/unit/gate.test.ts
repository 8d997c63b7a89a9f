// The delivery loop's send and pipelining decisions (src/dispatch/gate.ts), with an injected
// monotonic clock: paused, rate-limited, lease ran out, too little of the timeout left, pipelined.
import { expect } from 'chai';
import { gate, mayPipeline, MIN_SEND_BUDGET_MS, PIPELINE_WINDOW_MS } from '../../src/dispatch/gate.ts';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { endpoint } from '../support/fixtures.ts';

const ep = (spec: Record<string, unknown> = {}): ResolvedEndpoint =>
  endpoint({ name: 'gated', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/x', timeoutSeconds: 10 }, ...spec } });
// Claimed at 1,000 ms, lease good until 20,000 ms, nothing sent yet.
const at = (now: number, over: Partial<{ claimedAt: number; leaseValidUntil: number; lastSendAt: number }> = {}) =>
  ({ now, claimedAt: 1000, leaseValidUntil: 20_000, lastSendAt: -Infinity, ...over });

describe('delivery gate', function () {
  it('sends with what is left of the timeout since the claim', function () {
    expect(gate(ep(), at(1000))).to.deep.equal({ kind: 'send', budgetMs: 10_000 });
    expect(gate(ep(), at(3500))).to.deep.equal({ kind: 'send', budgetMs: 7500 });
  });

  it('gives the head back when too little of the timeout is left, or the lease may be gone', function () {
    expect(gate(ep(), at(1000 + 10_000 - MIN_SEND_BUDGET_MS))).to.deep.equal({ kind: 'send', budgetMs: MIN_SEND_BUDGET_MS });
    expect(gate(ep(), at(1000 + 10_000 - MIN_SEND_BUDGET_MS + 1))).to.deep.equal({ kind: 'giveBack', why: 'budget' });
    expect(gate(ep(), at(19_999, { claimedAt: 15_000 }))).to.include({ kind: 'send' });
    expect(gate(ep(), at(20_000, { claimedAt: 15_000 }))).to.deep.equal({ kind: 'giveBack', why: 'lease' });
  });

  it('holds a paused endpoint before anything else', function () {
    expect(gate(ep({ paused: true }), at(30_000))).to.deep.equal({ kind: 'paused' });
  });

  it('spaces sends by the rate limit split over the partitions', function () {
    // 10/s over 2 partitions: each partition sends every 200 ms.
    const limited = ep({ rateLimit: { perSecond: 10 }, ordering: { mode: 'key', key: '/id', partitions: 2 } });
    expect(gate(limited, at(1000, { lastSendAt: 950 }))).to.deep.equal({ kind: 'later', waitMs: 150 });
    expect(gate(limited, at(1150, { lastSendAt: 950 }))).to.include({ kind: 'send' });
  });

  it('pipelines the next delivery only soon after the claim, within the lease, at a steady pace', function () {
    const clock = (now: number, leaseValidUntil = 20_000) => ({ now, claimedAt: 1000, leaseValidUntil });
    expect(mayPipeline(ep(), true, false, clock(1000 + PIPELINE_WINDOW_MS - 1))).to.equal(true);
    expect(mayPipeline(ep(), true, false, clock(1000 + PIPELINE_WINDOW_MS))).to.equal(false);
    expect(mayPipeline(ep(), false, false, clock(1001)), 'no next delivery').to.equal(false);
    expect(mayPipeline(ep(), true, true, clock(1001)), 'stopping').to.equal(false);
    expect(mayPipeline(ep(), true, false, clock(1001, 1001)), 'lease ends').to.equal(false);
    expect(mayPipeline(ep({ paused: true }), true, false, clock(1001)), 'paused').to.equal(false);
    expect(mayPipeline(ep({ rateLimit: { perSecond: 100 } }), true, false, clock(1001)), 'rate limited').to.equal(false);
  });
});
