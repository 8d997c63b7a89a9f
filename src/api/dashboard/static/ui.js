// @ts-check
// Small shared pieces: status badges, times, a confirmation dialog, an error line, progress bars,
// and hooks for data that reloads when the live feed says something changed.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { subscribe } from './live.js';

/** @param {{ status: string }} p */
export function Badge({ status }) {
  return html`<span class=${`badge badge-${status.toLowerCase()}`}>${status}</span>`;
}

/** @param {string | null | undefined} iso */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** @param {number | null | undefined} seconds */
export function age(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** @param {{ error: unknown }} p */
export function ErrorLine({ error }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return html`<p class="error" role="alert">${message}</p>`;
}

/**
 * A button that asks first, in a modal dialog that says what will happen.
 * @param {{ label: string, title: string, text: string, confirm: string, onConfirm: () => Promise<unknown>, danger?: boolean }} p
 */
export function ConfirmButton({ label, title, text, confirm, onConfirm, danger }) {
  const dialog = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <button type="button" class=${danger ? 'danger' : ''} onClick=${() => dialog.current?.showModal()}>${label}</button>
    <dialog ref=${dialog} aria-labelledby=${`dlg-${label}`}>
      <h2 id=${`dlg-${label}`}>${title}</h2>
      <p>${text}</p>
      <${ErrorLine} error=${error} />
      <div class="actions">
        <button type="button" class="primary" disabled=${busy} onClick=${run}>${confirm}</button>
        <button type="button" onClick=${() => dialog.current?.close()}>Cancel</button>
      </div>
    </dialog>`;
}

/** @param {{ label: string, value: number, max: number }} p */
export function Progress({ label, value, max }) {
  return html`<div class="progress-row"><span>${label}</span>
    <progress value=${value} max=${Math.max(max, 1)} aria-label=${label}>${value} / ${max}</progress>
    <span class="num">${value} / ${max}</span></div>`;
}

/**
 * Loads data, and loads it again when `deps` change or, when `liveFilter` accepts a live event,
 * after a short debounce (a burst of events makes one reload). `paused` holds the reloads back.
 * @template T
 * @param {() => Promise<T>} load
 * @param {unknown[]} deps
 * @param {{ liveFilter?: (e: import('./live.js').LiveEvent) => boolean, paused?: boolean }} [opts]
 * @returns {{ data: T | undefined, error: unknown, reload: () => void, missed: number }}
 */
export function useData(load, deps, opts = {}) {
  const [data, setData] = useState(/** @type {T | undefined} */ (undefined));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [tick, setTick] = useState(0);
  const [missed, setMissed] = useState(0);
  const paused = useRef(opts.paused ?? false);
  paused.current = opts.paused ?? false;
  useEffect(() => {
    let stale = false;
    load().then((d) => !stale && (setData(d), setError(null)), (err) => !stale && setError(err));
    return () => {
      stale = true;
    };
  }, [...deps, tick]);
  useEffect(() => {
    const filter = opts.liveFilter;
    if (!filter) return undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const off = subscribe((e) => {
      if (e.type !== 'resync' && !filter(e)) return;
      if (paused.current) {
        setMissed((n) => n + 1);
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => setTick((t) => t + 1), 250);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, deps);
  useEffect(() => {
    if (!opts.paused && missed > 0) {
      setMissed(0);
      setTick((t) => t + 1);
    }
  }, [opts.paused]);
  return { data, error, reload: () => setTick((t) => t + 1), missed };
}

/** Where the page is: the hash route (`#/deliveries?status=FAILED`) as a path and its parameters. */
export function useRoute() {
  const read = () => {
    const raw = location.hash.replace(/^#/, '') || '/endpoints';
    const [path = '/endpoints', search = ''] = raw.split('?');
    return { path, params: new URLSearchParams(search) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** @param {string} path @param {Record<string, string | undefined>} [params] */
export function go(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = `#${path}${s ? `?${s}` : ''}`;
}

/** @param {string} path @param {Record<string, string | undefined>} [params] */
export function href(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}
