// Read side of the management API: pages of deliveries and events, newest first.
//
// Pagination follows stream ids, which Redis makes strictly increasing per stream: the delivery
// log (one entry per delivery created) and the events stream. A cursor is the position of the
// last entry a page examined; the next page continues strictly after it, so rows inserted while
// a client pages (they get higher ids) never shift the pages it has not read yet: no row is
// skipped or repeated. Across endpoints the order is (stream id descending, endpoint id
// ascending) and the per-endpoint logs are merged in that order.
//
// Filters that the log cannot answer (status, event type) are applied to each record, with a
// budget of entries examined per page; a page may then hold fewer rows than asked for while more
// follow (the cursor says where the scan stopped).
import { decodeDelivery, type DeliveryRecord } from './delivery-record.ts';
import { parseEventIndex, readEventIndex } from './event-index.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export type StreamId = string;

/** Orders stream ids ("<ms>-<seq>") numerically. */
export function compareIds(a: StreamId, b: StreamId): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export interface Position {
  sid: StreamId;
  ep: string;
}

export interface DeliveryQuery {
  endpoints: string[];
  after?: Position;
  /** Created at or after (ms). */
  fromMs?: number;
  /** Created before (ms). */
  toMs?: number;
  statuses?: ReadonlySet<string>;
  eventType?: string;
  limit: number;
  /** Most log entries examined for one page. */
  budget: number;
}

interface LogIterator {
  ep: string;
  buf: Array<[StreamId, string]>;
  high: string;
  low: string;
  done: boolean;
}

const CHUNK = 200;

function upperBound(q: DeliveryQuery, ep: string): string {
  const to = q.toMs === undefined ? undefined : `${q.toMs}-0`;
  if (!q.after) return to ? `(${to}` : '+';
  // Entries at the cursor's own id belong after it only in endpoints that sort after its endpoint.
  const cursor = ep > q.after.ep ? q.after.sid : `(${q.after.sid}`;
  if (!to) return cursor;
  return compareIds(to, q.after.sid) <= 0 ? `(${to}` : cursor;
}

async function refill(redis: RedisClient, keys: Keys, it: LogIterator): Promise<void> {
  const entries = await redis.xrevrange(keys.endpoint(it.ep).deliveryLog, it.high, it.low, 'COUNT', CHUNK);
  for (const [sid, fields] of entries) it.buf.push([sid, fields[1] ?? '']);
  const last = entries.at(-1);
  if (entries.length < CHUNK || !last) it.done = true;
  else it.high = `(${last[0]}`;
}

/** The next entry in (id desc, endpoint asc) order over every iterator, refilling lazily. */
async function nextEntry(redis: RedisClient, keys: Keys, its: LogIterator[]): Promise<{ ep: string; sid: StreamId; id: string } | undefined> {
  await Promise.all(its.filter((i) => i.buf.length === 0 && !i.done).map((i) => refill(redis, keys, i)));
  let best: LogIterator | undefined;
  for (const it of its) {
    const head = it.buf[0];
    if (!head) continue;
    const cmp = best ? compareIds(head[0], best.buf[0]![0]) : 1;
    if (cmp > 0 || (cmp === 0 && it.ep < best!.ep)) best = it;
  }
  const entry = best?.buf.shift();
  return best && entry ? { ep: best.ep, sid: entry[0], id: entry[1] } : undefined;
}

/** Up to `want` entries in order: their records are then read together (one pipeline). */
async function takeGroup(redis: RedisClient, keys: Keys, its: LogIterator[], want: number) {
  const group: Array<{ ep: string; sid: StreamId; id: string }> = [];
  while (group.length < want) {
    const e = await nextEntry(redis, keys, its);
    if (!e) break;
    group.push(e);
  }
  return group;
}

export function keep(q: Pick<DeliveryQuery, 'statuses' | 'eventType'>, d: Record<string, string>): boolean {
  if (!d.status) return false; // expired by retention
  if (q.statuses && !q.statuses.has(d.status ?? '')) return false;
  return q.eventType === undefined || d.event_type === q.eventType;
}

/**
 * The records of a group. With a filter, only the fields it needs are read first (HMGET) and the
 * whole record only for the rows it keeps: a selective filter examines thousands of entries.
 */
async function readGroup(redis: RedisClient, keys: Keys, q: DeliveryQuery, group: Array<{ ep: string; id: string }>) {
  const full = async (e: { ep: string; id: string }) => decodeDelivery(await redis.hgetall(keys.endpoint(e.ep).delivery(e.id)), e.ep, e.id) ?? {};
  if (!q.statuses && q.eventType === undefined) return Promise.all(group.map(full));
  const slim = await Promise.all(group.map(async (e) => {
    const [status, type] = await redis.hmget(keys.endpoint(e.ep).delivery(e.id), 'status', 'event_type');
    return { status: status ?? '', event_type: type ?? '' } as Record<string, string>;
  }));
  return Promise.all(group.map((e, i) => (keep(q, slim[i]!) ? full(e) : slim[i]!)));
}

export interface DeliveryPage {
  items: Array<Record<string, string>>;
  next: Position | undefined;
}

export async function listDeliveries(redis: RedisClient, keys: Keys, q: DeliveryQuery): Promise<DeliveryPage> {
  const low = q.fromMs === undefined ? '-' : `${q.fromMs}-0`;
  const its: LogIterator[] = [...new Set(q.endpoints)].sort().map((ep) => ({ ep, buf: [], high: upperBound(q, ep), low, done: false }));
  const items: Array<Record<string, string>> = [];
  let examined = 0;
  let last: Position | undefined;
  let leftover = false;
  while (items.length < q.limit && examined < q.budget) {
    const group = await takeGroup(redis, keys, its, Math.min(Math.max(q.limit - items.length, 20), q.budget - examined, CHUNK));
    if (group.length === 0) return { items, next: undefined };
    const records = await readGroup(redis, keys, q, group);
    for (const [i, e] of group.entries()) {
      examined++;
      last = { sid: e.sid, ep: e.ep };
      const d = records[i]!;
      if (keep(q, d)) items.push(d);
      if (items.length >= q.limit) {
        leftover = i < group.length - 1;
        break;
      }
    }
  }
  const more = leftover || its.some((i) => i.buf.length > 0 || !i.done);
  return { items, next: more ? last : undefined };
}

/**
 * Every delivery of one event, newest first: its latest one directly, the others from the
 * delivery log scanned forward from the moment the event was received (they were all created
 * after it), until resend_seq + 1 are found or `budget` entries were examined.
 */
export async function eventDeliveries(
  redis: RedisClient, keys: Keys, endpointId: string, eventId: string, eventSid: StreamId, budget: number,
): Promise<Array<Record<string, string>>> {
  const k = keys.endpoint(endpointId);
  const [latest, seq] = await Promise.all([latestDeliveryId(redis, keys, endpointId, eventId), redis.hget(k.resendSeq, eventId)]);
  const expected = Number(seq ?? 0) + 1;
  const ids = new Set<string>(latest ? [latest] : []);
  let from = `${eventSid.split('-')[0]}-0`;
  for (let scanned = 0; ids.size < expected && scanned < budget;) {
    const entries = await redis.xrange(k.deliveryLog, from, '+', 'COUNT', CHUNK);
    const owners = await Promise.all(entries.map(([, f]) => redis.hget(k.delivery(f[1] ?? ''), 'event_id')));
    entries.forEach(([, f], i) => owners[i] === eventId && ids.add(f[1]!));
    scanned += entries.length;
    if (entries.length < CHUNK) break;
    from = `(${entries.at(-1)![0]}`;
  }
  const records = (await Promise.all([...ids].map(async (id) => decodeDelivery(await redis.hgetall(k.delivery(id)), endpointId, id))))
    .filter((d): d is DeliveryRecord => d !== undefined);
  return records.sort((a, b) => Number(b.resend_seq ?? 0) - Number(a.resend_seq ?? 0));
}

// ---- events ---------------------------------------------------------------------------------

export interface EventMeta {
  sid: StreamId;
  id: string;
  type: string;
  providerEventId: string;
  receivedAt: string;
  bodySize: number;
  latestDeliveryId: string;
  latestStatus: string;
}

/** A range of the events stream without bodies (lua/events-meta.lua); bounds in command order. */
export async function scanEventMetas(
  redis: RedisClient, keys: Keys, endpointId: string, dir: 'fwd' | 'rev', first: string, second: string, count: number,
): Promise<EventMeta[]> {
  const k = keys.endpoint(endpointId);
  const flat = (await redis.runScript('rdEventsMeta', [k.events, k.eventIndex, k.latestDelivery], [k.delivery(''), dir, first, second, count])) as Array<string | number>;
  const out: EventMeta[] = [];
  for (let i = 0; i + 7 < flat.length; i += 8) {
    const s = (j: number) => String(flat[i + j]);
    out.push({ sid: s(0), id: s(1), type: s(2), providerEventId: s(3), receivedAt: s(4), bodySize: Number(flat[i + 5]), latestDeliveryId: s(6), latestStatus: s(7) });
  }
  return out;
}

export interface StoredEvent {
  sid: StreamId;
  endpointId: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

/** The id of an event's latest delivery (its first, or the newest resend or replay of it). */
export async function latestDeliveryId(redis: RedisClient, keys: Keys, endpointId: string, eventId: string): Promise<string | null> {
  return (await readEventIndex(redis, keys, endpointId, eventId))?.latest ?? null;
}

/** Which endpoint holds an event id (ids are global; events live under their endpoint's tag). */
export async function locateEvent(redis: RedisClient, keys: Keys, eventId: string, endpoints: string[]): Promise<{ endpointId: string; sid: string } | undefined> {
  const entries = await Promise.all(endpoints.map(async (ep) => parseEventIndex(await redis.hget(keys.endpoint(ep).eventIndex, eventId))));
  const i = entries.findIndex((e) => e !== undefined);
  return i < 0 ? undefined : { endpointId: endpoints[i]!, sid: entries[i]!.sid };
}

export async function getEvent(redis: RedisClient, keys: Keys, endpointId: string, sid: StreamId): Promise<StoredEvent | undefined> {
  const [entry] = await redis.xrangeBuffer(keys.endpoint(endpointId).events, sid, sid);
  if (!entry) return undefined;
  const fields: Record<string, string> = {};
  let body: Buffer = Buffer.alloc(0);
  const raw = entry[1];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString();
    if (name === 'b') body = raw[i + 1]!;
    else fields[name] = raw[i + 1]!.toString();
  }
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(fields.h ?? '{}') as Record<string, string>;
  } catch {
    headers = {};
  }
  return { sid, endpointId, fields, headers, body };
}
