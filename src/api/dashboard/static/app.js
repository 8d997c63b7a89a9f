// @ts-check
// The dashboard's entry: who is signed in (GET /api/v1/session), the sign-in form, and the shell —
// navigation, the any-id search box, the live indicator — around the page the hash route names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, get, onSessionEnd } from './api.js';
import { html } from './html.js';
import { connect, disconnect, onStatus } from './live.js';
import { AuditPage } from './page-audit.js';
import { DeliveriesPage } from './page-deliveries.js';
import { DeliveryPage } from './page-delivery.js';
import { EndpointsPage } from './page-endpoints.js';
import { ReplaysPage, ReplayPage, RecoverPage } from './page-replays.js';
import { ErrorLine, go, useRoute } from './ui.js';

/** @typedef {import('./api.js').Session} Session */

/** @param {{ onSignedIn: (s: Session) => void }} p */
function SignIn({ onSignedIn }) {
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);
  /** @param {SubmitEvent} e */
  const submit = async (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('key'));
    setBusy(true);
    try {
      const s = /** @type {Session} */ (await call('POST', '/session', { key: input.value }));
      input.value = ''; // the key is not kept anywhere in the page
      onSignedIn(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Redeliver</h1>
    <form onSubmit=${submit}>
      <label for="key">API key</label>
      <input id="key" name="key" type="password" autocomplete="off" required spellcheck=${false} />
      <p class="hint">Your key is exchanged for a session cookie; the page never stores it.</p>
      <${ErrorLine} error=${error} />
      <button class="primary" type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function Search() {
  const [error, setError] = useState(/** @type {unknown} */ (null));
  /** @param {SubmitEvent} e */
  const submit = async (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ (/** @type {HTMLFormElement} */ (e.currentTarget).elements.namedItem('q'));
    const id = input.value.trim();
    if (!id) return;
    setError(null);
    try {
      const found = await get(`/lookup/${encodeURIComponent(id)}`);
      if (found.delivery_id) go(`/deliveries/${found.delivery_id}`);
      else go('/deliveries', { event_id: found.event_id });
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="search" role="search" onSubmit=${submit}>
    <label for="q" class="visually-hidden">Find any id</label>
    <input id="q" name="q" type="search" placeholder="Delivery, event or provider id (evt_…)" />
    <button type="submit">Find</button>
    <${ErrorLine} error=${error} />
  </form>`;
}

/** @param {{ session: Session, onSignOut: () => void }} p */
function Shell({ session, onSignOut }) {
  const route = useRoute();
  const [live, setLive] = useState(false);
  useEffect(() => {
    const off = onStatus(setLive);
    connect();
    return () => {
      off();
      disconnect();
    };
  }, []);
  const signOut = async () => {
    await call('DELETE', '/session').catch(() => undefined);
    onSignOut();
  };
  const operator = session.scope === 'operator';
  const nav = [['/endpoints', 'Endpoints'], ['/deliveries', 'Deliveries'], ['/replays', 'Replays'], ...(operator ? [['/audit', 'Audit']] : [])];
  const current = '/' + (route.path.split('/')[1] ?? '');
  return html`
    <header class="top">
      <a class="brand" href="#/endpoints">Redeliver</a>
      <nav aria-label="Main">${nav.map(([path, label]) => html`<a href=${`#${path}`} aria-current=${current === path ? 'page' : undefined}>${label}</a>`)}</nav>
      <${Search} />
      <span class=${live ? 'live on' : 'live'} aria-live="polite">${live ? 'Live' : 'Offline'}</span>
      <span class="who" title=${session.key_id}>${session.scope}${session.namespaces ? ` · ${session.namespaces.join(', ')}` : ''}</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main">${page(route, operator)}</main>`;
}

/** @param {{ path: string, params: URLSearchParams }} route @param {boolean} operator */
function page(route, operator) {
  const parts = route.path.split('/').filter(Boolean);
  const [section, id] = parts;
  if (section === 'deliveries' && id) return html`<${DeliveryPage} id=${id} operator=${operator} />`;
  if (section === 'deliveries') return html`<${DeliveriesPage} key=${route.params.toString()} params=${route.params} />`;
  if (section === 'replays' && id === 'new') return html`<${RecoverPage} params=${route.params} operator=${operator} />`;
  if (section === 'replays' && id) return html`<${ReplayPage} id=${id} operator=${operator} />`;
  if (section === 'replays') return html`<${ReplaysPage} operator=${operator} />`;
  if (section === 'audit') return html`<${AuditPage} />`;
  return html`<${EndpointsPage} operator=${operator} />`;
}

function App() {
  const [session, setSession] = useState(/** @type {Session | null | undefined} */ (undefined));
  useEffect(() => {
    get('/session').then((s) => setSession(/** @type {Session} */ (s)), () => setSession(null));
    return onSessionEnd(() => setSession(null));
  }, []);
  if (session === undefined) return html`<p class="loading">Loading…</p>`;
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} />`;
  return html`<${Shell} session=${session} onSignOut=${() => setSession(null)} />`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
