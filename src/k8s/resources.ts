// The Kubernetes side of Redeliver's custom resources, as the controller reads and writes them:
// API coordinates, the object shapes (metadata the controller uses, status), and metav1.Condition.
// Types and constants only; the spec types live in src/domain/endpoint.ts.
import type { EndpointSpec } from '../domain/endpoint.ts';

export const GROUP = 'redeliver.io';
export const VERSION = 'v1alpha1';
export const FINALIZER = 'redeliver.io/finalizer';

export interface Kind {
  kind: 'WebhookEndpoint' | 'ReplayRequest';
  plural: 'webhookendpoints' | 'replayrequests';
}
export const ENDPOINT_KIND: Kind = { kind: 'WebhookEndpoint', plural: 'webhookendpoints' };
export const REPLAY_KIND: Kind = { kind: 'ReplayRequest', plural: 'replayrequests' };

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  creationTimestamp?: string;
}

/** metav1.Condition. `reason` and `message` are never empty (the API server rejects ""). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface EndpointStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  ingestPath?: string;
  backlog?: number;
  deadLettered?: number;
  oldestPendingSeconds?: number;
  oldestPendingAge?: string;
  lastDeliveredAt?: string;
  blockedDelivery?: string;
}

export interface WebhookEndpointObject {
  apiVersion: string;
  kind: 'WebhookEndpoint';
  metadata: ObjectMeta;
  spec: EndpointSpec;
  status?: EndpointStatus;
}

export type ReplayPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface ReplaySpec {
  endpointRef: { name: string; namespace?: string };
  selector?: { from?: string; to?: string; statuses?: string[]; eventTypes?: string[]; eventIds?: string[] };
  destinationOverride?: { url: string };
  rateLimit?: { perSecond: number };
  pauseLive?: boolean;
}

export interface ReplayStatus {
  observedGeneration?: number;
  phase?: ReplayPhase;
  matched?: number;
  enqueued?: number;
  delivered?: number;
  failed?: number;
  startedAt?: string;
  completedAt?: string;
  message?: string;
  conditions?: Condition[];
}

export interface ReplayRequestObject {
  apiVersion: string;
  kind: 'ReplayRequest';
  metadata: ObjectMeta;
  spec: ReplaySpec;
  status?: ReplayStatus;
}

export type KubeObject = WebhookEndpointObject | ReplayRequestObject;

/** `namespace/name`: the work-queue key of an object (and an endpoint's registry id). */
export const objectKey = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
