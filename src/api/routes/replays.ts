// Replays (the engine in src/replay/ does the work) and the audit log.
import type Router from '@koa/router';
import { v7 as uuidv7 } from 'uuid';
import { notFound } from '../../errors/index.ts';
import type { ReplaySpec } from '../../replay/spec.ts';
import { listAudit } from '../../store/audit.ts';
import { operatorWrite, requireOperator, scopeOf, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readEndpointParam, readJson, readLimit, readQuery } from '../http.ts';
import { replayView } from '../views.ts';

type ReplayBody = Omit<ReplaySpec, 'selector'> & { selector?: ReplaySpec['selector'] };

export function replayRoutes(router: Router, deps: ApiDeps): void {
  router.post('/api/v1/replays', async (ctx) => {
    const id = uuidv7();
    const note = operatorWrite(ctx, { action: 'replay.create', target: `replay/${id}` });
    readQuery(ctx, []);
    const body = await readJson<ReplayBody>(ctx, 'ReplayCreate');
    const spec: ReplaySpec = { ...body, selector: body.selector ?? {} };
    note.detail = { endpoint: spec.endpoint, selector: spec.selector, pause_live: spec.pauseLive === true,
      ...(spec.rateLimit ? { rate_limit: spec.rateLimit.perSecond } : {}), destination_override: spec.destinationOverride !== undefined };
    const status = await deps.replays.start(id, spec);
    ctx.status = 201;
    ctx.set('location', `/api/v1/replays/${id}`);
    ctx.body = replayView(status, scopeOf(ctx));
  });
  router.get('/api/v1/replays', async (ctx) => {
    const q = readQuery(ctx, ['endpoint', 'cursor', 'limit']);
    const endpoint = readEndpointParam(q);
    const limit = readLimit(q);
    const after = decodeCursor('replays', q.cursor);
    // Replay ids are UUIDv7: their order is their creation order.
    const all = (await deps.replays.list())
      .filter((r) => (!endpoint || r.endpoint === endpoint) && (!after || r.id < after.sid))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = all.slice(0, limit);
    const scope = scopeOf(ctx);
    ctx.body = { items: items.map((r) => replayView(r, scope)), next_cursor: all.length > limit ? encodeCursor('replays', { sid: items.at(-1)!.id }) : null };
  });
  router.get('/api/v1/replays/:id', async (ctx) => {
    readQuery(ctx, []);
    const status = await deps.replays.status(ctx.params.id!);
    if (!status) throw notFound(`replay "${ctx.params.id}" not found`);
    ctx.body = replayView(status, scopeOf(ctx));
  });
  router.delete('/api/v1/replays/:id', async (ctx) => {
    const id = ctx.params.id!;
    operatorWrite(ctx, { action: 'replay.cancel', target: `replay/${id}` });
    readQuery(ctx, []);
    const status = await deps.replays.cancel(id);
    if (!status) throw notFound(`replay "${id}" not found`);
    ctx.body = replayView(status, scopeOf(ctx));
  });
  router.get('/api/v1/audit', async (ctx) => {
    requireOperator(ctx, 'the audit log');
    const q = readQuery(ctx, ['cursor', 'limit']);
    const limit = readLimit(q);
    const after = decodeCursor('audit', q.cursor);
    const page = await listAudit(deps.redis, deps.keys, after?.sid, limit);
    ctx.body = { items: page.items, next_cursor: page.more ? encodeCursor('audit', { sid: page.items.at(-1)!.id }) : null };
  });
}
