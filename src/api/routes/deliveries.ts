// Deliveries (seed 001): the listing, one delivery with its attempts, and resend.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { badRequest, notFound } from '../../errors/index.ts';
import { DELIVERY_STATUSES } from '../../replay/spec.ts';
import { getAttempts, getDelivery, locateDelivery, resendDelivery } from '../../store/deliveries.ts';
import { eventDeliveries, keep, listDeliveries, locateEvent, type DeliveryQuery } from '../../store/listing.ts';
import { operatorWrite, scopeOf, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readEndpointParam, readLimit, readQuery, readTimeRange, type Query } from '../http.ts';
import { attemptView, deliveryView } from '../views.ts';

const LIST_PARAMS = ['endpoint', 'status', 'event_type', 'event_id', 'from', 'to', 'cursor', 'limit'];

function readStatuses(q: Query): Set<string> | undefined {
  if (q.status === undefined) return undefined;
  const list = q.status.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const bad = list.find((s) => !(DELIVERY_STATUSES as readonly string[]).includes(s));
  if (bad !== undefined || list.length === 0) {
    throw badRequest('invalid_parameter', `status: "${bad ?? ''}" is not one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status' });
  }
  return new Set(list);
}

async function buildQuery(ctx: Context, deps: ApiDeps): Promise<DeliveryQuery & { eventId?: string }> {
  const q = readQuery(ctx, LIST_PARAMS);
  const endpoint = readEndpointParam(q);
  const query: DeliveryQuery & { eventId?: string } = {
    endpoints: endpoint ? [endpoint] : deps.endpoints.all().map((e) => e.id),
    limit: readLimit(q),
    budget: deps.scanBudget ?? 5000,
    ...readTimeRange(q),
  };
  const statuses = readStatuses(q);
  if (statuses) query.statuses = statuses;
  if (q.event_type !== undefined) query.eventType = q.event_type;
  if (q.event_id !== undefined) query.eventId = q.event_id;
  const after = decodeCursor('deliveries', q.cursor);
  if (after) query.after = { sid: after.sid, ep: after.ep ?? '' };
  return query;
}

/** The deliveries of one event (few: resend_seq + 1), filtered like the listing, in one page. */
async function ofEvent(deps: ApiDeps, query: DeliveryQuery, eventId: string) {
  const found = await locateEvent(deps.redis, deps.keys, eventId, query.endpoints);
  if (!found) return [];
  const all = await eventDeliveries(deps.redis, deps.keys, found.endpointId, eventId, found.sid, query.budget);
  const inRange = (d: Record<string, string>) => {
    const t = Date.parse(d.created_at ?? '');
    return (query.fromMs === undefined || t >= query.fromMs) && (query.toMs === undefined || t < query.toMs);
  };
  return all.filter((d) => keep(query, d) && inRange(d)).slice(0, query.limit);
}

async function list(ctx: Context, deps: ApiDeps) {
  const query = await buildQuery(ctx, deps);
  const page = query.eventId !== undefined
    ? { items: await ofEvent(deps, query, query.eventId), next: undefined }
    : await listDeliveries(deps.redis, deps.keys, query);
  const scope = scopeOf(ctx);
  ctx.body = { items: page.items.map((d) => deliveryView(d, scope)), next_cursor: page.next ? encodeCursor('deliveries', page.next) : null };
}

async function find(deps: ApiDeps, id: string) {
  const endpointId = await locateDelivery(deps.redis, deps.keys, id);
  const d = endpointId ? await getDelivery(deps.redis, deps.keys, endpointId, id) : undefined;
  if (!endpointId || !d) throw notFound(`delivery "${id}" not found`);
  return { endpointId, d };
}

export function deliveryRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/deliveries', (ctx) => list(ctx, deps));
  router.get('/api/v1/deliveries/:id', async (ctx) => {
    readQuery(ctx, []);
    const { endpointId, d } = await find(deps, ctx.params.id!);
    const attempts = await getAttempts(deps.redis, deps.keys, endpointId, d.id!);
    ctx.body = { ...deliveryView(d, scopeOf(ctx)), attempt_history: attempts.map(attemptView) };
  });
  router.post('/api/v1/deliveries/:id/resend', async (ctx) => {
    const id = ctx.params.id!;
    const note = operatorWrite(ctx, { action: 'delivery.resend', target: `delivery/${id}` });
    const endpointId = await locateDelivery(deps.redis, deps.keys, id);
    if (!endpointId) throw notFound(`delivery "${id}" not found`);
    const created = await resendDelivery(deps.redis, deps.keys, endpointId, id);
    const d = created.record;
    note.detail = { new_delivery_id: created.id, resend_seq: created.resendSeq };
    ctx.status = 201;
    ctx.body = deliveryView(d, scopeOf(ctx));
  });
}
