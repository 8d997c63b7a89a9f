// @ts-check
// Deliveries: filters (endpoint, status, event type, time range, event id, provider event id) kept
// in the URL, stable cursor paging, and live updates of the first page. Pausing the live view (or
// leaving the first page) keeps the user's place: new rows are counted, not inserted.
import { useState } from 'preact/hooks';
import { get, query } from './api.js';
import { html } from './html.js';
import { Badge, ErrorLine, go, href, time, useData } from './ui.js';

/** @typedef {import('./api.js').Json} Json */

const FIELDS = ['endpoint', 'status', 'event_type', 'event_id', 'provider_event_id', 'from', 'to'];

/** datetime-local value → RFC 3339, and back. */
const toIso = (/** @type {string} */ v) => (v ? new Date(v).toISOString() : '');
const toLocal = (/** @type {string | null} */ iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** @param {{ params: URLSearchParams, endpoints: string[] }} p */
function Filters({ params, endpoints }) {
  /** @param {SubmitEvent} e */
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    /** @type {Record<string, string>} */
    const next = {};
    for (const f of FIELDS) {
      const v = String(data.get(f) ?? '').trim();
      if (v) next[f] = f === 'from' || f === 'to' ? toIso(v) : v;
    }
    go('/deliveries', next);
  };
  const v = (/** @type {string} */ f) => params.get(f) ?? '';
  return html`<form class="filters" onSubmit=${submit} aria-label="Filter deliveries">
    <label>Endpoint <select name="endpoint"><option value="">All</option>
      ${endpoints.map((id) => html`<option value=${id} selected=${v('endpoint') === id}>${id}</option>`)}</select></label>
    <label>Status <select name="status"><option value="">Any</option>
      ${['PENDING', 'SENDING', 'DELIVERED', 'FAILED'].map((s) => html`<option selected=${v('status') === s}>${s}</option>`)}</select></label>
    <label>Event type <input name="event_type" value=${v('event_type')} /></label>
    <label>Event id <input name="event_id" value=${v('event_id')} /></label>
    <label>Provider event id <input name="provider_event_id" value=${v('provider_event_id')} placeholder="evt_…" /></label>
    <label>From <input type="datetime-local" name="from" value=${toLocal(params.get('from'))} /></label>
    <label>To <input type="datetime-local" name="to" value=${toLocal(params.get('to'))} /></label>
    <button type="submit" class="primary">Apply</button>
    <a href="#/deliveries">Clear</a>
  </form>`;
}

/** @param {{ items: Json[] }} p */
export function DeliveryTable({ items }) {
  if (items.length === 0) return html`<p>No deliveries match.</p>`;
  return html`<table class="deliveries">
    <caption class="visually-hidden">Deliveries, newest first</caption>
    <thead><tr><th scope="col">Status</th><th scope="col">Delivery</th><th scope="col">Endpoint</th><th scope="col">Event type</th>
      <th scope="col">Attempts</th><th scope="col">Resend</th><th scope="col">Created</th><th scope="col">Last answer</th></tr></thead>
    <tbody>${items.map((d) => html`<tr key=${d.id} data-delivery=${d.id}>
      <td><${Badge} status=${d.status} /></td>
      <td><a class="mono" href=${href(`/deliveries/${d.id}`)}>${d.id}</a></td>
      <td>${d.endpoint_id}</td><td>${d.event_type || '—'}</td>
      <td class="num">${d.attempts} / ${d.max_attempts}</td><td class="num">${d.resend_seq}</td>
      <td>${time(d.created_at)}</td><td>${d.response_status_code ?? d.failure_reason ?? '—'}</td>
    </tr>`)}</tbody>
  </table>`;
}

/** @param {{ params: URLSearchParams }} p */
export function DeliveriesPage({ params }) {
  const [paused, setPaused] = useState(false);
  /** @type {[string[], (c: string[]) => void]} */
  const [cursors, setCursors] = useState(/** @type {string[]} */ ([]));
  const filter = Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? undefined]));
  const key = params.toString();
  const cursor = cursors.at(-1);
  const endpoints = useData(() => get('/endpoints?limit=500'), []);
  const { data, error, missed } = useData(() => get(`/deliveries${query({ ...filter, cursor, limit: '25' })}`), [key, cursor], {
    paused: paused || cursor !== undefined,
    liveFilter: (e) => e.type === 'endpoint' && (!filter.endpoint || e.endpoint_id === filter.endpoint),
  });
  const ids = (endpoints.data?.items ?? []).map((/** @type {Json} */ e) => /** @type {string} */ (e.id));
  return html`<h1>Deliveries</h1>
    <${Filters} key=${key} params=${params} endpoints=${ids} />
    <div class="toolbar">
      <button type="button" aria-pressed=${paused} onClick=${() => setPaused(!paused)}>${paused ? 'Resume live updates' : 'Pause live updates'}</button>
      <span aria-live="polite">${missed > 0 ? `${missed} update${missed > 1 ? 's' : ''} waiting` : ''}</span>
    </div>
    <${ErrorLine} error=${error} />
    ${data ? html`<${DeliveryTable} items=${data.items} />` : html`<p class="loading">Loading…</p>`}
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled=${cursors.length === 0} onClick=${() => setCursors([])}>First page</button>
      <button type="button" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
      <button type="button" disabled=${!data?.next_cursor} onClick=${() => setCursors([...cursors, data?.next_cursor])}>Next</button>
    </nav>`;
}
