// @ts-check
// The audit log (operator scope): who resent, unblocked, paused or replayed what, and when.
import { useState } from 'preact/hooks';
import { get, query } from './api.js';
import { html } from './html.js';
import { ErrorLine, time, useData } from './ui.js';

/** @typedef {import('./api.js').Json} Json */

export function AuditPage() {
  const [cursors, setCursors] = useState(/** @type {string[]} */ ([]));
  const cursor = cursors.at(-1);
  const { data, error } = useData(() => get(`/audit${query({ cursor, limit: '50' })}`), [cursor]);
  return html`<h1>Audit log</h1>
    <${ErrorLine} error=${error} />
    ${data ? html`<table>
      <caption class="visually-hidden">Management actions, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Key</th><th scope="col">Via</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Result</th></tr></thead>
      <tbody>${data.items.map((/** @type {Json} */ e) => html`<tr key=${e.id}>
        <td>${time(e.at)}</td><td class="mono">${e.who}</td><td>${e.detail?.via ?? 'api'}</td><td>${e.action}</td>
        <td class="mono">${e.target}</td><td>${e.result} (${e.status})</td></tr>`)}</tbody>
    </table>` : html`<p class="loading">Loading…</p>`}
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled=${cursors.length === 0} onClick=${() => setCursors([])}>Newest</button>
      <button type="button" disabled=${!data?.next_cursor} onClick=${() => setCursors([...cursors, data?.next_cursor])}>Older</button>
    </nav>`;
}
