// Delivery outcomes are data: `classify` turns what one attempt got (a response or an error) into
// delivered | retry(delay, reason) | exhausted(reason), and `decide` adds the endpoint's policy
// for an exhausted delivery (block the scope and keep retrying its head at a capped interval, or
// dead-letter it). The clock and randomness are injected, so every branch is testable without
// waiting, and a whole outage can be played through on a simulated clock. Pure: no I/O here.
import { blockedRetryMs, onExhausted, type EndpointSpec } from './endpoint.ts';

export type Classification =
  | 'consumer_2xx' | 'consumer_3xx' | 'consumer_4xx' | 'consumer_5xx' | 'consumer_response_timeout'
  | 'connection_refused' | 'connection_error' | 'dns_failure' | 'tls_error' | 'rate_limited' | 'destination_blocked';

/** What an attempt got back: a status (and Retry-After), or a classified transport error. */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter?: string | undefined }
  | { kind: 'error'; classification: Exclude<Classification, `consumer_${string}xx` | 'rate_limited'> };

export type Outcome =
  | { type: 'delivered'; classification: 'consumer_2xx' }
  | { type: 'retry'; classification: Classification; delayMs: number }
  | { type: 'exhausted'; classification: Classification };

export function classification(r: AttemptResult): Classification {
  if (r.kind === 'error') return r.classification;
  if (r.status === 429) return 'rate_limited';
  if (r.status >= 200 && r.status < 300) return 'consumer_2xx';
  if (r.status >= 300 && r.status < 400) return 'consumer_3xx';
  if (r.status >= 500) return 'consumer_5xx';
  return 'consumer_4xx';
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Exponential backoff with jitter, bounded by maxSeconds: attempt 1 failed → ~initial,
 * attempt 2 → ~initial × multiplier, … `random` is in [0, 1).
 */
export function backoffMs(attempt: number, backoff: EndpointSpec['retry']['backoff'], random: number): number {
  const base = backoff.initialSeconds * backoff.multiplier ** Math.max(0, attempt - 1);
  const jittered = base * (1 + backoff.jitter * (2 * random - 1));
  return Math.round(Math.min(backoff.maxSeconds, Math.max(0, jittered)) * 1000);
}

export function classify(
  result: AttemptResult,
  ctx: { attempt: number; maxAttempts: number; retry: EndpointSpec['retry']; nowMs: number; random: number },
): Outcome {
  const c = classification(result);
  if (c === 'consumer_2xx') return { type: 'delivered', classification: c };
  if (ctx.attempt >= ctx.maxAttempts) return { type: 'exhausted', classification: c };
  let delayMs = backoffMs(ctx.attempt, ctx.retry.backoff, ctx.random);
  const honours = result.kind === 'response' && (result.status === 429 || result.status === 503);
  const retryAfter = honours ? parseRetryAfter(result.retryAfter, ctx.nowMs) : undefined;
  // The larger of backoff and Retry-After, capped so a hostile header cannot park a queue.
  if (retryAfter !== undefined) delayMs = Math.min(Math.max(delayMs, retryAfter), ctx.retry.backoff.maxSeconds * 1000);
  return { type: 'retry', classification: c, delayMs };
}

/** What the dispatcher records for one attempt: the next step and, unless terminal, when to try again. */
export interface Decision {
  step: 'delivered' | 'retry' | 'block' | 'deadletter';
  classification: Classification;
  /** Delay before the next attempt (retry, and block: the blocked head is tried again). */
  delayMs: number | undefined;
}

/**
 * The endpoint's policy applied to one attempt's result. An exhausted delivery of an ordered scope
 * (onExhausted block) stays the head and is tried again every blockedRetrySeconds, so the scope
 * resumes by itself once the destination takes it; with deadletter it ends FAILED.
 */
export function decide(
  result: AttemptResult,
  ctx: { attempt: number; maxAttempts: number; spec: EndpointSpec; nowMs: number; random: number },
): Decision {
  const o = classify(result, { attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, retry: ctx.spec.retry, nowMs: ctx.nowMs, random: ctx.random });
  if (o.type === 'delivered') return { step: 'delivered', classification: o.classification, delayMs: undefined };
  if (o.type === 'retry') return { step: 'retry', classification: o.classification, delayMs: o.delayMs };
  if (onExhausted(ctx.spec) === 'deadletter') return { step: 'deadletter', classification: o.classification, delayMs: undefined };
  return { step: 'block', classification: o.classification, delayMs: blockedRetryMs(ctx.spec) };
}

/**
 * The retry schedule of `retry` (docs/retries.md prints it): for each attempt after the first, the
 * delay before it and the time since the first attempt, with jitter at `random` (0.5 = none).
 */
export function retrySchedule(retry: EndpointSpec['retry'], random = 0.5): Array<{ attempt: number; delayMs: number; atMs: number }> {
  const out: Array<{ attempt: number; delayMs: number; atMs: number }> = [];
  let at = 0;
  for (let n = 1; n < retry.maxAttempts; n++) {
    const delayMs = backoffMs(n, retry.backoff, random);
    at += delayMs;
    out.push({ attempt: n + 1, delayMs, atMs: at });
  }
  return out;
}
