// Endpoints: their configuration without secrets and live health; unblock (retry or skip the
// delivery that blocks a partition), pause and resume.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AppError, badRequest, conflict } from '../../errors/index.ts';
import { partitionCount, type ResolvedEndpoint } from '../../domain/endpoint.ts';
import { blockedPartitions, unblockPartition } from '../../store/deliveries.ts';
import { endpointHealth } from '../../store/health.ts';
import { canSee, caller, operatorWrite, requireVisible, scopeOf, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readJson, readLimit, readQuery } from '../http.ts';
import { deliveryView, endpointView } from '../views.ts';

async function load(deps: ApiDeps, ctx: Context): Promise<ResolvedEndpoint> {
  const id = `${ctx.params.ns}/${ctx.params.name}`;
  requireVisible(ctx, id);
  // The registry itself, not the cache: right after a change the answer must show it.
  const ep = await deps.registry.get(id);
  if (!ep) throw new AppError('endpoint_not_found', `no endpoint "${id}"`, 404);
  return ep;
}

async function view(deps: ApiDeps, ctx: Context, ep: ResolvedEndpoint) {
  return endpointView(ep, await endpointHealth(deps.redis, deps.keys, ep), scopeOf(ctx));
}

/** The partition to unblock: the one asked for, else the only blocked one. */
function choosePartition(ep: ResolvedEndpoint, blocked: Record<string, string>, asked: number | undefined): number {
  if (asked !== undefined) {
    if (asked >= partitionCount(ep.spec)) {
      throw badRequest('invalid_field', `partition: endpoint "${ep.id}" has partitions 0 to ${partitionCount(ep.spec) - 1}`, { field: 'partition' });
    }
    return asked;
  }
  const parts = Object.keys(blocked).map(Number).sort((a, b) => a - b);
  if (parts.length === 0) throw conflict('not_blocked', `endpoint "${ep.id}" has no blocked partition`);
  if (parts.length > 1) {
    throw badRequest('partition_required', `partition: endpoint "${ep.id}" has several blocked partitions (${parts.join(', ')}); name one`, { field: 'partition' });
  }
  return parts[0]!;
}

async function unblock(ctx: Context, deps: ApiDeps) {
  const id = `${ctx.params.ns}/${ctx.params.name}`;
  const note = operatorWrite(ctx, { action: 'endpoint.unblock', target: `endpoint/${id}`, endpoint: id });
  const body = await readJson<{ action: 'retry' | 'skip'; partition?: number }>(ctx, 'UnblockRequest');
  note.detail = { action: body.action, ...(body.partition !== undefined ? { partition: body.partition } : {}) };
  const ep = await load(deps, ctx);
  const partition = choosePartition(ep, await blockedPartitions(deps.redis, deps.keys, ep.id), body.partition);
  const res = await unblockPartition(deps.redis, deps.keys, ep.id, partition, body.action, ep.spec.retention.seconds);
  note.detail = { ...note.detail, partition, blocked_delivery_id: res.blockedId, new_delivery_id: res.newId ?? null };
  const created = res.record;
  ctx.body = {
    endpoint_id: ep.id, partition, action: body.action, blocked_delivery_id: res.blockedId,
    new_delivery: created ? deliveryView(created, scopeOf(ctx)) : null,
  };
}

async function setPaused(ctx: Context, deps: ApiDeps, paused: boolean) {
  const id = `${ctx.params.ns}/${ctx.params.name}`;
  operatorWrite(ctx, { action: paused ? 'endpoint.pause' : 'endpoint.resume', target: `endpoint/${id}`, endpoint: id });
  readQuery(ctx, []);
  await load(deps, ctx);
  await deps.registry.setPaused(id, paused);
  ctx.body = await view(deps, ctx, await load(deps, ctx));
}

export function endpointRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/endpoints', async (ctx) => {
    const q = readQuery(ctx, ['cursor', 'limit']);
    const limit = readLimit(q, 100, 500);
    // Endpoint ids are unique and sorted: the cursor is the last id of the page before.
    const after = decodeCursor('endpoints', q.cursor)?.sid;
    const c = caller(ctx);
    const all = deps.endpoints.all().filter((e) => canSee(c, e.id) && (after === undefined || e.id > after)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const items = all.slice(0, limit);
    ctx.body = {
      items: await Promise.all(items.map((ep) => view(deps, ctx, ep))),
      next_cursor: all.length > limit ? encodeCursor('endpoints', { sid: items.at(-1)!.id }) : null,
    };
  });
  router.get('/api/v1/endpoints/:ns/:name', async (ctx) => {
    readQuery(ctx, []);
    ctx.body = await view(deps, ctx, await load(deps, ctx));
  });
  router.post('/api/v1/endpoints/:ns/:name/unblock', (ctx) => unblock(ctx, deps));
  router.post('/api/v1/endpoints/:ns/:name/pause', (ctx) => setPaused(ctx, deps, true));
  router.post('/api/v1/endpoints/:ns/:name/resume', (ctx) => setPaused(ctx, deps, false));
}
