// One attempt's outcome, as data for the finish script (its history entry) and as what operators
// see of it: the metrics and one log line (debug when delivered, info for a retry, warn when the
// scope blocks or a delivery is dead-lettered, info when a blocked scope resumes).
import { blockedRetryMs, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Decision } from '../domain/outcome.ts';
import type { Shared } from '../lib/runtime.ts';
import type { Attempt } from '../store/delivery-record.ts';
import type { ClaimedDelivery, FinishInput } from '../store/dispatch.ts';
import type { SendResult } from './sender.ts';

/**
 * Metrics and log lines of each attempt's outcome. "Scope blocked" is logged once per blocked head
 * (not at each of its retries), and the delivery of that head logs the scope's recovery.
 */
export function createAttemptReport(shared: Shared, partition: number, now: () => number) {
  // The delivery blocking this partition, as far as this worker saw.
  let blockedHead: string | undefined;
  return (ep: ResolvedEndpoint, c: ClaimedDelivery, sent: SendResult, o: Decision): void => {
    const m = shared.metrics;
    m.dispatchAttemptDuration.observe({ endpoint: ep.id, classification: o.classification }, sent.durationMs / 1000);
    m.dispatchDeliveries.inc({ endpoint: ep.id, outcome: o.step });
    const fields = { endpoint: ep.id, partition, event: c.eventId, delivery: c.id, attempt: c.attempt, status: sent.statusCode };
    const nextAttemptAt = o.delayMs === undefined ? undefined : new Date(now() + o.delayMs).toISOString();
    if (o.step === 'delivered') {
      shared.log.debug(fields, 'delivered');
      if (blockedHead === c.id) shared.log.info(fields, 'scope unblocked: its blocked head was delivered; later deliveries follow in order');
      blockedHead = undefined;
      return;
    }
    const failure = { ...fields, classification: o.classification, error: sent.error || undefined };
    if (o.step === 'retry') shared.log.info({ ...failure, nextAttemptAt }, 'delivery attempt failed; will retry');
    else if (o.step === 'deadletter') shared.log.warn(failure, 'delivery failed: attempts exhausted; dead-lettered');
    else if (blockedHead === c.id) shared.log.info({ ...failure, nextAttemptAt }, 'blocked head failed again; will retry');
    else {
      blockedHead = c.id;
      shared.log.warn({ ...failure, nextAttemptAt, retryEverySeconds: blockedRetryMs(ep.spec) / 1000 },
        `scope blocked: delivery ${c.id} exhausted its ${c.maxAttempts} attempts and holds the deliveries behind it. ` +
        'It is tried again at that interval and the scope resumes by itself once it succeeds; to act now, ' +
        `POST /api/v1/endpoints/${ep.id}/unblock with {"action":"retry"} or {"action":"skip"}`);
    }
  };
}

/** One entry of a delivery's attempt history. */
export function attemptRecord(claimed: ClaimedDelivery, sent: SendResult, o: Decision): Attempt {
  return {
    attempt: claimed.attempt, started_at: claimed.startedAt, duration_ms: Math.round(sent.durationMs),
    status_code: sent.statusCode ?? null, classification: o.classification, error: sent.error || null,
    response_body: sent.body, next_attempt_in_ms: o.delayMs ?? null,
  };
}

/** What the finish script records for one attempt. */
export function finishInput(ep: ResolvedEndpoint, claimed: ClaimedDelivery, sent: SendResult, o: Decision): FinishInput {
  return {
    deliveryId: claimed.id,
    attemptNumber: claimed.attempt,
    outcome: o.step,
    attempt: attemptRecord(claimed, sent, o),
    source: claimed.source,
    queueEntryId: claimed.queueEntryId,
    statusCode: sent.statusCode,
    responseBody: sent.body,
    error: sent.error,
    classification: o.step === 'delivered' ? '' : o.classification,
    retryDelayMs: o.delayMs,
    retentionSeconds: ep.spec.retention.seconds,
  };
}
