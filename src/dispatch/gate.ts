// The decisions of a partition's delivery loop (worker.ts) that depend only on the endpoint, the
// delivery and the clock: whether a claimed head may be sent now, and whether the next one may be
// sent right after its predecessor's 2xx (pipelined). Pure, so they are unit-tested with an
// injected clock; the loop reads the clock and performs what they decide.
import { isPaused, partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';

/**
 * A head that took longer than this from its claim to its answer is not followed by a pipelined
 * send (a successor's takeover wait is the timeout + 1 s from the claim; see worker.ts).
 */
export const PIPELINE_WINDOW_MS = 500;
/** A head whose request would get less than this of its timeout is given back, not sent. */
export const MIN_SEND_BUDGET_MS = 100;

/** Monotonic times (performance.now()) the gate decides from. */
export interface GateClock {
  now: number;
  /** When the head in hand was claimed: its request's timeout counts from then. */
  claimedAt: number;
  /** Until when the partition's lease is surely still ours. */
  leaseValidUntil: number;
  /** When this partition last sent (spec.rateLimit spacing). */
  lastSendAt: number;
}

export type Gate =
  | { kind: 'send'; budgetMs: number }
  | { kind: 'paused' }
  | { kind: 'later'; waitMs: number }
  | { kind: 'giveBack'; why: 'lease' | 'budget' };

/**
 * spec.rateLimit: the endpoint's rate is split evenly over its partitions, each of which spaces its
 * sends (an approximation that needs no coordination between dispatchers). How long to wait, ≤ 0 = now.
 */
export function paceMs(ep: ResolvedEndpoint, lastSendAt: number, now: number): number {
  const perSecond = ep.spec.rateLimit?.perSecond;
  if (!perSecond) return 0;
  return lastSendAt + (1000 * partitionCount(ep.spec)) / perSecond - now;
}

/** Whether the claimed head goes now, waits (paused, rate limit) or goes back unsent (lease, timeout budget). */
export function gate(ep: ResolvedEndpoint, c: GateClock): Gate {
  if (isPaused(ep)) return { kind: 'paused' };
  const wait = paceMs(ep, c.lastSendAt, c.now);
  if (wait > 0) return { kind: 'later', waitMs: wait };
  if (c.now >= c.leaseValidUntil) return { kind: 'giveBack', why: 'lease' };
  const budgetMs = Math.floor(ep.spec.destination.timeoutSeconds * 1000 - (c.now - c.claimedAt));
  if (budgetMs < MIN_SEND_BUDGET_MS) return { kind: 'giveBack', why: 'budget' };
  return { kind: 'send', budgetMs };
}

/**
 * Whether the delivery after a head that just came back 2xx may be sent before Redis has recorded
 * that head (pipelining): only at a steady pace (no rate limit, not paused, not stopping), soon
 * after the head's claim and within the lease.
 */
export function mayPipeline(ep: ResolvedEndpoint, hasNext: boolean, stopped: boolean, c: Omit<GateClock, 'lastSendAt'>): boolean {
  return hasNext && !stopped && !isPaused(ep) && ep.spec.rateLimit === undefined &&
    c.now - c.claimedAt < PIPELINE_WINDOW_MS && c.now < c.leaseValidUntil;
}
