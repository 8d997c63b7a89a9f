// The browser tests' world: a real `redeliver standalone` process (its own redis-server child, a
// folder of endpoint YAML written here) whose endpoints deliver to real receivers the tests script,
// and a real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, headless.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import Stripe from 'stripe';
import { kill9, startRole, type RoleProcess } from '../support/role-process.ts';

export const OPERATOR_KEY = 'browser-operator-key-3f9a1c7e5b2d8046';
export const READ_KEY = 'browser-read-key-8c2e4a6f0b1d3957';
export const TEAM_A_KEY = 'browser-team-a-key-5d7f9b1c3e2a4068';
export const STRIPE_SECRET = 'whsec_browser_test_0123456789abcdef';
const stripe = new Stripe('sk_test_unused');

export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface EndpointDef {
  namespace: string;
  name: string;
  url: string;
  maxAttempts?: number;
  onExhausted?: 'block' | 'deadletter';
}

function endpointYaml(e: EndpointDef): string {
  return `apiVersion: redeliver.io/v1alpha1
kind: WebhookEndpoint
metadata: { name: ${e.name}, namespace: ${e.namespace} }
spec:
  source: { provider: stripe, secretRef: { name: stripe-secret, keys: [signing-secret] } }
  destination: { url: "${e.url}", timeoutSeconds: 5 }
  ordering: { mode: strict }
  retry: { maxAttempts: ${e.maxAttempts ?? 2}, backoff: { initialSeconds: 0.05, maxSeconds: 0.1, multiplier: 2, jitter: 0 }, onExhausted: ${e.onExhausted ?? 'block'} }
---
apiVersion: v1
kind: Secret
metadata: { name: stripe-secret, namespace: ${e.namespace} }
stringData: { signing-secret: ${STRIPE_SECRET} }
`;
}

export interface World {
  url: string;
  proc: RoleProcess;
  browser: Browser;
  /** A new signed-out browser context (its own cookies). */
  context(): Promise<BrowserContext>;
  /** Sends a Stripe-signed event to an endpoint's ingest URL; returns our event id. */
  sendStripe(endpoint: string, id: string, type: string, data?: Record<string, unknown>): Promise<string>;
  /** The management API with the operator key (for setup and checks, not for what the page does). */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; json: T }>;
  close(): Promise<void>;
}

export async function startWorld(endpoints: EndpointDef[]): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'redeliver-browser-'));
  const epDir = join(dir, 'endpoints');
  mkdirSync(epDir);
  for (const e of endpoints) writeFileSync(join(epDir, `${e.namespace}-${e.name}.yaml`), endpointYaml(e));
  const proc = await startRole('standalone', {
    REDELIVER_PORT: '0', REDELIVER_HOST: '127.0.0.1', REDELIVER_DATA_DIR: join(dir, 'data'), REDELIVER_ENDPOINTS_DIR: epDir,
    REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8', REDELIVER_LOG_LEVEL: 'info',
    REDELIVER_API_KEYS: [`operator:${OPERATOR_KEY}`, `read:${READ_KEY}`, `operator@team-a:${TEAM_A_KEY}`].join(','),
  }, { timeoutMs: 30_000 });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
  const api: World['api'] = async (method, path, body, key = OPERATOR_KEY) => {
    const res = await fetch(proc.url + path, {
      method, headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as never };
  };
  const world: World = {
    url: proc.url, proc, browser, api,
    context: () => browser.newContext({ baseURL: proc.url, viewport: { width: 1366, height: 860 } }),
    async sendStripe(endpoint, id, type, data = {}) {
      const payload = JSON.stringify({ id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object: data } });
      const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      const res = await fetch(`${proc.url}/in/${endpoint}`, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } });
      const json = (await res.json()) as { event_id?: string };
      if (res.status !== 202 && res.status !== 200) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(json)}`);
      return json.event_id!;
    },
    async close() {
      await browser.close().catch(() => undefined);
      proc.proc.kill('SIGTERM');
      const gone = await Promise.race([proc.exited.then(() => true), new Promise((ok) => setTimeout(() => ok(false), 15_000))]);
      if (!gone) await kill9(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Signs in through the form, as a user does. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** The serious and critical accessibility violations axe-core finds on the page as it is now. */
export async function axeProblems(page: Page): Promise<string[]> {
  const { AxeBuilder } = await import('@axe-core/playwright');
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}

/** Screenshots for docs/ are written only when asked (REDELIVER_SCREENSHOTS=1), so CI leaves the tree clean. */
export async function screenshot(page: Page, name: string, enabled: boolean): Promise<void> {
  if (!enabled) return;
  await page.screenshot({ path: new URL(`../../docs/screenshots/${name}.png`, import.meta.url).pathname, fullPage: false });
}
