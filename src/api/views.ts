// What the API shows: Redis records mapped to the JSON of the OpenAPI document. Delivery fields
// follow seed 001; internal fields (send_token, event_sid, *_ms) never leave. Secrets never leave:
// endpoint header values and URL credentials are redacted. The read scope never sees payload
// bodies or signature headers (seed 002); signature headers are withheld from everyone — they are
// verification material, useless after the fact.
import type { ApiScope } from '../config/index.ts';
import { ingestPath, isPaused, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { ReplayStatus } from '../replay/status.ts';
import type { Attempt } from '../store/deliveries.ts';
import type { EndpointHealth } from '../store/health.ts';
import type { EventMeta, StoredEvent } from '../store/listing.ts';

type Json = Record<string, unknown>;

const int = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
const text = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
/** Drops undefined values (absent optional fields are omitted, as seed 001 does). */
const compact = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A URL without credentials; its query string only for operators (it often carries a token). */
export function redactUrl(url: string, scope: ApiScope): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    if (scope !== 'operator' && u.search) u.search = '?[redacted]';
    return u.toString();
  } catch {
    return '[invalid url]';
  }
}

export function deliveryView(d: Record<string, string>, scope: ApiScope): Json {
  return compact({
    id: d.id,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    event_type: d.event_type,
    status: d.status,
    attempts: int(d.attempts) ?? 0,
    max_attempts: int(d.max_attempts) ?? 0,
    resend_seq: int(d.resend_seq) ?? 0,
    origin: d.origin || 'ingest',
    partition: int(d.partition) ?? 0,
    created_at: d.created_at,
    updated_at: d.updated_at ?? d.created_at,
    delivered_at: text(d.delivered_at),
    last_attempt_at: text(d.last_attempt_at),
    next_attempt_at: d.status === 'PENDING' ? text(d.next_attempt_at) : undefined,
    response_status_code: int(d.last_response_status),
    response_body: text(d.last_response_body),
    error_message: text(d.last_error),
    failure_reason: text(d.last_failure_reason),
    destination_url: d.destination_url ? redactUrl(d.destination_url, scope) : undefined,
  });
}

export function attemptView(a: Attempt): Json {
  return compact({
    attempt: a.attempt,
    started_at: text(a.started_at),
    duration_ms: a.duration_ms,
    response_status_code: a.status_code ?? null,
    classification: a.classification,
    error_message: a.error || undefined,
    response_body: text(a.response_body),
    next_attempt_in_ms: a.next_attempt_in_ms,
    unconfirmed: a.unconfirmed || undefined,
  });
}

/**
 * Verification material never shown (seed 002): the providers' signature headers, and headers
 * that carry shared secrets or credentials (GitLab's X-Gitlab-Token, API keys, auth tokens).
 * The ingest records with each event which of its headers were verification material (`vh`, from
 * the provider catalogue), so an event is filtered by what verified it, not by the endpoint's
 * current configuration: those are hidden exactly, whatever their names (X-Trello-Webhook), plus
 * anything that looks like a credential. Events stored before that record fall back to name
 * patterns and the endpoint's current HMAC header.
 */
const CREDENTIAL_HEADERS = [/signature/, /verification/, /token/, /secret/, /api-?key/, /auth/, /password/, /credential/, /^cookie$/];
const SIGNATURE_HEADERS = [/^stripe-signature$/, /^x-hub-signature/, /^x-shopify-hmac-sha256$/, /^webhook-signature$/, /^svix-signature$/,
  /^paypal-transmission-sig$/, /sig$/, /hmac/, /^x-trello-webhook$/, ...CREDENTIAL_HEADERS];

export function withoutSignatures(headers: Record<string, string>, endpointHmacHeader: string | undefined, recorded?: string): Record<string, string> {
  const hidden = recorded === undefined ? new Set([endpointHmacHeader?.toLowerCase()]) : new Set(recorded.split(','));
  const patterns = recorded === undefined ? SIGNATURE_HEADERS : CREDENTIAL_HEADERS;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (hidden.has(n) || patterns.some((re) => re.test(n))) continue;
    out[n] = value;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function eventView(e: StoredEvent, latestDeliveryId: string | null, scope: ApiScope, hmacHeader: string | undefined): Json {
  const base: Json = {
    id: e.fields.id,
    endpoint_id: e.endpointId,
    event_type: e.fields.type ?? '',
    provider_event_id: e.fields.pid || null,
    received_at: e.fields.at,
    headers: withoutSignatures(e.headers, hmacHeader, e.fields.vh),
    body_size: e.body.length,
    latest_delivery_id: latestDeliveryId,
  };
  if (scope !== 'operator') return { ...base, body_redacted: true };
  try {
    return { ...base, body: utf8.decode(e.body), body_encoding: 'utf8' };
  } catch {
    return { ...base, body: e.body.toString('base64'), body_encoding: 'base64' };
  }
}

export function eventSummary(m: EventMeta, endpointId: string): Json {
  return {
    id: m.id, endpoint_id: endpointId, event_type: m.type, provider_event_id: m.providerEventId || null, received_at: m.receivedAt,
    body_size: m.bodySize, latest_delivery_id: m.latestDeliveryId || null, latest_delivery_status: m.latestStatus || null,
  };
}

/** The endpoint's spec without secrets: header values and URL credentials redacted. */
function safeSpec(ep: ResolvedEndpoint, scope: ApiScope): Json {
  const spec = structuredClone(ep.spec) as unknown as Json & { destination: Json & { headers?: Record<string, string> } };
  spec.destination.url = redactUrl(ep.spec.destination.url, scope);
  if (spec.destination.headers) {
    spec.destination.headers = Object.fromEntries(Object.keys(spec.destination.headers).map((h) => [h, '[redacted]']));
  }
  return spec;
}

export function endpointView(ep: ResolvedEndpoint, h: EndpointHealth, scope: ApiScope): Json {
  return {
    id: ep.id, namespace: ep.namespace, name: ep.name, generation: ep.generation, state: ep.spec.state, paused: isPaused(ep), paused_by_operator: ep.operatorPaused === true,
    ingest_path: ingestPath(ep.id), updated_at: ep.updatedAt, spec: safeSpec(ep, scope),
    health: {
      backlog: h.backlog,
      held: h.held,
      oldest_pending_age_seconds: h.oldestPendingMs === undefined ? null : h.oldestPendingMs / 1000,
      blocked: h.blocked,
      last_delivered_at: h.lastDeliveredAt ?? null,
      destination: {
        status: h.destination.status,
        last_classification: h.destination.lastClassification ?? null,
        last_attempt_at: h.destination.lastAttemptAt ?? null,
      },
      counters: h.counters,
    },
  };
}

export function replayView(r: ReplayStatus, scope: ApiScope): Json {
  const spec = structuredClone(r.spec);
  if (spec.destinationOverride) spec.destinationOverride.url = redactUrl(spec.destinationOverride.url, scope);
  return {
    id: r.id, endpoint: r.endpoint, phase: r.phase, message: r.message, matched: r.matched, enqueued: r.enqueued, skipped: r.skipped,
    delivered: r.delivered, failed: r.failed, enqueue_done: r.enqueueDone, scanned_through: r.scannedThrough ?? null, pause_live: r.pauseLive,
    spec, created_at: r.createdAt, started_at: r.startedAt ?? null, completed_at: r.completedAt ?? null, updated_at: r.updatedAt,
  };
}
