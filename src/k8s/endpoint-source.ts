// The two sources of WebhookEndpoint resources — the Kubernetes API (the controller's informers)
// and a folder of YAML (standalone mode) — feed the same observe → plan → apply
// (src/controller/endpoint-sync.ts). What differs between them is only where Secrets are read and
// where the plan's finalizer, Event and status actions go: that is an EndpointTarget. Types only.
import type { EndpointStatus, WebhookEndpointObject } from './resources.ts';
import type { SecretRead } from './secrets.ts';

export interface EndpointTarget {
  /** The Secrets the resource references, by name; a name absent from the map was not found. */
  secrets(res: WebhookEndpointObject): Promise<Map<string, SecretRead>>;
  addFinalizer(obj: WebhookEndpointObject): Promise<WebhookEndpointObject>;
  removeFinalizer(obj: WebhookEndpointObject): Promise<void>;
  event(obj: WebhookEndpointObject, eventType: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  status(obj: WebhookEndpointObject, status: EndpointStatus): Promise<void>;
}

export interface EndpointSyncResult {
  requeueAfterMs?: number;
  retry?: boolean;
  /** Whether the registry entry was written (put or archived). */
  wrote: boolean;
}

/** One resource through observe → plan → apply. A deleted one carries a deletionTimestamp. */
export type EndpointSync = (obj: WebhookEndpointObject) => Promise<EndpointSyncResult>;
