// The one HTTP edge that maps errors to answers: AppError → its status and `{code, message}`;
// anything else → 500 with a generic message, logged once here with its cause.
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
      log.error({ err, code, path: ctx.path, method: ctx.method }, 'request failed');
      ctx.status = status;
      ctx.body = { code, message: status === 503 ? 'service temporarily unavailable, retry later' : 'internal error' };
    }
  };
}
