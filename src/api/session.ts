// Who is calling: an API key (X-API-Key or Bearer; scripts and tools) or a dashboard session (a
// cookie). Sign-in exchanges a key for a session: the cookie is HttpOnly (page scripts never hold
// the key or the token), SameSite=Strict, Secure when served over TLS, and expires with the
// session. A session acts as its key does now: a key removed from the key file ends its sessions,
// a changed scope applies at once.
//
// CSRF: a cookie is sent by the browser on its own, so every cookie-authenticated write must come
// from this origin: SameSite=Strict keeps the cookie off cross-site requests, and the Origin (or
// Sec-Fetch-Site) header must name this origin — a write without it is refused. Key-authenticated
// requests need no such check: a browser never adds an API key by itself.
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { AppError } from '../errors/index.ts';
import { presentedKey, type Caller } from './auth.ts';
import { caller, type ApiDeps, type ApiState } from './deps.ts';
import { readJson } from './http.ts';

export const SESSION_COOKIE = 'rd_session';
const SIGN_IN = '/api/v1/session';
const PUBLIC = new Set(['/api/v1/openapi.json']);

export function readCookie(ctx: Context, name: string): string | undefined {
  for (const part of (ctx.get('cookie') || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * Whether an Origin header names this server. Hosts are compared, not schemes: behind a proxy that
 * ends TLS the page's origin is https while this process sees http (and a page of another scheme
 * is already cross-site for the SameSite=Strict cookie).
 */
function sameHost(ctx: Context, origin: string): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const forwarded = ctx.get('x-forwarded-host').split(',')[0]?.trim();
  return host === ctx.host || (forwarded !== undefined && forwarded !== '' && host === forwarded);
}

/** A browser write that comes from another site (or says nothing of where it comes from). */
function crossSite(ctx: Context, required: boolean): boolean {
  const origin = ctx.get('origin');
  const site = ctx.get('sec-fetch-site');
  if (origin) return !sameHost(ctx, origin);
  if (site) return site !== 'same-origin';
  return required;
}

function unauthorized(ctx: Context, message: string): AppError {
  ctx.set('www-authenticate', 'Bearer');
  return new AppError('unauthorized', message, 401);
}

async function fromSession(ctx: Context, deps: ApiDeps, token: string): Promise<Caller> {
  const session = await deps.sessions?.get(token);
  const found = session ? deps.auth.byId(session.keyId) : undefined;
  if (!session || !found) {
    if (session) await deps.sessions?.end(token); // its key was removed: the session ends with it
    throw unauthorized(ctx, 'the session has ended (signed out, expired, or its key was removed); sign in again');
  }
  const write = ctx.method !== 'GET' && ctx.method !== 'HEAD';
  if (write && crossSite(ctx, true)) {
    throw new AppError('cross_origin_refused', 'a write with a session cookie must come from this origin (Origin header)', 403);
  }
  return found;
}

export function authenticate(deps: ApiDeps) {
  return async (ctx: Context, next: Next) => {
    if (PUBLIC.has(ctx.path) || (ctx.path === SIGN_IN && ctx.method === 'POST')) return next();
    const state = ctx.state as ApiState;
    if (deps.auth.count() === 0) {
      throw unauthorized(ctx, 'the API has no keys configured (apiKeys or apiKeysFile); every request is refused');
    }
    const key = presentedKey(ctx.headers);
    const token = key === undefined ? readCookie(ctx, SESSION_COOKIE) : undefined;
    if (token !== undefined) {
      state.caller = await fromSession(ctx, deps, token);
      state.via = 'session';
      return next();
    }
    const found = deps.auth.identify(key);
    if (!found) throw unauthorized(ctx, 'a valid API key is required (X-API-Key or Authorization: Bearer)');
    state.caller = found;
    state.via = 'key';
    return next();
  };
}

const who = (c: Caller, expiresAt: string | null) => ({ key_id: c.id, scope: c.scope, namespaces: c.namespaces ?? null, expires_at: expiresAt });

function setCookie(ctx: Context, value: string, maxAge: number): void {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAge}`];
  // Secure over TLS, including TLS ended by a proxy in front (trusting the header here is safe:
  // a wrong value can only make the cookie stricter).
  if (ctx.secure || ctx.get('x-forwarded-proto').split(',')[0]?.trim() === 'https') parts.push('Secure');
  ctx.set('set-cookie', parts.join('; '));
}

async function signIn(ctx: Context, deps: ApiDeps) {
  if (!deps.sessions) throw new AppError('not_found', 'sessions are not enabled', 404);
  if (crossSite(ctx, false)) throw new AppError('cross_origin_refused', 'sign-in must come from this origin', 403);
  const body = await readJson<{ key: string }>(ctx, 'SessionCreate');
  const found = deps.auth.identify(body.key.trim());
  if (!found) throw new AppError('invalid_key', 'this API key is not valid: check it for typos, or ask for a new one', 401);
  const { token, session } = await deps.sessions.create(found.id);
  setCookie(ctx, token, deps.sessions.ttlSeconds);
  (ctx.state as ApiState).caller = found;
  (ctx.state as ApiState).via = 'session';
  (ctx.state as ApiState).audit = { action: 'session.create', target: `key/${found.id}` };
  ctx.status = 201;
  ctx.body = who(found, session.expiresAt);
}

export function sessionRoutes(router: Router, deps: ApiDeps): void {
  router.post(SIGN_IN, (ctx) => signIn(ctx, deps));
  router.get(SIGN_IN, async (ctx) => {
    const token = readCookie(ctx, SESSION_COOKIE);
    const session = token ? await deps.sessions?.get(token) : undefined;
    ctx.body = who(caller(ctx), session?.expiresAt ?? null);
  });
  router.delete(SIGN_IN, async (ctx) => {
    const token = readCookie(ctx, SESSION_COOKIE);
    if (token) await deps.sessions?.end(token);
    (ctx.state as ApiState).audit = { action: 'session.end', target: `key/${caller(ctx).id}` };
    setCookie(ctx, '', 0);
    ctx.body = { signed_out: true };
  });
}
