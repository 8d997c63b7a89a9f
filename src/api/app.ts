// The management API (`/api/v1`, JSON): deliveries, events, endpoints, replays, audit, and the
// dashboard (`/` and `/ui/`, dashboard/serve.ts) that calls it. Every request but the OpenAPI
// document and sign-in needs an API key or a dashboard session (session.ts); writes need the
// operator scope and are recorded in the audit log. Errors are `{ code, message }` with stable
// snake_case codes, mapped at one edge (lib/koa-errors.ts). The app never listens: the entry
// point mounts it.
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { AppError, isAppError } from '../errors/index.ts';
import { errorMiddleware } from '../lib/koa-errors.ts';
import { appendAudit } from '../store/audit.ts';
import { dashboard, securityHeaders } from './dashboard/serve.ts';
import type { ApiDeps, ApiState } from './deps.ts';
import { OPENAPI } from './openapi.ts';
import { auditRoutes } from './routes/audit.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import { eventRoutes } from './routes/events.ts';
import { liveRoutes } from './routes/live.ts';
import { lookupRoutes } from './routes/lookup.ts';
import { replayRoutes } from './routes/replays.ts';
import { authenticate, sessionRoutes } from './session.ts';

export const API_PREFIX = '/api/';
/** Paths of the dashboard, served by the same app: the page at `/`, its assets under `/ui/`. */
export const DASHBOARD_PATHS = ['/', '/ui/'];

export function createApiApp(deps: ApiDeps): Koa {
  const app = new Koa();
  const router = new Router();
  app.use(securityHeaders());
  app.use(dashboard());
  app.use(errorMiddleware(deps.log));
  app.use(storageErrors(deps));
  app.use(authenticate(deps));
  app.use(audit(deps));
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.body = OPENAPI;
  });
  sessionRoutes(router, deps);
  deliveryRoutes(router, deps);
  eventRoutes(router, deps);
  endpointRoutes(router, deps);
  replayRoutes(router, deps);
  auditRoutes(router, deps);
  lookupRoutes(router, deps);
  liveRoutes(router, deps);
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found', `no route ${ctx.method} ${ctx.path}`, 404);
  });
  app.use(router.routes());
  app.use(router.allowedMethods({
    throw: true,
    methodNotAllowed: () => new AppError('method_not_allowed', 'this method is not allowed here', 405),
    notImplemented: () => new AppError('method_not_allowed', 'this method is not implemented', 405),
  }));
  return app;
}

/** Redis unreachable: 503 storage_unavailable (retry later) rather than a bare 500. */
function storageErrors(deps: ApiDeps) {
  return async (_ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (!isAppError(err) && deps.redis.status !== 'ready') {
        throw new AppError('storage_unavailable', 'Redis is unavailable', 503, { cause: err });
      }
      throw err;
    }
  };
}

/** Records every write that names itself (AuditNote) with its outcome, refused ones included. */
function audit(deps: ApiDeps) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return next();
    let error: unknown;
    try {
      await next();
    } catch (err) {
      error = err;
    }
    const state = ctx.state as ApiState;
    if (state.audit && state.caller) {
      const status = error === undefined ? ctx.status : isAppError(error) ? error.status : 500;
      const result = error === undefined ? 'ok' : isAppError(error) ? error.code : 'internal_error';
      const { endpoint, detail, ...note } = state.audit;
      const extra = { ...detail, ...(endpoint ? { endpoint } : {}), via: state.via === 'session' ? 'dashboard' : 'api' };
      await appendAudit(deps.redis, deps.keys, { who: state.caller.id, scope: state.caller.scope, ...note, detail: extra, status, result })
        .catch((err: unknown) => deps.log.error({ err, action: state.audit?.action }, 'audit entry could not be written'));
    }
    if (error !== undefined) throw error;
  };
}
