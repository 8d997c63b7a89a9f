// Request input of the API: JSON bodies (400 invalid_json, unknown_field, invalid_field; 413;
// 415), query parameters (400 unknown_parameter / invalid_parameter naming the parameter) and
// opaque cursors (400 invalid_cursor). Each error names the field it is about.
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { AppError, badRequest } from '../errors/index.ts';
import type { SchemaName } from './openapi.ts';
import { checkBody } from './schemas.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** Reads and validates a JSON object body against the named schema of the OpenAPI document. */
export async function readJson<T>(ctx: Context, schema: SchemaName): Promise<T> {
  const type = ctx.get('content-type').split(';')[0]?.trim().toLowerCase() ?? '';
  let raw: string;
  try {
    raw = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new AppError('body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`, 413);
    throw badRequest('invalid_json', 'the request body could not be read');
  }
  if (raw.trim() !== '' && type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', `send application/json, not "${type.slice(0, 100)}"`, 415);
  }
  let body: unknown = {};
  if (raw.trim() !== '') {
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw badRequest('invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalid_json', 'the body must be a JSON object');
  checkBody(schema, body);
  return body as T;
}

export type Query = Record<string, string | undefined>;

/** The query parameters, refusing unknown and repeated ones. */
export function readQuery(ctx: Context, allowed: readonly string[]): Query {
  const out: Query = {};
  for (const [name, value] of Object.entries(ctx.query)) {
    if (!allowed.includes(name)) throw badRequest('unknown_parameter', `${name}: unknown query parameter (allowed: ${allowed.join(', ') || 'none'})`, { field: name });
    if (Array.isArray(value)) throw badRequest('invalid_parameter', `${name}: given more than once`, { field: name });
    out[name] = value;
  }
  return out;
}

export function readLimit(q: Query, def = 50, max = 200): number {
  if (q.limit === undefined) return def;
  const n = Number(q.limit);
  if (!/^\d+$/.test(q.limit) || n < 1 || n > max) throw badRequest('invalid_parameter', `limit: must be an integer from 1 to ${max}`, { field: 'limit' });
  return n;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** `from` / `to` as ms; 400 invalid_parameter for a bad time, invalid_time_range when reversed. */
export function readTimeRange(q: Query): { fromMs?: number; toMs?: number } {
  const parse = (name: 'from' | 'to') => {
    const v = q[name];
    if (v === undefined) return undefined;
    const ms = RFC3339.test(v) ? Date.parse(v) : NaN;
    if (!Number.isFinite(ms) || ms < 0) throw badRequest('invalid_parameter', `${name}: must be an RFC 3339 time such as 2026-01-15T10:30:00Z`, { field: name });
    return ms;
  };
  const fromMs = parse('from');
  const toMs = parse('to');
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
    throw badRequest('invalid_time_range', 'from must not be after to', { field: 'from' });
  }
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

/** `namespace/name`, 400 invalid_parameter otherwise. */
export function readEndpointParam(q: Query, name = 'endpoint'): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (!/^[^/\s]+\/[^/\s]+$/.test(v)) throw badRequest('invalid_parameter', `${name}: must be "namespace/name"`, { field: name });
  return v;
}

// ---- cursors: base64url JSON { k: kind, s: stream id, e?: endpoint } --------------------------

export type CursorKind = 'deliveries' | 'events' | 'replays' | 'audit' | 'endpoints';
export interface Cursor {
  sid: string;
  ep?: string;
}

const SID = /^\d{1,15}-\d{1,19}$/;

export function encodeCursor(kind: CursorKind, c: Cursor): string {
  return Buffer.from(JSON.stringify({ k: kind, s: c.sid, ...(c.ep !== undefined ? { e: c.ep } : {}) })).toString('base64url');
}

export function decodeCursor(kind: CursorKind, raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined;
  const invalid = () => badRequest('invalid_cursor', 'cursor: not a cursor from this listing (pass next_cursor as given)', { field: 'cursor' });
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const c = v as { k?: unknown; s?: unknown; e?: unknown };
  if (!c || typeof c !== 'object' || c.k !== kind || typeof c.s !== 'string' || (kind !== 'replays' && kind !== 'endpoints' && !SID.test(c.s))) throw invalid();
  if (c.e !== undefined && typeof c.e !== 'string') throw invalid();
  return { sid: c.s, ...(typeof c.e === 'string' ? { ep: c.e } : {}) };
}
