// What the API app is built from, and the per-request state its middleware sets up.
import type { Context } from 'koa';
import type { ApiScope } from '../config/index.ts';
import { AppError } from '../errors/index.ts';
import type { Log } from '../lib/log.ts';
import type { ReplayEngine } from '../replay/engine.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Registry, RegistryCache } from '../store/registry.ts';
import type { ApiAuth, Caller } from './auth.ts';
import type { LiveHub } from './live.ts';
import type { SessionStore } from '../store/sessions.ts';

export interface ApiDeps {
  redis: RedisClient;
  keys: Keys;
  registry: Pick<Registry, 'setPaused' | 'get'>;
  endpoints: Pick<RegistryCache, 'get' | 'all'>;
  log: Log;
  auth: ApiAuth;
  replays: ReplayEngine;
  /** Log entries examined at most for one page of a filtered listing. */
  scanBudget?: number;
  /** Browser sessions (sessions.ts); absent: API keys only. */
  sessions?: SessionStore;
  /** The live feed behind GET /api/v1/live (live.ts). */
  live?: LiveHub;
}

/** What a write did, for the audit log (set by the route before it acts). */
export interface AuditNote {
  action: string;
  target: string;
  /** The endpoint the write concerns (team-scoped keys see only their endpoints' entries). */
  endpoint?: string;
  detail?: Record<string, unknown>;
}

export interface ApiState {
  caller?: Caller;
  audit?: AuditNote;
  /** 'session' when the caller signed in through the dashboard, else 'key'. */
  via?: 'session' | 'key';
}

export function caller(ctx: Context): Caller {
  const c = (ctx.state as ApiState).caller;
  if (!c) throw new AppError('unauthorized', 'an API key is required (X-API-Key or Authorization: Bearer)', 401);
  return c;
}

export function scopeOf(ctx: Context): ApiScope {
  return caller(ctx).scope;
}

/** Notes the write for the audit log and checks the caller may make it (403 forbidden). */
export function operatorWrite(ctx: Context, note: AuditNote): AuditNote {
  (ctx.state as ApiState).audit = note;
  const c = caller(ctx);
  if (c.scope !== 'operator') throw new AppError('forbidden', `the "${c.scope}" scope cannot ${note.action}; an operator key is required`, 403);
  return note;
}

export function requireOperator(ctx: Context, what: string): void {
  const c = caller(ctx);
  if (c.scope !== 'operator') throw new AppError('forbidden', `the "${c.scope}" scope cannot read ${what}; an operator key is required`, 403);
}

/** Whether the caller may see this endpoint (`namespace/name`): team-scoped keys see their namespaces only. */
export function canSee(c: Caller, endpointId: string): boolean {
  return !c.namespaces || c.namespaces.includes(endpointId.split('/')[0] ?? '');
}

/** The endpoints the caller may see, by id. */
export function visibleIds(ctx: Context, deps: Pick<ApiDeps, 'endpoints'>): string[] {
  const c = caller(ctx);
  return deps.endpoints.all().map((e) => e.id).filter((id) => canSee(c, id));
}

/** 404 endpoint_not_found for an endpoint the caller may not see: another team's endpoints do not exist for it. */
export function requireVisible(ctx: Context, endpointId: string): void {
  if (!canSee(caller(ctx), endpointId)) throw new AppError('endpoint_not_found', `no endpoint "${endpointId}"`, 404);
}
