// @ts-check
// One delivery: its event (payload pretty-printed and raw, headers), every attempt on a timeline,
// the resend chain (resend_seq 0, 1, 2… linked), and the actions — resend, and unblock retry/skip
// when it blocks its partition — each behind a confirmation that says what will happen. The read
// scope gets no payload and no buttons (the server refuses those calls anyway).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, query } from './api.js';
import { html } from './html.js';
import { Badge, ConfirmButton, ErrorLine, go, href, time, useData } from './ui.js';

/** @typedef {import('./api.js').Json} Json */

async function load(/** @type {string} */ id) {
  const d = await get(`/deliveries/${id}`);
  const [event, chain, endpoint] = await Promise.all([
    get(`/events/${d.event_id}`).catch(() => null),
    get(`/deliveries${query({ event_id: d.event_id, limit: '200' })}`).catch(() => ({ items: [] })),
    get(`/endpoints/${d.endpoint_id}`).catch(() => null),
  ]);
  return { d, event, chain: /** @type {Json[]} */ (chain.items), endpoint };
}

/** @param {{ event: Json }} p */
function Payload({ event }) {
  const [raw, setRaw] = useState(false);
  if (event.body_redacted) return html`<p class="muted">The payload is hidden from the read scope.</p>`;
  let pretty = event.body;
  try {
    pretty = JSON.stringify(JSON.parse(event.body), null, 2);
  } catch {
    pretty = event.body;
  }
  return html`<div class="toolbar"><button type="button" aria-pressed=${raw} onClick=${() => setRaw(!raw)}>${raw ? 'Show pretty' : 'Show raw'}</button>
      <span class="muted">${event.body_size} bytes${event.body_encoding === 'base64' ? ', base64' : ''}</span></div>
    <pre class="payload" tabindex="0" aria-label="Payload">${raw ? event.body : pretty}</pre>`;
}

/** @param {Json} a */
const succeeded = (a) => a.response_status_code >= 200 && a.response_status_code < 300;

/** @param {{ attempts: Json[], next: string | undefined }} p */
function Timeline({ attempts, next }) {
  if (attempts.length === 0) return html`<p class="muted">No attempt yet.</p>`;
  return html`<ol class="timeline">${attempts.map((a) => html`<li class=${succeeded(a) ? 'ok' : 'bad'}>
      <strong>Attempt ${a.attempt}</strong> · ${time(a.started_at)} · ${a.response_status_code ?? 'no answer'} · ${a.classification}
      ${a.duration_ms !== undefined ? html` · ${Math.round(a.duration_ms)} ms` : null}
      ${a.error_message ? html`<div class="sub">${a.error_message}</div>` : null}
      ${a.response_body ? html`<pre class="excerpt">${a.response_body.slice(0, 500)}</pre>` : null}
    </li>`)}
    ${next ? html`<li class="next">Next attempt ${time(next)}</li>` : null}</ol>`;
}

/** @param {{ d: Json, endpoint: Json | null, reload: () => void }} p */
function Actions({ d, endpoint, reload }) {
  const blocked = Object.entries(endpoint?.health.blocked ?? {}).find(([, id]) => id === d.id);
  const terminal = d.status === 'DELIVERED' || d.status === 'FAILED';
  const unblock = async (/** @type {'retry' | 'skip'} */ action) => {
    const res = await post(`/endpoints/${d.endpoint_id}/unblock`, { action, partition: Number(blocked?.[0]) });
    if (res.new_delivery) go(`/deliveries/${res.new_delivery.id}`);
    else reload();
  };
  return html`<div class="actions">
    ${terminal ? html`<${ConfirmButton} label="Resend" title="Resend this delivery?"
      text=${`A new delivery of event ${d.event_id} (resend_seq ${d.resend_seq + 1} or later) is queued to ${d.endpoint_id}, after what is already waiting. This delivery stays as it is.`}
      confirm="Resend" onConfirm=${async () => go(`/deliveries/${(await post(`/deliveries/${d.id}/resend`)).id}`)} />` : null}
    ${blocked ? html`<${ConfirmButton} label="Unblock: retry" title="Retry the blocked delivery?"
      text=${`A new delivery of this event is sent first on partition ${blocked[0]}; the deliveries behind it follow in order once it is delivered.`}
      confirm="Retry now" onConfirm=${() => unblock('retry')} />
      <${ConfirmButton} label="Unblock: skip" danger=${true} title="Skip the blocked delivery?"
      text=${`This delivery stays FAILED and is not sent again; partition ${blocked[0]} moves on to the next delivery.`}
      confirm="Skip it" onConfirm=${() => unblock('skip')} />` : null}
  </div>`;
}

/** @param {{ chain: Json[], current: string }} p */
function Chain({ chain, current }) {
  return html`<ol class="chain">${[...chain].sort((a, b) => a.resend_seq - b.resend_seq).map((c) => html`<li>
    ${c.id === current ? html`<strong>resend_seq ${c.resend_seq}</strong>` : html`<a href=${href(`/deliveries/${c.id}`)}>resend_seq ${c.resend_seq}</a>`}
    <${Badge} status=${c.status} /> <span class="muted">${c.origin} · ${time(c.created_at)}</span></li>`)}</ol>`;
}

/** @param {{ event: Json }} p */
function Headers({ event }) {
  return html`<table class="headers"><caption class="visually-hidden">Headers as received, without signature headers</caption>
    <tbody>${Object.entries(event.headers).map(([k, v]) => html`<tr><th scope="row">${k}</th><td class="mono">${v}</td></tr>`)}</tbody></table>`;
}

/** @param {{ id: string, operator: boolean }} p */
export function DeliveryPage({ id, operator }) {
  const endpointOf = useRef('');
  const { data, error, reload } = useData(() => load(id), [id], { liveFilter: (e) => e.type === 'endpoint' && e.endpoint_id === endpointOf.current });
  // A retry changes no counter the live feed watches: look again when the next attempt is due.
  const due = data?.d.status === 'PENDING' ? data.d.next_attempt_at : undefined;
  useEffect(() => {
    if (!due) return undefined;
    const timer = setTimeout(reload, Math.min(Math.max(Date.parse(due) - Date.now(), 0) + 500, 3_600_000));
    return () => clearTimeout(timer);
  }, [due]);
  if (error) return html`<h1>Delivery</h1><${ErrorLine} error=${error} />`;
  if (!data) return html`<p class="loading">Loading…</p>`;
  const { d, event, chain, endpoint } = data;
  endpointOf.current = d.endpoint_id;
  const blocking = Object.values(endpoint?.health.blocked ?? {}).includes(d.id);
  return html`<h1>Delivery <span class="mono">${d.id}</span></h1>
    <p class="status-line"><${Badge} status=${d.status} /> ${blocking ? html`<span class="badge badge-failed">blocking its partition</span>` : null}</p>
    ${operator ? html`<${Actions} d=${d} endpoint=${endpoint} reload=${reload} />` : null}
    <dl class="facts">
      <dt>Endpoint</dt><dd><a href=${href('/deliveries', { endpoint: d.endpoint_id })}>${d.endpoint_id}</a></dd>
      <dt>Event</dt><dd class="mono">${d.event_id}</dd>
      <dt>Provider event id</dt><dd class="mono">${event?.provider_event_id ?? '—'}</dd>
      <dt>Event type</dt><dd>${d.event_type || '—'}</dd>
      <dt>Attempts</dt><dd>${d.attempts} of ${d.max_attempts}</dd>
      <dt>Resend seq</dt><dd class="resend-seq">${d.resend_seq}</dd>
      <dt>Origin</dt><dd>${d.origin}</dd>
      <dt>Created</dt><dd>${time(d.created_at)}</dd>
      <dt>Delivered</dt><dd>${time(d.delivered_at)}</dd>
    </dl>
    <section aria-labelledby="chain-h"><h2 id="chain-h">Resend chain</h2><${Chain} chain=${chain} current=${d.id} /></section>
    <section aria-labelledby="att-h"><h2 id="att-h">Attempts</h2><${Timeline} attempts=${d.attempt_history} next=${d.next_attempt_at} /></section>
    ${event ? html`<section aria-labelledby="pl-h"><h2 id="pl-h">Payload</h2><${Payload} event=${event} /></section>
      <section aria-labelledby="hd-h"><h2 id="hd-h">Headers</h2><${Headers} event=${event} /></section>`
      : html`<p class="muted">The event was removed by retention.</p>`}`;
}
