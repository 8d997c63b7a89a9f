// Events: one event as received (minus signature headers; the body for operators only, seed
// 002) and the events of one endpoint by time, newest first.
import type Router from '@koa/router';
import { AppError, badRequest, notFound } from '../../errors/index.ts';
import { getEvent, latestDeliveryId, locateEvent, scanEventMetas } from '../../store/listing.ts';
import { scopeOf, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readEndpointParam, readLimit, readQuery, readTimeRange } from '../http.ts';
import { eventSummary, eventView } from '../views.ts';

export function eventRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/events', async (ctx) => {
    const q = readQuery(ctx, ['endpoint', 'from', 'to', 'cursor', 'limit']);
    const endpointId = readEndpointParam(q);
    if (!endpointId) throw badRequest('invalid_parameter', 'endpoint: is required ("namespace/name")', { field: 'endpoint' });
    if (!deps.endpoints.get(endpointId)) throw new AppError('endpoint_not_found', `no endpoint "${endpointId}"`, 404);
    const { fromMs, toMs } = readTimeRange(q);
    const limit = readLimit(q);
    const after = decodeCursor('events', q.cursor);
    const high = after ? `(${after.sid}` : toMs !== undefined ? `(${toMs}-0` : '+';
    // With both a cursor and `to`, the cursor is always the lower bound of the two (it came from a page within `to`).
    const metas = await scanEventMetas(deps.redis, deps.keys, endpointId, 'rev', high, fromMs !== undefined ? `${fromMs}-0` : '-', limit + 1);
    const items = metas.slice(0, limit);
    ctx.body = {
      items: items.map((m) => eventSummary(m, endpointId)),
      next_cursor: metas.length > limit ? encodeCursor('events', { sid: items.at(-1)!.sid }) : null,
    };
  });
  router.get('/api/v1/events/:id', async (ctx) => {
    readQuery(ctx, []);
    const id = ctx.params.id!;
    const found = await locateEvent(deps.redis, deps.keys, id, deps.endpoints.all().map((e) => e.id));
    const event = found ? await getEvent(deps.redis, deps.keys, found.endpointId, found.sid) : undefined;
    if (!found || !event) throw notFound(`event "${id}" not found`);
    const latest = await latestDeliveryId(deps.redis, deps.keys, found.endpointId, id);
    const hmacHeader = deps.endpoints.get(found.endpointId)?.spec.source.hmac?.header;
    ctx.body = eventView(event, latest, scopeOf(ctx), hmacHeader);
  });
}
