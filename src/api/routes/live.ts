// GET /api/v1/live: Server-Sent Events of what changed (api/live.ts), for the dashboard. Every
// `heartbeatMs` a comment line keeps proxies from closing the stream, and the caller is checked
// again: a session that ended or a key that was removed closes the stream.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../errors/index.ts';
import { canSee, caller, type ApiDeps, type ApiState } from '../deps.ts';
import { readQuery } from '../http.ts';
import type { LiveEvent } from '../live.ts';
import { readCookie, SESSION_COOKIE } from '../session.ts';

async function stillValid(ctx: Context, deps: ApiDeps): Promise<boolean> {
  const c = caller(ctx);
  if ((ctx.state as ApiState).via !== 'session') return deps.auth.byId(c.id) !== undefined;
  const token = readCookie(ctx, SESSION_COOKIE);
  const session = token ? await deps.sessions?.get(token) : undefined;
  return session !== undefined && deps.auth.byId(session.keyId) !== undefined;
}

export function liveRoutes(router: Router, deps: ApiDeps, heartbeatMs = 5000): void {
  router.get('/api/v1/live', (ctx) => {
    readQuery(ctx, []);
    const hub = deps.live;
    if (!hub) throw new AppError('not_found', 'the live feed is not enabled', 404);
    const c = caller(ctx);
    // Written to the socket directly: a stream body would make Koa report every browser that
    // closes the page as an error (premature close).
    const res = ctx.res;
    const stream = { write: (t: string) => res.write(t), end: () => res.end() };
    const write = (text: string) => stream.write(text);
    const send = (e: LiveEvent) => write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    const unsubscribe = hub.subscribe({ sees: (id) => canSee(c, id), send, end: () => stream.end() });
    const beat = setInterval(() => {
      write(': ping\n\n');
      stillValid(ctx, deps).then((ok) => {
        if (!ok) {
          write('event: end\ndata: {"reason":"session_ended"}\n\n');
          stream.end();
        }
      }, () => undefined);
    }, heartbeatMs);
    const stop = () => {
      clearInterval(beat);
      unsubscribe();
    };
    res.once('close', stop);
    ctx.status = 200; // so that no later middleware takes it for an unanswered route
    ctx.respond = false;
    ctx.set('cache-control', 'no-store');
    ctx.set('x-accel-buffering', 'no');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ key_id: c.id })}\n\n`);
  });
}
