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
}

/** What a write did, for the audit log (set by the route before it acts). */
export interface AuditNote {
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

export interface ApiState {
  caller?: Caller;
  audit?: AuditNote;
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
