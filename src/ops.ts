// /metrics, /healthz and /readyz, served by every role. Readiness is off until the roles have
// started, while Redis is unreachable, and from SIGTERM on (so traffic drains before close).
import Koa from 'koa';
import type { Metrics } from './metrics/index.ts';

export interface Readiness {
  ready: boolean;
  checks: Array<() => string | undefined>;
}

export function createOpsApp(metrics: Metrics, readiness: Readiness): Koa {
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
    } else if (ctx.path === '/readyz') {
      const problems = readiness.checks.map((c) => c()).filter((p): p is string => p !== undefined);
      if (!readiness.ready) problems.unshift('not started or shutting down');
      ctx.status = problems.length === 0 ? 200 : 503;
      ctx.body = problems.length === 0 ? { status: 'ready' } : { status: 'not_ready', problems };
    } else if (ctx.path === '/metrics') {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    } else {
      await next();
    }
  });
  return app;
}
