// @ts-check
// Calls to the management API, same origin. The session cookie goes along by itself (HttpOnly:
// this code never sees the key or the token); writes carry the Origin header the server checks.

/** @typedef {{ key_id: string, scope: 'read' | 'operator', namespaces: string[] | null, expires_at: string | null }} Session */
/** @typedef {Record<string, any>} Json */

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {Json | undefined} details */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Listeners told when the session has ended (a 401 on any call). */
const ended = new Set(/** @type {Array<() => void>} */ ([]));
/** @param {() => void} fn */
export const onSessionEnd = (fn) => {
  ended.add(fn);
  return () => ended.delete(fn);
};

/**
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {unknown} [body]
 * @returns {Promise<Json>}
 */
export async function call(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const res = await fetch(`/api/v1${path}`, init);
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== '/session') for (const fn of ended) fn();
    throw new ApiError(res.status, json.code ?? 'error', json.message ?? `HTTP ${res.status}`, json.details);
  }
  return json;
}

/** @param {string} path */
export const get = (path) => call('GET', path);
/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => call('POST', path, body ?? {});

/** @param {Record<string, string | undefined>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
