// GET /api/v1/lookup/{id}: what an id is — a delivery, an event (ours) or a provider's event id
// (Stripe's evt_…) — and where it lives, for the dashboard's search box (one box, any id).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { notFound } from '../../errors/index.ts';
import { locateDelivery } from '../../store/deliveries.ts';
import { eventDeliveries, locateEvent } from '../../store/listing.ts';
import { findByProviderId } from '../../store/lookup.ts';
import { canSee, caller, visibleIds, type ApiDeps } from '../deps.ts';
import { readQuery } from '../http.ts';
import { isId } from '../ids.ts';

async function eventAnswer(deps: ApiDeps, kind: 'event' | 'provider_event', found: { endpointId: string; eventId: string; sid: string }) {
  const all = await eventDeliveries(deps.redis, deps.keys, found.endpointId, found.eventId, found.sid, deps.scanBudget ?? 5000);
  return { kind, endpoint_id: found.endpointId, event_id: found.eventId, delivery_id: all[0]?.id ?? null, delivery_ids: all.map((d) => d.id!) };
}

async function lookup(ctx: Context, deps: ApiDeps, id: string) {
  const endpoints = visibleIds(ctx, deps);
  if (isId(id)) {
    const ep = await locateDelivery(deps.redis, deps.keys, id);
    if (ep && canSee(caller(ctx), ep)) return { kind: 'delivery', endpoint_id: ep, event_id: null, delivery_id: id, delivery_ids: [id] };
    const event = await locateEvent(deps.redis, deps.keys, id, endpoints);
    if (event) return eventAnswer(deps, 'event', { ...event, eventId: id });
  }
  const byPid = id.length <= 256 ? await findByProviderId(deps.redis, deps.keys, id, endpoints) : undefined;
  if (byPid) return eventAnswer(deps, 'provider_event', byPid);
  throw notFound(`no delivery, event or provider event with id "${id.slice(0, 80)}"`);
}

export function lookupRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/lookup/:id', async (ctx) => {
    readQuery(ctx, []);
    ctx.body = await lookup(ctx, deps, ctx.params.id!.trim());
  });
}
