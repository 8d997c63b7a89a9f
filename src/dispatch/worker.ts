// One partition's delivery loop, run only while this dispatcher holds the partition's lease.
//
// Order (invariant 2): the loop handles one delivery at a time — the head. The next head is only
// claimed inside the same fenced script that records the current one as DELIVERED, FAILED-and-
// passed (deadletter) or scheduled for retry (it then stays the head). A lost lease ends the loop;
// the new owner re-sends an in-flight head (same webhook-id) only after its request must have
// timed out. Before each send the loop also checks its lease is still valid by its own monotonic
// clock, so a process frozen (SIGSTOP, GC) past its lease does not send once it resumes.
import { isPaused, onExhausted, partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { classify, type Outcome } from '../domain/outcome.ts';
import { signStandardWebhook } from '../lib/standard-webhooks.ts';
import type { Shared } from '../lib/runtime.ts';
import { claimHead, finishAndClaim, unclaim, type ClaimedDelivery, type FinishInput, type FinishOutcome, type HeadAnswer, type Lease } from '../store/dispatch.ts';
import { errorMessage } from '../errors/index.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Sender, SendResult } from './sender.ts';

/** How long an attempt's outcome is retried against an unreachable Redis before giving up. */
const FINISH_RETRY_MS = 60_000;

export interface WorkerDeps {
  shared: Shared;
  /** The dispatcher's own connection (no auto-pipelining) for the fenced scripts. */
  redis: RedisClient;
  sender: Sender;
  lease: Lease;
  /** Monotonic time (performance.now()) until which the lease is surely still ours. */
  leaseValidUntil: () => number;
  now: () => number;
  random: () => number;
  idlePollMs: number;
  onLost: () => void;
}

export interface Worker {
  wake(): void;
  /** Stops after the attempt in flight, if any. Idempotent. */
  stop(): Promise<void>;
}

export function startWorker(d: WorkerDeps): Worker {
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  const { shared, lease } = d;
  const endpoint = () => shared.endpoints.get(lease.endpointId);

  const sleep = (ms: number) =>
    new Promise<void>((ok) => {
      const t = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(t);
        wakeUp = undefined;
        ok();
      }
      wakeUp = done;
    });

  const takeoverMs = () => (endpoint()?.spec.destination.timeoutSeconds ?? 30) * 1000 + 1000;

  // When the head in hand was claimed: the request's timeout counts from then, since a successor
  // counts its takeover wait from the claim too (a stall before sending must not stretch it).
  let claimedAt = 0;
  const noteClaim = async (p: Promise<HeadAnswer>) => {
    const answer = await p;
    claimedAt = performance.now();
    return answer;
  };
  const claim = () => noteClaim(claimHead(d.redis, shared.keys, lease, d.now(), takeoverMs()));

  const step = async (answer: HeadAnswer): Promise<HeadAnswer | undefined> => {
    switch (answer.type) {
      case 'fenced':
      case 'stale':
        return undefined;
      case 'empty':
      case 'blocked':
        await sleep(d.idlePollMs);
        return stopped ? undefined : claim();
      case 'wait':
        await sleep(Math.min(answer.ms, d.idlePollMs));
        return stopped ? undefined : claim();
      case 'expired':
        shared.log.warn({ endpoint: lease.endpointId, delivery: answer.deliveryId }, 'delivery failed: its event was removed by retention');
        return claim();
      case 'send':
        return deliver(answer.delivery);
    }
  };

  /** Gives the claimed head back unsent (stopping, lease expired by our clock, or paused). */
  const giveBack = (claimed: ClaimedDelivery) => unclaim(d.redis, shared.keys, lease, claimed.fields.id!);

  /** Paused: the head goes back unsent; claim again once resumed. */
  const whilePaused = async (claimed: ClaimedDelivery): Promise<HeadAnswer | undefined> => {
    await giveBack(claimed);
    let ep = endpoint();
    while (!stopped && ep && isPaused(ep)) {
      await sleep(d.idlePollMs);
      ep = endpoint();
    }
    return stopped || !ep ? undefined : claim();
  };

  // spec.rateLimit: the endpoint's rate is split evenly over its partitions, each of which
  // spaces its sends (an approximation that needs no coordination between dispatchers).
  let lastSendAt = -Infinity;
  const paceMs = (ep: ResolvedEndpoint) => {
    const perSecond = ep.spec.rateLimit?.perSecond;
    if (!perSecond) return 0;
    return lastSendAt + (1000 * partitionCount(ep.spec)) / perSecond - performance.now();
  };

  /** Not yet (rate limit): give the head back rather than hold it (its timeout counts from the claim). */
  const later = async (claimed: ClaimedDelivery, waitMs: number) => {
    await giveBack(claimed);
    await sleep(waitMs);
    return stopped ? undefined : claim();
  };

  const deliver = async (claimed: ClaimedDelivery): Promise<HeadAnswer | undefined> => {
    const ep = endpoint();
    if (!ep || stopped) {
      await giveBack(claimed);
      return undefined;
    }
    if (isPaused(ep)) return whilePaused(claimed);
    const wait = paceMs(ep);
    if (wait > 0) return later(claimed, wait);
    const budgetMs = Math.floor(ep.spec.destination.timeoutSeconds * 1000 - (performance.now() - claimedAt));
    if (performance.now() >= d.leaseValidUntil() || budgetMs < 100) {
      await giveBack(claimed);
      return undefined;
    }
    lastSendAt = performance.now();
    const sent = await send(ep, claimed, budgetMs);
    const attempt = Number(claimed.fields.attempts);
    const outcome = classify(sent.result, {
      attempt, maxAttempts: Number(claimed.fields.max_attempts), retry: ep.spec.retry, nowMs: d.now(), random: d.random(),
    });
    record(ep, sent, outcome);
    const finish: FinishInput = {
      deliveryId: claimed.fields.id!,
      outcome: finishOutcome(ep, outcome),
      attempt: {
        attempt, started_at: claimed.fields.last_attempt_at, duration_ms: Math.round(sent.durationMs),
        status_code: sent.statusCode ?? null, classification: outcome.classification, error: sent.error || null,
        response_body: sent.body, next_attempt_in_ms: outcome.type === 'retry' ? outcome.delayMs : null,
      },
      source: claimed.source,
      queueEntryId: claimed.queueEntryId,
      statusCode: sent.statusCode,
      responseBody: sent.body,
      error: sent.error,
      classification: outcome.type === 'delivered' ? '' : outcome.classification,
      retryDelayMs: outcome.type === 'retry' ? outcome.delayMs : undefined,
      retentionSeconds: ep.spec.retention.seconds,
    };
    return recordOutcome(finish);
  };

  /**
   * Records the outcome of a request that was sent. Retried while Redis is unreachable: the
   * script is fenced and answers `stale` once the delivery is no longer ours, so repeating it is
   * safe, and giving up early would lose the real outcome (and re-send a delivered event).
   */
  const recordOutcome = async (finish: FinishInput): Promise<HeadAnswer | undefined> => {
    const giveUpAt = performance.now() + FINISH_RETRY_MS;
    for (let i = 0; ; i++) {
      try {
        return await noteClaim(finishAndClaim(d.redis, shared.keys, lease, d.now(), takeoverMs(), finish));
      } catch (err) {
        if (performance.now() > giveUpAt) throw err;
        shared.log.warn({ endpoint: lease.endpointId, partition: lease.partition, err: errorMessage(err) }, 'recording an attempt failed; retrying');
        await new Promise((ok) => setTimeout(ok, Math.min(100 * 2 ** i, 2000)));
      }
    }
  };

  const send = (ep: ResolvedEndpoint, c: ClaimedDelivery, timeoutMs: number): Promise<SendResult> => {
    const f = c.fields;
    const headers: Record<string, string> = {
      'content-type': c.eventHeaders['content-type'] ?? 'application/json',
      'user-agent': 'Redeliver/0.1',
      'webhook-id': f.event_id!,
      'x-redeliver-delivery-id': f.id!,
      'x-redeliver-attempt': f.attempts!,
      'x-redeliver-resend-seq': f.resend_seq ?? '0',
      'x-redeliver-event-type': f.event_type ?? '',
      ...ep.spec.destination.headers,
    };
    if (ep.signingSecret) {
      const ts = Math.floor(d.now() / 1000);
      headers['webhook-timestamp'] = String(ts);
      headers['webhook-signature'] = signStandardWebhook(ep.signingSecret, f.event_id!, ts, c.body);
    }
    // A replay may carry its own destination (destinationOverride); the SSRF guard applies alike.
    return d.sender.send(f.destination_url || ep.spec.destination.url, headers, c.body, timeoutMs);
  };

  const record = (ep: ResolvedEndpoint, sent: SendResult, outcome: Outcome) => {
    const m = shared.metrics;
    m.dispatchAttemptDuration.observe({ endpoint: ep.id, classification: outcome.classification }, sent.durationMs / 1000);
    m.dispatchDeliveries.inc({ endpoint: ep.id, outcome: finishOutcome(ep, outcome) });
    if (outcome.type !== 'delivered') {
      shared.log.info({ endpoint: ep.id, partition: lease.partition, classification: outcome.classification, outcome: outcome.type, error: sent.error }, 'delivery attempt failed');
    }
  };

  const run = async () => {
    let answer: HeadAnswer | undefined = await claim();
    while (!stopped && answer) answer = await step(answer);
    // Stopped right after finish claimed the next head: hand it back for the next owner.
    if (answer?.type === 'send') await giveBack(answer.delivery);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await run();
        if (!stopped) d.onLost();
        return;
      } catch (err) {
        // Redis unreachable or restarted: back off and try again; nothing is lost (the head stays).
        shared.log.warn({ err: errorMessage(err), endpoint: lease.endpointId, partition: lease.partition }, 'dispatch loop error; retrying');
        if ((err as Error).message?.includes('NOGROUP')) {
          const ep = endpoint();
          if (ep) await shared.registry.ensureGroups(ep).catch(() => undefined);
        }
        await sleep(500);
      }
    }
  })();

  return {
    wake: () => wakeUp?.(),
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}

function finishOutcome(ep: ResolvedEndpoint, o: Outcome): FinishOutcome {
  if (o.type === 'delivered') return 'delivered';
  if (o.type === 'retry') return 'retry';
  return onExhausted(ep.spec) === 'block' ? 'block' : 'deadletter';
}
