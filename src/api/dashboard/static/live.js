// @ts-check
// The live feed: one EventSource on /api/v1/live (Server-Sent Events pushed by the server from
// Redis), shared by every page. Pages subscribe to `endpoint` and `replay` events.

/** @typedef {{ type: 'endpoint', endpoint_id: string, newest_delivery_id: string, created: boolean }} EndpointEvent */
/** @typedef {{ type: 'replay', id: string, endpoint: string, phase: string, matched: number, enqueued: number, skipped: number, delivered: number, failed: number, enqueue_done: boolean }} ReplayEvent */
/** @typedef {{ type: 'resync' }} ResyncEvent (the stream (re)connected: what happened while it was down is unknown) */
/** @typedef {EndpointEvent | ReplayEvent | ResyncEvent} LiveEvent */

/** @type {Set<(e: LiveEvent) => void>} */
const listeners = new Set();
/** @type {Set<(connected: boolean) => void>} */
const statusListeners = new Set();
/** @type {EventSource | undefined} */
let source;

/** @param {boolean} up */
const setStatus = (up) => {
  for (const fn of statusListeners) fn(up);
};

export function connect() {
  if (source) return;
  source = new EventSource('/api/v1/live');
  source.addEventListener('open', () => setStatus(true));
  source.addEventListener('error', () => setStatus(false));
  for (const type of ['endpoint', 'replay']) {
    source.addEventListener(type, (msg) => {
      const e = /** @type {LiveEvent} */ (JSON.parse(/** @type {MessageEvent<string>} */ (msg).data));
      for (const fn of listeners) fn(e);
    });
  }
  source.addEventListener('hello', () => {
    for (const fn of listeners) fn({ type: 'resync' });
  });
  source.addEventListener('end', () => disconnect());
}

export function disconnect() {
  source?.close();
  source = undefined;
  setStatus(false);
}

/** @param {(e: LiveEvent) => void} fn */
export function subscribe(fn) {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}

/** @param {(connected: boolean) => void} fn */
export function onStatus(fn) {
  statusListeners.add(fn);
  return () => {
    statusListeners.delete(fn);
  };
}
