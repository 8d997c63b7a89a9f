// Outages played through on a simulated clock: a partition's head attempted when due, each
// attempt's result turned into the next step by `decide` (the same function the dispatcher uses,
// with the endpoint's CRD defaults), the head dropped only when delivered or dead-lettered. Proves
// the default schedule covers the providers' 72-hour horizon and that a blocked scope resumes by
// itself, with no operator call, whatever the outage's length.
import { expect } from 'chai';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { decide, retrySchedule } from '../../src/domain/outcome.ts';
import { endpoint } from '../support/fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A seeded pseudo-random sequence in [0, 1) (mulberry32), so a run is reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Played {
  delivered: Array<{ n: number; at: number }>;
  deadLettered: number[];
  blockedAt: number | undefined;
  attempts: number;
}

/**
 * `events` deliveries queued at t = 0 in one ordering scope; the destination answers 503 until
 * `outageMs`, then 200. Returns what reached it and when.
 */
function play(ep: ResolvedEndpoint, outageMs: number, events: number, random: () => number): Played {
  const out: Played = { delivered: [], deadLettered: [], blockedAt: undefined, attempts: 0 };
  let t = 0;
  let head = 0;
  let attempt = 0;
  while (head < events) {
    attempt++;
    out.attempts++;
    const result = { kind: 'response' as const, status: t < outageMs ? 503 : 200 };
    const d = decide(result, { attempt, maxAttempts: ep.spec.retry.maxAttempts, spec: ep.spec, nowMs: t, random: random() });
    if (d.step === 'delivered' || d.step === 'deadletter') {
      if (d.step === 'delivered') out.delivered.push({ n: head, at: t });
      else out.deadLettered.push(head);
      head++;
      attempt = 0;
      continue;
    }
    if (d.step === 'block') out.blockedAt ??= t;
    t += d.delayMs!;
  }
  return out;
}

const strict = endpoint({ name: 'strict', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:1/x' } } });
const unordered = endpoint({ name: 'parallel', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:1/x' }, ordering: { mode: 'none' } } });

describe('default retry schedule', function () {
  it('spans at least 72 hours even at the low end of the jitter, fast at first, at most an hour apart', function () {
    for (const random of [0, 0.5, 0.999999]) {
      const s = retrySchedule(strict.spec.retry, random);
      expect(s.at(-1)!.atMs, `span at random=${random}`).to.be.at.least(72 * HOUR);
      expect(Math.max(...s.map((x) => x.delayMs))).to.be.at.most(HOUR);
      expect(s[0]!.delayMs, 'first retry').to.be.at.most(10_000);
      expect(s.filter((x) => x.atMs <= 5 * 60_000).length, 'retries in the first five minutes').to.be.at.least(5);
    }
  });
});

describe('outages on a simulated clock (no operator call)', function () {
  for (const [label, outageMs] of [['1 hour', HOUR], ['1 day', DAY], ['3 days', 3 * DAY], ['5 days', 5 * DAY]] as const) {
    it(`strict ordering, destination down ${label}: every event arrives, in order, soon after it recovers`, function () {
      const run = play(strict, outageMs, 20, seeded(outageMs));
      expect(run.delivered.map((x) => x.n)).to.deep.equal([...Array(20).keys()]);
      expect(run.deadLettered).to.deep.equal([]);
      // The first delivery after recovery waits at most one capped interval (an hour while
      // retrying, blockedRetrySeconds once blocked); the rest follow at once.
      expect(run.delivered[0]!.at).to.be.within(outageMs, outageMs + HOUR);
      expect(run.delivered.at(-1)!.at).to.equal(run.delivered[0]!.at);
      // Past the attempts' span (about 75 hours) the head blocks, and is still retried.
      if (outageMs > 80 * HOUR) {
        expect(run.blockedAt).to.be.a('number');
        expect(run.delivered[0]!.at - outageMs).to.be.at.most(300_000);
      } else {
        expect(run.blockedAt).to.equal(undefined);
      }
    });
  }

  it('an unordered endpoint (dead-letter on exhaustion) loses nothing to a 3-day outage', function () {
    const run = play(unordered, 3 * DAY, 5, seeded(7));
    expect(run.deadLettered).to.deep.equal([]);
    expect(run.delivered.map((x) => x.n)).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('a destination that never recovers keeps the scope blocked, its head tried every blockedRetrySeconds', function () {
    const ep = endpoint({ name: 'tight', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:1/x' },
      retry: { maxAttempts: 3, blockedRetrySeconds: 120 } } });
    const decisions = [1, 2, 3, 4, 5].map((attempt) =>
      decide({ kind: 'response', status: 500 }, { attempt, maxAttempts: 3, spec: ep.spec, nowMs: 0, random: 0.5 }));
    expect(decisions.map((d) => d.step)).to.deep.equal(['retry', 'retry', 'block', 'block', 'block']);
    expect(decisions.slice(2).map((d) => d.delayMs)).to.deep.equal([120_000, 120_000, 120_000]);
  });
});
