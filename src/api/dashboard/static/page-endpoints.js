// @ts-check
// Endpoints overview: state (ready, paused, disabled, blocked with the blocking delivery linked),
// ordering mode, backlog, oldest pending, success rate, a chart of the last hour; pause/resume.
import { get, post } from './api.js';
import { EndpointChart } from './chart.js';
import { html } from './html.js';
import { age, ConfirmButton, ErrorLine, href, time, useData } from './ui.js';

/** @typedef {import('./api.js').Json} Json */

/** @param {Json} ep */
function state(ep) {
  const blocked = Object.entries(ep.health.blocked ?? {});
  if (ep.state !== 'active') return { label: ep.state, cls: 'disabled', blocked };
  if (blocked.length > 0) return { label: 'blocked', cls: 'failed', blocked };
  if (ep.paused) return { label: 'paused', cls: 'pending', blocked };
  return { label: 'ready', cls: 'delivered', blocked };
}

/** @param {Json} ep */
function successRate(ep) {
  const c = ep.health.counters ?? {};
  const done = (c.delivered ?? 0) + (c.failed ?? 0);
  return done === 0 ? '—' : `${Math.round(((c.delivered ?? 0) / done) * 1000) / 10} %`;
}

/** @param {{ ep: Json, operator: boolean, reload: () => void }} p */
function Row({ ep, operator, reload }) {
  const s = state(ep);
  const action = ep.paused ? 'resume' : 'pause';
  return html`<tr>
    <th scope="row"><a href=${href('/deliveries', { endpoint: ep.id })}>${ep.id}</a><div class="sub">${ep.ingest_path}</div></th>
    <td><span class=${`badge badge-${s.cls}`}>${s.label}</span>
      ${s.blocked.map(([p, id]) => html`<div class="sub">partition ${p}: <a href=${href(`/deliveries/${id}`)}>blocking delivery</a></div>`)}</td>
    <td>${ep.spec.ordering?.mode ?? 'strict'}</td>
    <td class="num">${ep.health.backlog}</td>
    <td class="num">${age(ep.health.oldest_pending_age_seconds)}</td>
    <td class="num">${successRate(ep)}</td>
    <td>${ep.health.destination.status}<div class="sub">${time(ep.health.last_delivered_at)}</div></td>
    <td><${EndpointChart} endpointId=${ep.id} /></td>
    ${operator ? html`<td><${ConfirmButton} label=${ep.paused ? 'Resume' : 'Pause'} title=${`${ep.paused ? 'Resume' : 'Pause'} ${ep.id}?`}
      text=${ep.paused ? 'Deliveries start again, in order, from where they stopped.' : 'Deliveries stop after the one in flight. Events are still received and stored.'}
      confirm=${ep.paused ? 'Resume deliveries' : 'Pause deliveries'}
      onConfirm=${async () => { await post(`/endpoints/${ep.id}/${action}`); reload(); }} /></td>` : null}
  </tr>`;
}

/** @param {{ operator: boolean }} p */
export function EndpointsPage({ operator }) {
  const { data, error, reload } = useData(() => get('/endpoints?limit=500'), [], { liveFilter: (e) => e.type === 'endpoint' });
  return html`<h1>Endpoints</h1>
    <${ErrorLine} error=${error} />
    ${data ? html`<table>
      <caption class="visually-hidden">Endpoints with their state and health</caption>
      <thead><tr><th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Ordering</th><th scope="col">Backlog</th>
        <th scope="col">Oldest pending</th><th scope="col">Success</th><th scope="col">Destination</th><th scope="col">Last hour</th>
        ${operator ? html`<th scope="col">Actions</th>` : null}</tr></thead>
      <tbody>${data.items.map((/** @type {Json} */ ep) => html`<${Row} key=${ep.id} ep=${ep} operator=${operator} reload=${reload} />`)}</tbody>
    </table>` : html`<p class="loading">Loading…</p>`}`;
}
