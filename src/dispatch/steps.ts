// The named steps of a partition's delivery loop (worker.ts), as pure functions of the endpoint,
// the claimed delivery, what its request got and an injected clock, so each is unit-tested
// without Redis or a network (test/unit/steps.test.ts, test/unit/gate.test.ts). The loop performs
// their effects: the head scripts, the HTTP request, metrics and log lines.
//
//   claim     the head scripts answer a HeadAnswer             store/dispatch.ts (effect)
//   gate      send now, later, paused, or give the head back   gate.ts
//   send      the request for a claimed delivery               request()
//   classify  delivered, retry, block or dead-letter (+ delay) domain/outcome.ts decide(), in settle()
//   record    what the finish script writes                    attempt.ts finishInput(), in settle()
//   next      claim as usual, or send the look-ahead now       settle()
//   wake      keep the head a wake-up brought, or only wake    keepsWokenHead()
//   (a request sent ahead whose claim Redis refused is recorded as unconfirmedAttempt())
import type { ResolvedEndpoint } from '../domain/endpoint.ts';
import { decide, type Decision } from '../domain/outcome.ts';
import { signStandardWebhook } from '../lib/standard-webhooks.ts';
import type { Attempt } from '../store/delivery-record.ts';
import type { ClaimedDelivery, FinishInput } from '../store/dispatch.ts';
import { attemptRecord, finishInput } from './attempt.ts';
import { mayPipeline, type GateClock } from './gate.ts';
import type { SendResult } from './sender.ts';

export const USER_AGENT = 'Redeliver/0.1';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The request for a claimed delivery: the event's body and content type, the delivery's identity
 * headers, the endpoint's own headers, and a Standard Webhooks signature (webhook-id is the event
 * id, so every attempt and resend of one event carries the same one) when the endpoint has a
 * signing secret. `nowMs` dates the signature. A replay's destination override wins.
 */
export function request(ep: ResolvedEndpoint, c: ClaimedDelivery, nowMs: number): OutgoingRequest {
  const headers: Record<string, string> = {
    'content-type': c.eventHeaders['content-type'] ?? 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': c.eventId,
    'x-redeliver-delivery-id': c.id,
    'x-redeliver-attempt': String(c.attempt),
    'x-redeliver-resend-seq': c.resendSeq,
    'x-redeliver-event-type': c.eventType,
    ...ep.spec.destination.headers,
  };
  if (ep.signingSecret) {
    const ts = Math.floor(nowMs / 1000);
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = signStandardWebhook(ep.signingSecret, c.eventId, ts, c.body);
  }
  return { url: c.destinationUrl || ep.spec.destination.url, headers, body: c.body };
}

export interface Settled {
  decision: Decision;
  /** What the finish script records, and how the head moves (delivered, retry, block, deadletter). */
  finish: FinishInput;
  /**
   * The look-ahead to send at once, with the finish script written just before it (pipelining):
   * only after a 2xx, when gate.ts mayPipeline allows. Undefined: the next head is claimed as usual.
   */
  pipelined: ClaimedDelivery | undefined;
}

/** After a head's request: its outcome (classify), what is recorded (record), and what goes next (next). */
export function settle(ep: ResolvedEndpoint, claimed: ClaimedDelivery, sent: SendResult,
  at: { nowMs: number; random: number; stopped: boolean; clock: Omit<GateClock, 'lastSendAt'> }): Settled {
  const decision = decide(sent.result, { attempt: claimed.attempt, maxAttempts: claimed.maxAttempts, spec: ep.spec, nowMs: at.nowMs, random: at.random });
  const next = decision.step === 'delivered' ? claimed.next : undefined;
  return {
    decision,
    finish: finishInput(ep, claimed, sent, decision),
    pipelined: next && mayPipeline(ep, true, at.stopped, at.clock) ? next : undefined,
  };
}

/**
 * The history entry of a request sent ahead whose claim Redis did not confirm (worker.ts): marked
 * unconfirmed, and with no next attempt of its own, since the delivery is sent again in order
 * under a later number. Classified like any attempt (the retry jitter does not matter here).
 */
export function unconfirmedAttempt(ep: ResolvedEndpoint, sent: ClaimedDelivery, startedAt: string, result: SendResult, nowMs: number): Attempt {
  const decision = decide(result.result, { attempt: sent.attempt, maxAttempts: sent.maxAttempts, spec: ep.spec, nowMs, random: 0.5 });
  return { ...attemptRecord({ ...sent, startedAt }, result, decision), next_attempt_in_ms: null, unconfirmed: true };
}

/**
 * Whether the head a wake-up brought is kept to be sent from the wake-up: only by a loop asleep on
 * an empty partition, and only a queue entry after every one it has claimed (an older one is old
 * news: a late wake-up about a delivery already sent).
 */
export function keepsWokenHead(head: ClaimedDelivery, loop: { idleOnEmpty: boolean; asleep: boolean; lastQueueEntry: string }): boolean {
  return loop.idleOnEmpty && loop.asleep && streamIdAfter(head.queueEntryId, loop.lastQueueEntry);
}

/** Whether stream entry id `a` (`ms-seq`) comes after `b`. */
export function streamIdAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}
