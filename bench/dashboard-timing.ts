// The dashboard's first screens at scale, for bench/api.ts: a real Chromium (Debian's
// /usr/bin/chromium, headless) signs in and loads each page fresh SAMPLES times; the time is from
// navigation to the page's table on screen (median and worst). Skipped when Chromium is missing.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface ScreenRow {
  page: string;
  p50: number;
  max: number;
}

export async function firstScreens(url: string, key: string, samples = 7): Promise<ScreenRow[]> {
  if (!existsSync(CHROMIUM)) return [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const page = await (await browser.newContext({ baseURL: url, viewport: { width: 1366, height: 860 } })).newPage();
    await page.goto('/');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const rows: ScreenRow[] = [];
    for (const [name, hash, selector] of [['Endpoints', '#/endpoints', 'table tbody tr'], ['Deliveries (all endpoints)', '#/deliveries', 'table.deliveries tbody tr']] as const) {
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        await page.goto('about:blank');
        const t = performance.now();
        await page.goto(`${url}/${hash}`);
        await page.locator(selector).first().waitFor({ timeout: 60_000 });
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      rows.push({ page: name, p50: times[Math.floor(times.length / 2)]!, max: times.at(-1)! });
    }
    return rows;
  } finally {
    await browser.close();
  }
}
