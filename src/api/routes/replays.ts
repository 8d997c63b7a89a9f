// Replays (the engine in src/replay/ does the work): start, list, progress, cancel, and a preview
// that counts what a selector matches before anything starts (the dashboard's bulk recovery).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { v7 as uuidv7 } from 'uuid';
import { notFound } from '../../errors/index.ts';
import { compileSelector, parseEndpointRef, scanRange, type ReplaySpec } from '../../replay/spec.ts';
import { countSelection } from '../../store/counts.ts';
import { canSee, caller, operatorWrite, requireVisible, scopeOf, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readEndpointParam, readJson, readLimit, readQuery } from '../http.ts';
import { checkId } from '../ids.ts';
import { replayView } from '../views.ts';

type ReplayBody = Omit<ReplaySpec, 'selector'> & { selector?: ReplaySpec['selector'] };

async function visibleReplay(ctx: Context, deps: ApiDeps, id: string) {
  checkId(id, 'replay');
  const status = await deps.replays.status(id);
  if (!status || !canSee(caller(ctx), status.endpoint)) throw notFound(`replay "${id}" not found`);
  return status;
}

async function readSpec(ctx: Context): Promise<ReplaySpec> {
  const body = await readJson<ReplayBody>(ctx, 'ReplayCreate');
  const spec: ReplaySpec = { ...body, selector: body.selector ?? {} };
  requireVisible(ctx, parseEndpointRef(spec.endpoint));
  return spec;
}

/** What the replay would match now: the engine's own range and predicate, counted on the server. */
async function preview(ctx: Context, deps: ApiDeps) {
  readQuery(ctx, []);
  const spec = await readSpec(ctx);
  if (!deps.endpoints.get(spec.endpoint)) throw notFound(`no endpoint "${spec.endpoint}"`, 'endpoint_not_found');
  const range = scanRange(spec);
  const end = range.endBound === '+' ? '+' : range.endBound;
  const count = await countSelection(deps.redis, deps.keys, spec.endpoint, { start: range.start, end }, compileSelector(spec.selector));
  ctx.body = { endpoint: spec.endpoint, matched: count.matched, scanned: count.scanned, complete: count.complete };
}

export function replayRoutes(router: Router, deps: ApiDeps): void {
  router.post('/api/v1/replays/preview', (ctx) => preview(ctx, deps));
  router.post('/api/v1/replays', async (ctx) => {
    const id = uuidv7();
    const note = operatorWrite(ctx, { action: 'replay.create', target: `replay/${id}` });
    readQuery(ctx, []);
    const spec = await readSpec(ctx);
    note.endpoint = spec.endpoint;
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
    const c = caller(ctx);
    // Replay ids are UUIDv7 (or a ReplayRequest's uid): sorted by id, newest API replays first.
    const all = (await deps.replays.list())
      .filter((r) => canSee(c, r.endpoint) && (!endpoint || r.endpoint === endpoint) && (!after || r.id < after.sid))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = all.slice(0, limit);
    const scope = scopeOf(ctx);
    ctx.body = { items: items.map((r) => replayView(r, scope)), next_cursor: all.length > limit ? encodeCursor('replays', { sid: items.at(-1)!.id }) : null };
  });
  router.get('/api/v1/replays/:id', async (ctx) => {
    readQuery(ctx, []);
    ctx.body = replayView(await visibleReplay(ctx, deps, ctx.params.id!), scopeOf(ctx));
  });
  router.delete('/api/v1/replays/:id', async (ctx) => {
    const id = ctx.params.id!;
    const note = operatorWrite(ctx, { action: 'replay.cancel', target: `replay/${id}` });
    readQuery(ctx, []);
    note.endpoint = (await visibleReplay(ctx, deps, id)).endpoint;
    const status = await deps.replays.cancel(id);
    if (!status) throw notFound(`replay "${id}" not found`);
    ctx.body = replayView(status, scopeOf(ctx));
  });
}
