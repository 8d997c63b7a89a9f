// The parts of the OpenAPI document (openapi.ts) that the dashboard added: sessions, lookup by any
// id, the replay preview (a count before starting) and the live feed.
import { op, q, ref, S } from './openapi-parts.ts';

const LOOKUP_ID = { name: 'id', in: 'path', required: true, description: 'A delivery id, an event id, or the provider\'s event id (e.g. evt_…)', schema: S.str };

export const sessionSchemas = {
  SessionCreate: {
    type: 'object', additionalProperties: false, required: ['key'],
    properties: { key: { type: 'string', minLength: 1, maxLength: 4096, description: 'An API key; exchanged for an HttpOnly session cookie' } },
  },
  Session: {
    type: 'object', additionalProperties: false, required: ['key_id', 'scope', 'namespaces', 'expires_at'],
    properties: {
      key_id: S.str, scope: { enum: ['read', 'operator'] },
      namespaces: { type: ['array', 'null'], items: S.str, description: 'Team-scoped key: the only namespaces it sees (null: all)' },
      expires_at: { ...S.timeOrNull, description: 'When the session ends (null when called with an API key)' },
    },
  },
  SessionEnd: { type: 'object', additionalProperties: false, required: ['signed_out'], properties: { signed_out: { const: true } } },
  Lookup: {
    type: 'object', additionalProperties: false, required: ['kind', 'endpoint_id', 'event_id', 'delivery_id', 'delivery_ids'],
    properties: {
      kind: { enum: ['delivery', 'event', 'provider_event'] }, endpoint_id: S.str, event_id: S.strOrNull,
      delivery_id: { ...S.strOrNull, description: 'The delivery to show: the one asked for, or the event\'s latest' },
      delivery_ids: { type: 'array', items: S.str, description: 'Every delivery of the event kept, latest resend first' },
    },
  },
  ReplayPreview: {
    type: 'object', additionalProperties: false, required: ['endpoint', 'matched', 'scanned', 'complete'],
    properties: {
      endpoint: S.str, matched: { ...S.int, description: 'Events the selector matches now' }, scanned: S.int,
      complete: { type: 'boolean', description: 'false when the count stopped at its budget (matched is then a lower bound)' },
    },
  },
};

export const sessionPaths = {
  '/session': {
    post: { ...op({ summary: 'Sign in: exchange an API key for a session cookie (HttpOnly, SameSite=Strict)', scope: 'read', params: [], body: 'SessionCreate',
      ok: ['201', 'Session', 'Signed in; the cookie is set'], errors: ['401'] }), security: [] },
    get: op({ summary: 'Who is signed in', scope: 'read', params: [], ok: ['200', 'Session', 'The caller'], errors: [] }),
    delete: op({ summary: 'Sign out: end the session', scope: 'read', params: [], ok: ['200', 'SessionEnd', 'Signed out; the cookie is cleared'], errors: ['403'] }),
  },
  '/lookup/{id}': { get: op({ summary: 'Find any id: delivery, event or provider event id', scope: 'read', params: [LOOKUP_ID], ok: ['200', 'Lookup', 'What the id is'], errors: ['404'] }) },
  '/replays/preview': { post: op({ summary: 'Count what a replay would match, without starting it', scope: 'read', params: [], body: 'ReplayCreate',
    ok: ['200', 'ReplayPreview', 'The count'], errors: ['400', '403', '404'] }) },
  '/live': {
    get: {
      summary: 'Server-Sent Events: `endpoint` (deliveries created, ended or blocked) and `replay` (progress) as they happen',
      'x-scope': 'read', parameters: [],
      responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: S.str } } }, 401: { $ref: '#/components/responses/E401' } },
    },
  },
};

export const providerEventParam = q('provider_event_id', 'The provider\'s own event id (e.g. Stripe\'s evt_…)');
export const endpointListSchema = {
  type: 'object', additionalProperties: false, required: ['items', 'next_cursor'],
  properties: { items: { type: 'array', items: ref('Endpoint') }, next_cursor: { type: ['string', 'null'] } },
};
