// @ts-check
// Replays: the list (started here, through the API, or as a ReplayRequest), one replay with live
// progress (matched / enqueued / delivered / failed) and cancel, and bulk recovery: pick a filter,
// see the server's count of what it matches, then start it as an ordered replay.
import { useState } from 'preact/hooks';
import { call, get, post } from './api.js';
import { html } from './html.js';
import { Badge, ConfirmButton, ErrorLine, go, href, Progress, time, useData } from './ui.js';

/** @typedef {import('./api.js').Json} Json */

/** @param {{ operator: boolean }} p */
export function ReplaysPage({ operator }) {
  const { data, error } = useData(() => get('/replays?limit=100'), [], { liveFilter: (e) => e.type === 'replay' });
  return html`<h1>Replays</h1>
    ${operator ? html`<p><a class="button primary" href="#/replays/new">Bulk recovery…</a></p>` : null}
    <${ErrorLine} error=${error} />
    ${!data ? html`<p class="loading">Loading…</p>` : data.items.length === 0 ? html`<p>No replays yet.</p>` : html`<table>
      <caption class="visually-hidden">Replays, newest first</caption>
      <thead><tr><th scope="col">Replay</th><th scope="col">Endpoint</th><th scope="col">Phase</th><th scope="col">Progress</th><th scope="col">Created</th></tr></thead>
      <tbody>${data.items.map((/** @type {Json} */ r) => html`<tr key=${r.id}>
        <td><a class="mono" href=${href(`/replays/${r.id}`)}>${r.id}</a></td><td>${r.endpoint}</td>
        <td><${Badge} status=${r.phase} /></td>
        <td><${Progress} label="Delivered" value=${r.delivered} max=${r.matched} /></td><td>${time(r.created_at)}</td></tr>`)}</tbody>
    </table>`}`;
}

/** @param {{ id: string, operator: boolean }} p */
export function ReplayPage({ id, operator }) {
  const { data: r, error, reload } = useData(() => get(`/replays/${id}`), [id], { liveFilter: (e) => e.type === 'replay' && e.id === id });
  if (error) return html`<h1>Replay</h1><${ErrorLine} error=${error} />`;
  if (!r) return html`<p class="loading">Loading…</p>`;
  const sel = r.spec.selector ?? {};
  return html`<h1>Replay <span class="mono">${r.id}</span></h1>
    <p><${Badge} status=${r.phase} /> ${r.message}</p>
    <section class="progress" aria-label="Progress" data-phase=${r.phase}>
      <${Progress} label="Enqueued" value=${r.enqueued} max=${r.matched} />
      <${Progress} label="Delivered" value=${r.delivered} max=${r.matched} />
      <${Progress} label="Failed" value=${r.failed} max=${r.matched} />
      <p class="muted">Matched ${r.matched}${r.enqueue_done ? '' : ' so far (still scanning)'} · skipped ${r.skipped}</p>
    </section>
    ${operator && r.phase === 'Running' ? html`<${ConfirmButton} label="Cancel replay" danger=${true} title="Cancel this replay?"
      text="No more deliveries are enqueued; those already enqueued are still delivered." confirm="Cancel replay"
      onConfirm=${async () => { await call('DELETE', `/replays/${id}`); reload(); }} />` : null}
    <dl class="facts">
      <dt>Endpoint</dt><dd><a href=${href('/deliveries', { endpoint: r.endpoint })}>${r.endpoint}</a></dd>
      <dt>Statuses</dt><dd>${(sel.statuses ?? []).join(', ') || 'any'}</dd>
      <dt>Event types</dt><dd>${(sel.eventTypes ?? []).join(', ') || 'any'}</dd>
      <dt>Received</dt><dd>${sel.from ? time(sel.from) : 'the beginning'} → ${sel.to ? time(sel.to) : 'now'}</dd>
      <dt>Created</dt><dd>${time(r.created_at)}</dd><dt>Completed</dt><dd>${time(r.completed_at)}</dd>
    </dl>`;
}

/** @param {FormData} f */
function specOf(f) {
  const statuses = f.getAll('statuses').map(String);
  const types = String(f.get('event_type') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const from = String(f.get('from') ?? '');
  const to = String(f.get('to') ?? '');
  /** @type {Json} */
  const selector = {};
  if (statuses.length) selector.statuses = statuses;
  if (types.length) selector.eventTypes = types;
  if (from) selector.from = new Date(from).toISOString();
  if (to) selector.to = new Date(to).toISOString();
  return { endpoint: String(f.get('endpoint') ?? ''), selector };
}

/** @param {{ params: URLSearchParams, operator: boolean }} p */
export function RecoverPage({ params, operator }) {
  const endpoints = useData(() => get('/endpoints?limit=500'), []);
  const [spec, setSpec] = useState(/** @type {Json | null} */ (null));
  const [count, setCount] = useState(/** @type {Json | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [counting, setCounting] = useState(false);
  /** @param {SubmitEvent} e */
  const preview = async (e) => {
    e.preventDefault();
    const s = specOf(new FormData(/** @type {HTMLFormElement} */ (e.currentTarget)));
    setError(null);
    setCount(null);
    setCounting(true);
    try {
      setCount(await post('/replays/preview', s));
      setSpec(s);
    } catch (err) {
      setError(err);
    } finally {
      setCounting(false);
    }
  };
  /** @type {string[]} */
  const ids = (endpoints.data?.items ?? []).map((/** @type {Json} */ x) => /** @type {string} */ (x.id));
  return html`<h1>Bulk recovery</h1>
    <p>Pick what to send again. It runs as an ordered replay: each matching event becomes a new delivery, in the order it was first received.</p>
    <form class="filters" onSubmit=${preview} onInput=${() => setCount(null)} aria-label="What to replay">
      <label>Endpoint <select name="endpoint" required>${ids.map((id) => html`<option selected=${params.get('endpoint') === id}>${id}</option>`)}</select></label>
      <fieldset><legend>Latest delivery status</legend>
        ${['FAILED', 'DELIVERED', 'PENDING'].map((s) => html`<label class="inline"><input type="checkbox" name="statuses" value=${s} checked=${s === 'FAILED'} /> ${s}</label>`)}</fieldset>
      <label>Event types (comma-separated) <input name="event_type" /></label>
      <label>Received from <input type="datetime-local" name="from" /></label>
      <label>Received before <input type="datetime-local" name="to" /></label>
      <button type="submit" disabled=${counting}>Count matching events</button>
    </form>
    ${counting ? html`<p class="loading" aria-live="polite">Counting on the server (the whole range is read)…</p>` : null}
    <${ErrorLine} error=${error} />
    ${count && spec ? html`<section class="count" aria-live="polite">
      <p><strong class="matched">${count.matched}</strong> event${count.matched === 1 ? '' : 's'} match${count.complete ? '' : ' (at least; the count stopped early)'}.</p>
      ${operator && count.matched > 0 ? html`<${ConfirmButton} label=${`Replay ${count.matched} events`} title="Start the replay?"
        text=${`${count.matched} new deliveries are queued to ${spec.endpoint}, in the original order, after what is already waiting.`}
        confirm="Start replay" onConfirm=${async () => go(`/replays/${(await post('/replays', spec)).id}`)} />` : null}
    </section>` : null}`;
}
