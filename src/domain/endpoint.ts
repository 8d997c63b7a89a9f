// The WebhookEndpoint resource as written by users (kubectl apply, or a YAML folder in standalone
// mode) and the resolved form the data plane reads from the Redis registry. The CRD schema in
// crds/webhookendpoints.yaml is the source of truth for validation and defaults; these types
// mirror it. Pure: no I/O here.

import type { Provider, ValueSource } from './providers/index.ts';

export { PROVIDERS, type Provider, type ValueSource } from './providers/index.ts';

export const API_GROUP = 'redeliver.io';
export const API_VERSION = `${API_GROUP}/v1alpha1`;

export type OrderingMode = 'strict' | 'key' | 'none';
export type EndpointState = 'active' | 'disabled' | 'archived';
export type OnExhausted = 'block' | 'deadletter';

export interface SecretRef {
  name: string;
  /** Keys of the Secret; several keys are tried in order (secret rotation). */
  keys: string[];
}

export interface HmacOptions {
  header: string;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  prefix?: string;
}

/** When an event is deduplicated by the SHA-256 of its body (see docs/providers.md). */
export type BodyDedupe = 'auto' | 'always' | 'off';

export interface EndpointSpec {
  source: {
    /** An id of the provider catalogue (src/domain/providers/). */
    provider: Provider;
    secretRef?: SecretRef;
    hmac?: HmacOptions;
    /** Signed-timestamp tolerance; the provider's default when unset. */
    toleranceSeconds?: number;
    /** The URL the provider calls, for schemes that sign it (Twilio, Square, HubSpot, Trello). */
    publicUrl?: string;
    /** Key of secretRef's Secret holding the token of a subscription handshake (Meta's hub.verify_token). */
    verifyTokenKey?: string;
    /** Also store and deliver handshake requests (they are always answered by the gateway). */
    deliverHandshakes?: boolean;
    bodyDedupe?: BodyDedupe;
    eventIdFrom?: ValueSource;
    eventTypeFrom?: ValueSource;
    maxBodyBytes: number;
    dedupeWindowSeconds: number;
  };
  destination: {
    url: string;
    timeoutSeconds: number;
    headers?: Record<string, string>;
    signing?: { secretRef: { name: string; key: string } };
  };
  ordering: { mode: OrderingMode; key?: string; partitions: number; concurrency: number };
  retry: {
    maxAttempts: number;
    backoff: { initialSeconds: number; maxSeconds: number; multiplier: number; jitter: number };
    onExhausted?: OnExhausted;
    /** With onExhausted block: how often the blocked head is tried again (CRD default 300). */
    blockedRetrySeconds?: number;
  };
  rateLimit?: { perSecond: number };
  retention: { seconds: number };
  paused: boolean;
  state: EndpointState;
}

export interface EndpointResource {
  apiVersion: string;
  kind: 'WebhookEndpoint';
  metadata: { name: string; namespace?: string; generation?: number; uid?: string };
  spec: EndpointSpec;
}

/**
 * What the data plane needs, as stored in the registry. Secrets are plain here, in memory only;
 * the store encrypts them before they reach Redis.
 */
export interface ResolvedEndpoint {
  /** `namespace/name`; also the Redis hash tag of every key of this endpoint. */
  id: string;
  namespace: string;
  name: string;
  generation: number;
  spec: EndpointSpec;
  /** Inbound verification secrets, in rotation order. */
  sourceSecrets: string[];
  /** The handshake token (spec.source.verifyTokenKey), when configured. */
  verifyToken?: string;
  /** Outbound Standard Webhooks signing secret (`whsec_…`), when signing is configured. */
  signingSecret?: string;
  /**
   * Paused through the management API: an operator override kept in Redis beside the
   * resource-owned spec, so the controller (which owns `spec`) does not undo it.
   */
  operatorPaused?: boolean;
  updatedAt: string;
}

/** Deliveries wait while the resource says so (spec.paused) or an operator paused them. */
export function isPaused(ep: ResolvedEndpoint): boolean {
  return ep.spec.paused || ep.operatorPaused === true;
}

export function endpointId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function ingestPath(id: string): string {
  return `/in/${id}`;
}

/** Number of ordering partitions: 1 for strict, `partitions` for key, `concurrency` lanes for none. */
export function partitionCount(spec: EndpointSpec): number {
  if (spec.ordering.mode === 'strict') return 1;
  if (spec.ordering.mode === 'key') return spec.ordering.partitions;
  return spec.ordering.concurrency;
}

/** The CRD's default for spec.retry.blockedRetrySeconds (a resource built in code may omit it). */
export const DEFAULT_BLOCKED_RETRY_SECONDS = 300;

/** Ordered endpoints block on exhaustion by default; unordered ones dead-letter. */
export function onExhausted(spec: EndpointSpec): OnExhausted {
  return spec.retry.onExhausted ?? (spec.ordering.mode === 'none' ? 'deadletter' : 'block');
}

/** How long a blocked head waits before it is tried again. */
export function blockedRetryMs(spec: EndpointSpec): number {
  return Math.round((spec.retry.blockedRetrySeconds ?? DEFAULT_BLOCKED_RETRY_SECONDS) * 1000);
}
