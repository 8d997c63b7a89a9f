// Serves the dashboard: the page at `/` and its assets under `/ui/` — our own ES modules
// (static/, plain JavaScript type-checked by tsc through JSDoc, so no build step) and the few
// libraries they import (Preact, htm, uPlot) straight from node_modules, mapped by an import map.
// No CDN, no bundler. Everything is read once at start and kept in memory.
//
// Caching: library files carry their version in the URL and are immutable for a year; our own
// files are revalidated (ETag, 304) so a new release shows at once. CSP: scripts from this origin
// only, plus the one inline import map, allowed by its sha256 (no 'unsafe-inline', no eval).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const typeOf = (file: string) => TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

/** The folder of an installed package (walking up from its resolved entry to its package.json). */
function packageDir(name: string): { dir: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return { dir, version: pkg.version ?? '0' };
    } catch {
      // not this folder
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`package ${name} not found`);
    dir = up;
  }
}

/** Library files the page may load: URL under /ui/vendor/ → file, and the import map entries. */
function vendorFiles(): { files: Map<string, string>; imports: Record<string, string> } {
  const files = new Map<string, string>();
  const imports: Record<string, string> = {};
  const add = (pkg: string, entries: Array<[specifier: string | undefined, file: string]>) => {
    const { dir, version } = packageDir(pkg);
    for (const [specifier, file] of entries) {
      const url = `/ui/vendor/${pkg}@${version}/${file.split('/').pop()}`;
      files.set(url, join(dir, file));
      if (specifier) imports[specifier] = url;
    }
  };
  add('preact', [['preact', 'dist/preact.mjs'], ['preact/hooks', 'hooks/dist/hooks.mjs']]);
  add('htm', [['htm', 'dist/htm.mjs']]);
  add('uplot', [['uplot', 'dist/uPlot.esm.js'], [undefined, 'dist/uPlot.min.css']]);
  return { files, imports };
}

function page(importMap: string, css: string[]): string {
  return ['<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">', '<title>Redeliver</title>',
    '<link rel="icon" href="/ui/icon.svg">',
    ...css.map((href) => `<link rel="stylesheet" href="${href}">`),
    `<script type="importmap">${importMap}</script>`,
    '<script type="module" src="/ui/app.js"></script>', '</head>',
    '<body><div id="app"><noscript>The Redeliver dashboard needs JavaScript.</noscript></div></body>', '</html>', ''].join('\n');
}

function load(): { assets: Map<string, Asset>; csp: string } {
  const assets = new Map<string, Asset>();
  const put = (url: string, body: Buffer, type: string, immutable: boolean) => assets.set(url, { body, type, etag: etagOf(body), immutable });
  const staticDir = fileURLToPath(new URL('./static/', import.meta.url));
  for (const f of readdirSync(staticDir, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(js|css|svg)$/.test(f)) continue;
    put(`/ui/${f.split('\\').join('/')}`, readFileSync(join(staticDir, f)), typeOf(f), false);
  }
  const vendor = vendorFiles();
  for (const [url, file] of vendor.files) put(url, readFileSync(file), typeOf(file), true);
  const importMap = JSON.stringify({ imports: vendor.imports });
  const css = [...vendor.files.keys()].filter((u) => u.endsWith('.css')).concat('/ui/app.css');
  put('/', Buffer.from(page(importMap, css)), 'text/html; charset=utf-8', false);
  const hash = createHash('sha256').update(importMap).digest('base64');
  const csp = ["default-src 'none'", `script-src 'self' 'sha256-${hash}'`, "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"].join('; ');
  return { assets, csp };
}

/** Headers every answer carries; the page's CSP is set by `dashboard` (API answers get a closed one). */
export function securityHeaders() {
  return async (ctx: Context, next: Next) => {
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'no-referrer');
    ctx.set('x-frame-options', 'DENY');
    ctx.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    await next();
  };
}

export function dashboard() {
  const { assets, csp } = load();
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== '/' && !ctx.path.startsWith('/ui/')) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('allow', 'GET, HEAD');
      ctx.body = { code: 'method_not_allowed', message: 'the dashboard serves GET only' };
      return;
    }
    const asset = assets.get(ctx.path);
    if (!asset) {
      ctx.status = 404;
      ctx.body = { code: 'not_found', message: `no dashboard asset ${ctx.path}` };
      return;
    }
    ctx.set('content-security-policy', csp);
    ctx.set('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.set('etag', asset.etag);
    if (ctx.get('if-none-match') === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
