// The dashboard in a real Chromium against a real `redeliver standalone` process (its own
// redis-server) and real receivers: sign-in, unblock, resend, search by Stripe's evt_ id, live
// updates, bulk recovery as an ordered replay, the read scope, team-scoped keys, CSRF refusals,
// and an axe-core check of every page. With REDELIVER_SCREENSHOTS=1 it also writes the README's
// screenshots (docs/screenshots/) from this real data.
import { mkdirSync } from 'node:fs';
import { expect } from 'chai';
import type { BrowserContext, Page } from 'playwright-core';
import { receiverPool, type Receiver } from '../support/receiver.ts';
import { waitFor } from '../support/wait.ts';
import { axeProblems, OPERATOR_KEY, READ_KEY, screenshot, signIn, startWorld, TEAM_A_KEY, type World } from './support.ts';

const SHOTS = process.env.REDELIVER_SCREENSHOTS === '1';
type Json = Record<string, unknown> & { items?: Array<Record<string, unknown>> };
const bodyId = (b: Buffer) => (JSON.parse(b.toString()) as { id: string }).id;

describe('dashboard (real Chromium, real standalone process)', function () {
  this.timeout(90_000);
  const receivers = receiverPool();
  let world: World;
  let billing: Receiver;
  let bulk: Receiver;
  let failBilling = false;
  let failBulk = false;
  let ctx: BrowserContext;
  let page: Page;
  const a11y: Record<string, string[]> = {};

  const latestOf = async (eventId: string) => {
    const res = await world.api<Json>('GET', `/api/v1/deliveries?event_id=${eventId}`);
    return res.json.items![0]!;
  };
  const checkA11y = async (name: string) => {
    a11y[name] = await axeProblems(page);
  };

  before(async function () {
    if (SHOTS) mkdirSync(new URL('../../docs/screenshots/', import.meta.url), { recursive: true });
    billing = await receivers.start(() => (failBilling ? { status: 503, body: 'down for maintenance' } : { status: 200, body: 'ok' }));
    bulk = await receivers.start(() => (failBulk ? { status: 500, body: 'boom' } : { status: 200, body: 'ok' }));
    const orders = await receivers.start(() => ({ status: 200 }));
    world = await startWorld([
      { namespace: 'team-a', name: 'billing', url: `${billing.url}/billing` },
      { namespace: 'team-a', name: 'bulk', url: `${bulk.url}/bulk`, onExhausted: 'deadletter' },
      { namespace: 'team-b', name: 'orders', url: `${orders.url}/orders` },
    ]);
    ctx = await world.context();
    page = await ctx.newPage();
  });
  after(async function () {
    await ctx?.close();
    await world?.close();
    await receivers.closeAll();
  });

  it('refuses a wrong key with a clear message, then signs in with an HttpOnly SameSite=Strict cookie', async function () {
    await page.goto('/');
    await checkA11y('sign-in');
    await screenshot(page, 'sign-in', SHOTS);
    await page.getByLabel('API key').fill('not-the-right-key-0123456789abcdefghij');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'this API key is not valid' }).waitFor();
    await signIn(page, OPERATOR_KEY);
    const [cookie] = await ctx.cookies();
    expect(cookie).to.include({ name: 'rd_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.expires).to.be.greaterThan(Date.now() / 1000);
    // The key is nowhere the page's scripts can read it.
    const stored = await page.evaluate<string>('JSON.stringify([document.cookie, { ...localStorage }, { ...sessionStorage }])');
    expect(stored).to.not.include(OPERATOR_KEY).and.not.include(cookie!.value);
  });

  it('shows an endpoint blocked by a failing receiver; unblock retry delivers it', async function () {
    failBilling = true;
    const eventId = await world.sendStripe('team-a/billing', 'evt_block_1', 'invoice.payment_failed', { amount: 1200 });
    await waitFor(async () => (await world.api<Json>('GET', '/api/v1/endpoints/team-a/billing')).json.health !== undefined
      && Object.keys(((await world.api<Json>('GET', '/api/v1/endpoints/team-a/billing')).json.health as { blocked: object }).blocked).length > 0, 20_000, 'blocked');
    await page.goto('/#/endpoints');
    const row = page.getByRole('row').filter({ hasText: 'team-a/billing' });
    await row.getByText('blocked', { exact: true }).waitFor();
    await checkA11y('endpoints');
    await screenshot(page, 'endpoints', SHOTS);
    await row.getByRole('link', { name: 'blocking delivery' }).click();
    await page.getByText('blocking its partition').waitFor();
    await page.getByText('consumer_5xx').first().waitFor();
    await checkA11y('delivery');
    failBilling = false;
    await page.getByRole('button', { name: 'Unblock: retry' }).click();
    await page.getByRole('dialog').getByText('the deliveries behind it follow in order').waitFor();
    await page.getByRole('button', { name: 'Retry now' }).click();
    // The page moves to the new delivery and shows it delivered (pushed by the live feed).
    await page.locator('.status-line').getByText('DELIVERED').waitFor({ timeout: 20_000 });
    expect(await page.locator('.resend-seq').textContent()).to.equal('1');
    await billing.until((rs) => rs.some((r) => r.status === 200 && bodyId(r.body) === 'evt_block_1'));
    expect((await latestOf(eventId)).status).to.equal('DELIVERED');
  });

  it('finds a delivery by its Stripe evt_ id and resends it: resend_seq 1 in the chain', async function () {
    await world.sendStripe('team-a/billing', 'evt_find_me', 'customer.created', { email: 'a@example.test' });
    await billing.until((rs) => rs.some((r) => r.status === 200 && bodyId(r.body) === 'evt_find_me'));
    await waitFor(async () => (await world.api<Json>('GET', '/api/v1/deliveries?provider_event_id=evt_find_me')).json.items?.[0]?.status === 'DELIVERED');
    await page.getByLabel('Find any id').fill('evt_find_me');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator('.facts').getByText('evt_find_me').waitFor();
    await screenshot(page, 'delivery', SHOTS);
    await page.getByRole('button', { name: 'Resend' }).click();
    await page.getByRole('dialog').getByText('This delivery stays as it is').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Resend' }).click();
    await page.locator('.chain').getByText('resend_seq 1').waitFor();
    await page.locator('.chain').getByRole('link', { name: 'resend_seq 0' }).waitFor();
    expect(await page.locator('.resend-seq').textContent()).to.equal('1');
    await billing.until((rs) => rs.filter((r) => r.status === 200 && bodyId(r.body) === 'evt_find_me').length === 2);
  });

  it('shows a new event in the open list without a reload', async function () {
    await page.goto('/#/deliveries?endpoint=team-a/billing');
    await page.locator('table.deliveries').waitFor();
    await page.evaluate('window.notReloaded = true');
    await world.sendStripe('team-a/billing', 'evt_live_1', 'live.arrived');
    await page.locator('table.deliveries').getByText('live.arrived').waitFor({ timeout: 10_000 });
    expect(await page.evaluate<boolean>('window.notReloaded === true')).to.equal(true);
    await checkA11y('deliveries');
    await screenshot(page, 'deliveries', SHOTS);
  });

  it('bulk-retries failed deliveries: the count first, then the progress bar to the end, delivered in order', async function () {
    failBulk = true;
    const ids = ['evt_bulk_1', 'evt_bulk_2', 'evt_bulk_3', 'evt_bulk_4'];
    for (const id of ids) await world.sendStripe('team-a/bulk', id, 'order.paid', { id });
    await waitFor(async () => (await world.api<Json>('GET', '/api/v1/deliveries?endpoint=team-a/bulk&status=FAILED')).json.items?.length === 4, 20_000, 'four failed');
    failBulk = false;
    const before = bulk.receipts.length;
    await page.goto('/#/replays/new?endpoint=team-a/bulk');
    await page.getByRole('button', { name: 'Count matching events' }).click();
    await page.locator('.count .matched').filter({ hasText: '4' }).waitFor();
    await checkA11y('bulk-recovery');
    await screenshot(page, 'bulk-recovery', SHOTS);
    await page.getByRole('button', { name: 'Replay 4 events' }).click();
    await page.getByRole('dialog').getByText('4 new deliveries are queued').waitFor();
    await page.getByRole('button', { name: 'Start replay' }).click();
    await page.locator('section.progress[data-phase="Succeeded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('progressbar', { name: 'Delivered' }).getAttribute('value')).to.equal('4');
    await checkA11y('replay');
    await screenshot(page, 'replay', SHOTS);
    const replayed = bulk.receipts.slice(before).filter((r) => r.status === 200).map((r) => bodyId(r.body));
    expect(replayed).to.deep.equal(ids);
    await page.goto('/#/replays');
    await page.getByRole('row').filter({ hasText: 'team-a/bulk' }).getByText('Succeeded').waitFor();
    await checkA11y('replays');
    await page.goto('/#/audit');
    await page.getByRole('cell', { name: 'replay.create' }).first().waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'delivery.resend' }).first().textContent()).to.include('dashboard');
    await checkA11y('audit');
    await screenshot(page, 'audit', SHOTS);
  });

  it('shows the read scope no payload and no buttons; the server refuses its writes anyway', async function () {
    const readCtx = await world.context();
    try {
      const p = await readCtx.newPage();
      await signIn(p, READ_KEY);
      const d = (await world.api<Json>('GET', '/api/v1/deliveries?provider_event_id=evt_find_me')).json.items![0]!;
      await p.goto(`/#/deliveries/${String(d.id)}`);
      await p.getByText('The payload is hidden from the read scope.').waitFor();
      expect(await p.locator('pre.payload').count()).to.equal(0);
      expect(await p.getByRole('button', { name: /Resend|Unblock|Pause/ }).count()).to.equal(0);
      expect(await p.getByRole('navigation', { name: 'Main' }).getByText('Audit').count()).to.equal(0);
      expect(await p.content()).to.not.include('a@example.test').and.not.include('stripe-signature');
      await p.goto('/#/endpoints');
      await p.getByRole('row').filter({ hasText: 'team-a/billing' }).waitFor();
      expect(await p.getByRole('button', { name: /Pause|Resume/ }).count()).to.equal(0);
      const status = await p.evaluate<number>(`fetch('/api/v1/deliveries/${String(d.id)}/resend', { method: 'POST' }).then((r) => r.status)`);
      expect(status).to.equal(403);
    } finally {
      await readCtx.close();
    }
  });

  it('limits a team-scoped key to its namespaces in the page, the API and the live stream', async function () {
    const teamCtx = await world.context();
    try {
      const p = await teamCtx.newPage();
      await signIn(p, TEAM_A_KEY);
      await p.getByRole('row').filter({ hasText: 'team-a/billing' }).waitFor();
      expect(await p.getByRole('row').filter({ hasText: 'team-b/orders' }).count()).to.equal(0);
      const orderEvent = await world.sendStripe('team-b/orders', 'evt_team_b', 'order.created');
      const other = await latestOf(orderEvent);
      const seen = await p.evaluate<number[]>(`Promise.all([
        fetch('/api/v1/deliveries/${String(other.id)}').then((r) => r.status),
        fetch('/api/v1/endpoints/team-b/orders').then((r) => r.status),
        fetch('/api/v1/deliveries?endpoint=team-b/orders').then((r) => r.status),
        fetch('/api/v1/lookup/evt_team_b').then((r) => r.status),
        fetch('/api/v1/replays/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"endpoint":"team-b/orders"}' }).then((r) => r.status),
      ])`);
      expect(seen).to.deep.equal([404, 404, 404, 404, 404]);
      // The live stream: team-b's traffic never reaches this page; team-a's does.
      // (Polled with evaluate: the page's CSP forbids the eval that waitForFunction would need.)
      await p.evaluate(`window.liveSeen = []; const es = new EventSource('/api/v1/live');
        es.addEventListener('hello', () => { window.liveOpen = true; });
        es.addEventListener('endpoint', (m) => window.liveSeen.push(JSON.parse(m.data).endpoint_id));`);
      await waitFor(() => p.evaluate<boolean>('window.liveOpen === true'), 10_000, 'live stream open');
      await world.sendStripe('team-b/orders', 'evt_team_b_2', 'order.created');
      await world.sendStripe('team-a/billing', 'evt_team_a_2', 'invoice.created');
      await waitFor(() => p.evaluate<boolean>('window.liveSeen.includes("team-a/billing")'), 10_000, 'team-a event on the live stream');
      expect(await p.evaluate<string[]>('window.liveSeen')).to.not.include('team-b/orders');
    } finally {
      await teamCtx.close();
    }
  });

  it('refuses a write without the session cookie or from another origin; sign-out ends the session', async function () {
    const cookie = (await ctx.cookies()).find((c) => c.name === 'rd_session')!;
    const d = (await world.api<Json>('GET', '/api/v1/deliveries?provider_event_id=evt_find_me')).json.items![0]!;
    const resend = (headers: Record<string, string>) => fetch(`${world.url}/api/v1/deliveries/${String(d.id)}/resend`, { method: 'POST', headers });
    const noCookie = await resend({ origin: world.url });
    expect(noCookie.status).to.equal(401);
    const otherOrigin = await resend({ cookie: `rd_session=${cookie.value}`, origin: 'http://evil.example' });
    expect(otherOrigin.status).to.equal(403);
    expect(await otherOrigin.json()).to.include({ code: 'cross_origin_refused' });
    const noOrigin = await resend({ cookie: `rd_session=${cookie.value}` });
    expect(noOrigin.status).to.equal(403);
    const crossSite = await resend({ cookie: `rd_session=${cookie.value}`, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).to.equal(403);
    // The same cookie from this origin may read; after sign-out it may not.
    expect((await fetch(`${world.url}/api/v1/session`, { headers: { cookie: `rd_session=${cookie.value}` } })).status).to.equal(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect((await fetch(`${world.url}/api/v1/session`, { headers: { cookie: `rd_session=${cookie.value}` } })).status).to.equal(401);
  });

  it('has no serious or critical accessibility violations on any page (axe-core)', function () {
    expect(Object.keys(a11y)).to.include.members(['sign-in', 'endpoints', 'delivery', 'deliveries', 'bulk-recovery', 'replay', 'replays', 'audit']);
    expect(a11y).to.deep.equal(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
  });
});
