// The one HTTP edge that maps errors to answers: AppError → its status and `{code, message}`;
// anything else → 500 with a generic message, logged once here with its cause. 503s (Redis
// unavailable, ingest busy) are logged at debug: the component that saw the outage logs it once
// (src/lib/outage.ts), so an outage is not one error line per request.
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { isAppError } from '../errors/index.ts';
import type { Log } from './log.ts';

export function errorMiddleware(log: Log) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err: unknown) {
      if (isAppError(err) && err.expose) {
        ctx.status = err.status;
        ctx.body = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
        return;
      }
      const status = isAppError(err) ? err.status : 500;
      const code = isAppError(err) ? err.code : 'internal_error';
      if (status === 503) {
        log.debug({ code, path: ctx.path, cause: causeOf(err) }, 'request answered 503');
        if (!ctx.response.get('Retry-After')) ctx.set('Retry-After', '1');
      } else {
        log.error({ err, code, path: ctx.path, method: ctx.method }, 'request failed');
      }
      ctx.status = status;
      ctx.body = { code, message: status === 503 ? 'service temporarily unavailable, retry later' : 'internal error' };
    }
  };
}

const causeOf = (err: unknown) => (err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined);

/** Socket-level errors of a client that went away: expected on the open internet, not news. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'HPE_INVALID_METHOD']);

/**
 * Routes what Koa would print itself (its default `onerror` writes multi-line stack traces to
 * stderr, outside the JSON log) through the logger as one short line: errors while writing an
 * answer to a client that aborted, malformed requests.
 */
export function logKoaErrors(app: Koa, log: Log): void {
  app.silent = true;
  app.on('error', (err: unknown, ctx?: Context) => {
    const e = err as { code?: string; message?: string; status?: number };
    const entry = { code: e.code ?? 'error', message: e.message?.slice(0, 200), path: ctx?.path };
    if ((e.code && CLIENT_GONE.has(e.code)) || (e.status !== undefined && e.status < 500)) log.debug(entry, 'client request ended early');
    else log.warn(entry, 'http error outside a handler');
  });
}
