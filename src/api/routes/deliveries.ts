// Deliveries (seed 001): the listing, one delivery with its attempts, and resend. Ids are checked
// at the edge (ids.ts): a malformed id is a 404 invalid_id before Redis is asked; an event id
// where a delivery id belongs is a 404 that names the event's deliveries.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { AppError, badRequest, notFound } from '../../errors/index.ts';
import { DELIVERY_STATUSES } from '../../replay/spec.ts';
import { getAttempts, getDelivery, locateDelivery, resendDelivery } from '../../store/deliveries.ts';
import { eventDeliveries, keep, listDeliveries, locateEvent, type DeliveryQuery } from '../../store/listing.ts';
import { findByProviderId } from '../../store/lookup.ts';
import { canSee, caller, operatorWrite, requireVisible, scopeOf, visibleIds, type ApiDeps } from '../deps.ts';
import { checkId } from '../ids.ts';
import { decodeCursor, encodeCursor, readEndpointParam, readLimit, readQuery, readTimeRange, type Query } from '../http.ts';
import { attemptView, deliveryView } from '../views.ts';

const LIST_PARAMS = ['endpoint', 'status', 'event_type', 'event_id', 'provider_event_id', 'from', 'to', 'cursor', 'limit'];

function readStatuses(q: Query): Set<string> | undefined {
  if (q.status === undefined) return undefined;
  const list = q.status.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const bad = list.find((s) => !(DELIVERY_STATUSES as readonly string[]).includes(s));
  if (bad !== undefined || list.length === 0) {
    throw badRequest('invalid_parameter', `status: "${bad ?? ''}" is not one of ${DELIVERY_STATUSES.join(', ')}`, { field: 'status' });
  }
  return new Set(list);
}

type ListQuery = DeliveryQuery & { eventId?: string; providerEventId?: string };

function buildQuery(ctx: Context, deps: ApiDeps): ListQuery {
  const q = readQuery(ctx, LIST_PARAMS);
  const endpoint = readEndpointParam(q);
  if (endpoint) requireVisible(ctx, endpoint);
  const query: ListQuery = {
    endpoints: endpoint ? [endpoint] : visibleIds(ctx, deps),
    limit: readLimit(q),
    budget: deps.scanBudget ?? 5000,
    ...readTimeRange(q),
  };
  const statuses = readStatuses(q);
  if (statuses) query.statuses = statuses;
  if (q.event_type !== undefined) query.eventType = q.event_type;
  if (q.event_id !== undefined) query.eventId = q.event_id;
  if (q.provider_event_id !== undefined) query.providerEventId = q.provider_event_id;
  const after = decodeCursor('deliveries', q.cursor);
  if (after) query.after = { sid: after.sid, ep: after.ep ?? '' };
  return query;
}

/** The event a listing names: by our id, or by the provider's (e.g. Stripe's evt_…); both must agree when both are given. */
async function namedEvent(deps: ApiDeps, query: ListQuery) {
  const byPid = query.providerEventId !== undefined ? await findByProviderId(deps.redis, deps.keys, query.providerEventId, query.endpoints) : undefined;
  if (query.eventId === undefined) return byPid;
  if (query.providerEventId !== undefined && byPid?.eventId !== query.eventId) return undefined;
  const found = await locateEvent(deps.redis, deps.keys, query.eventId, query.endpoints);
  return found ? { ...found, eventId: query.eventId } : undefined;
}

/** The deliveries of one event (few: resend_seq + 1), filtered like the listing, in one page. */
async function ofEvent(deps: ApiDeps, query: ListQuery) {
  const found = await namedEvent(deps, query);
  if (!found) return [];
  const all = await eventDeliveries(deps.redis, deps.keys, found.endpointId, found.eventId, found.sid, query.budget);
  const inRange = (d: Record<string, string>) => {
    const t = Date.parse(d.created_at ?? '');
    return (query.fromMs === undefined || t >= query.fromMs) && (query.toMs === undefined || t < query.toMs);
  };
  return all.filter((d) => keep(query, d) && inRange(d)).slice(0, query.limit);
}

async function list(ctx: Context, deps: ApiDeps) {
  const query = buildQuery(ctx, deps);
  const page = query.eventId !== undefined || query.providerEventId !== undefined
    ? { items: await ofEvent(deps, query), next: undefined }
    : await listDeliveries(deps.redis, deps.keys, query);
  const scope = scopeOf(ctx);
  ctx.body = { items: page.items.map((d) => deliveryView(d, scope)), next_cursor: page.next ? encodeCursor('deliveries', page.next) : null };
}

/** Not a delivery: when it is the id of an event the caller sees, the 404 names that event's deliveries. */
async function notADelivery(ctx: Context, deps: ApiDeps, id: string): Promise<AppError> {
  const endpoints = visibleIds(ctx, deps);
  const event = await locateEvent(deps.redis, deps.keys, id, endpoints);
  if (!event) return notFound(`delivery "${id}" not found`);
  const all = await eventDeliveries(deps.redis, deps.keys, event.endpointId, id, event.sid, deps.scanBudget ?? 5000);
  const ids = all.map((d) => d.id!);
  return new AppError('not_found', `"${id}" is an event id, not a delivery id; its deliveries: ${ids.join(', ') || 'none kept'}`
    + ` (GET /api/v1/deliveries?event_id=${id})`, 404, { details: { event_id: id, endpoint_id: event.endpointId, delivery_ids: ids } });
}

/** The endpoint holding a delivery the caller may see, else a 404 (with a hint for event ids). */
async function locate(ctx: Context, deps: ApiDeps, id: string): Promise<string> {
  checkId(id, 'delivery');
  const endpointId = await locateDelivery(deps.redis, deps.keys, id);
  if (endpointId && canSee(caller(ctx), endpointId)) return endpointId;
  throw await notADelivery(ctx, deps, id);
}

async function find(ctx: Context, deps: ApiDeps, id: string) {
  const endpointId = await locate(ctx, deps, id);
  const d = await getDelivery(deps.redis, deps.keys, endpointId, id);
  if (!d) throw notFound(`delivery "${id}" not found`);
  return { endpointId, d };
}

export function deliveryRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/deliveries', (ctx) => list(ctx, deps));
  router.get('/api/v1/deliveries/:id', async (ctx) => {
    readQuery(ctx, []);
    const { endpointId, d } = await find(ctx, deps, ctx.params.id!);
    const attempts = await getAttempts(deps.redis, deps.keys, endpointId, d.id!);
    ctx.body = { ...deliveryView(d, scopeOf(ctx)), attempt_history: attempts.map(attemptView) };
  });
  router.post('/api/v1/deliveries/:id/resend', async (ctx) => {
    const id = ctx.params.id!;
    const note = operatorWrite(ctx, { action: 'delivery.resend', target: `delivery/${id}` });
    const endpointId = await locate(ctx, deps, id);
    note.endpoint = endpointId;
    const created = await resendDelivery(deps.redis, deps.keys, endpointId, id);
    const d = created.record;
    note.detail = { new_delivery_id: created.id, resend_seq: created.resendSeq };
    ctx.status = 201;
    ctx.body = deliveryView(d, scopeOf(ctx));
  });
}
