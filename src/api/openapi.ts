// The OpenAPI 3.1 document of the management API, served at GET /api/v1/openapi.json. It is
// code, not a file, so the same schemas validate request bodies at run time (Ajv, JSON Schema
// 2020-12, which OpenAPI 3.1 uses) and every response the tests receive (schemas.ts).
import { errorResponses, op, page, q, ref, S } from './openapi-parts.ts';
import { endpointListSchema, providerEventParam, sessionPaths, sessionSchemas } from './openapi-session.ts';

const DELIVERY_ID = { name: 'id', in: 'path', required: true, description: 'Delivery id', schema: S.str };
const EVENT_ID = { name: 'id', in: 'path', required: true, description: 'Event id', schema: S.str };
const REPLAY_ID = { name: 'id', in: 'path', required: true, description: 'Replay id', schema: S.str };
const NS = { name: 'ns', in: 'path', required: true, description: 'Namespace of the endpoint', schema: S.str };
const NAME = { name: 'name', in: 'path', required: true, description: 'Name of the endpoint', schema: S.str };
const LIST = [q('cursor', 'Opaque position from a previous page\'s next_cursor'), q('limit', 'Rows per page (1–200, default 50)', S.int)];
const TIME = [q('from', 'Only rows at or after this RFC 3339 time'), q('to', 'Only rows before this RFC 3339 time')];

const deliveryProps = {
  id: { ...S.str, description: 'Delivery id' },
  endpoint_id: { ...S.str, description: 'The endpoint this delivery targets (namespace/name)' },
  event_id: { ...S.str, description: 'The webhook event that triggered this delivery' },
  event_type: { ...S.str, description: 'The event type (e.g. invoice.paid)' },
  status: { enum: ['PENDING', 'SENDING', 'DELIVERED', 'FAILED'], description: 'Delivery status' },
  attempts: { ...S.int, description: 'Number of delivery attempts made so far' },
  max_attempts: { ...S.int, description: 'Maximum attempts before marking as FAILED' },
  resend_seq: { ...S.int, description: 'Manual-resend sequence: 0 = the original delivery, 1, 2, … = resends, unblock retries and replays' },
  origin: { ...S.str, description: 'What created it: ingest, resend, unblock or replay:<replay id>' },
  partition: { ...S.int, description: 'Ordering partition of the endpoint' },
  created_at: { ...S.time, description: 'When the delivery record was created' },
  updated_at: { ...S.time, description: 'When the delivery record was last updated' },
  delivered_at: { ...S.time, description: 'When the delivery was successfully completed' },
  last_attempt_at: { ...S.time, description: 'When the last attempt was made' },
  next_attempt_at: { ...S.time, description: 'When the next delivery attempt is scheduled' },
  response_status_code: { ...S.int, description: 'HTTP status code from the last attempt' },
  response_body: { ...S.str, description: 'Response body from the last attempt (truncated to 4 KB)' },
  error_message: { ...S.str, description: 'Error message from the last attempt (network errors, timeouts)' },
  failure_reason: { ...S.str, description: 'Classification of the last failed attempt, e.g. consumer_5xx (omitted when none)' },
  destination_url: { ...S.str, description: 'Destination of a replay with destinationOverride (credentials removed; query shown to operators only)' },
  attempt_history: { type: 'array', items: ref('Attempt'), description: 'Every attempt, oldest first (GET /deliveries/{id} only)' },
};

const schemas = {
  Error: {
    type: 'object', additionalProperties: false, required: ['code', 'message'],
    properties: {
      code: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', description: 'Stable machine-readable code' },
      message: S.str,
      details: { type: 'object', description: 'e.g. { "field": "selector.from" }' },
    },
  },
  Attempt: {
    type: 'object', additionalProperties: false, required: ['attempt', 'classification', 'response_status_code'],
    properties: {
      attempt: S.int, started_at: S.time, duration_ms: S.num, response_status_code: S.intOrNull, classification: S.str,
      error_message: S.str, response_body: S.str, next_attempt_in_ms: S.intOrNull,
      unconfirmed: { type: 'boolean', description: 'Sent ahead of a claim Redis did not record; the delivery was sent again in order under a later attempt number' },
    },
  },
  Delivery: {
    type: 'object', additionalProperties: false,
    required: ['id', 'endpoint_id', 'event_id', 'event_type', 'status', 'attempts', 'max_attempts', 'resend_seq', 'origin', 'partition', 'created_at', 'updated_at'],
    properties: deliveryProps,
  },
  DeliveryDetail: { allOf: [ref('Delivery'), { type: 'object', required: ['attempt_history'], properties: { attempt_history: { type: 'array' } } }] },
  DeliveryPage: page('Delivery'),
  Event: {
    type: 'object', additionalProperties: false,
    required: ['id', 'endpoint_id', 'event_type', 'provider_event_id', 'received_at', 'headers', 'body_size', 'latest_delivery_id'],
    properties: {
      id: S.str, endpoint_id: S.str, event_type: S.str, provider_event_id: S.strOrNull, received_at: S.time,
      headers: { type: 'object', additionalProperties: S.str, description: 'Headers as received, without signature headers' },
      body_size: S.int,
      body: { ...S.str, description: 'The payload (operator scope only): text when UTF-8, else base64' },
      body_encoding: { enum: ['utf8', 'base64'] },
      body_redacted: { type: 'boolean', description: 'true when the scope may not see payloads (read)' },
      latest_delivery_id: S.strOrNull,
    },
  },
  EventSummary: {
    type: 'object', additionalProperties: false,
    required: ['id', 'endpoint_id', 'event_type', 'provider_event_id', 'received_at', 'body_size', 'latest_delivery_id', 'latest_delivery_status'],
    properties: {
      id: S.str, endpoint_id: S.str, event_type: S.str, provider_event_id: S.strOrNull, received_at: S.time, body_size: S.int,
      latest_delivery_id: S.strOrNull, latest_delivery_status: S.strOrNull,
    },
  },
  EventPage: page('EventSummary'),
  EndpointHealth: {
    type: 'object', additionalProperties: false,
    required: ['backlog', 'held', 'oldest_pending_age_seconds', 'blocked', 'last_delivered_at', 'destination', 'counters'],
    properties: {
      backlog: { ...S.int, description: 'Deliveries queued (queue + front of every partition)' },
      held: { ...S.int, description: 'Live deliveries held while a pauseLive replay runs' },
      oldest_pending_age_seconds: { type: ['number', 'null'] },
      blocked: { type: 'object', additionalProperties: S.str, description: 'Blocked partition → id of the delivery that blocks it' },
      last_delivered_at: S.timeOrNull,
      destination: {
        type: 'object', additionalProperties: false, required: ['status', 'last_classification', 'last_attempt_at'],
        properties: { status: { enum: ['healthy', 'failing', 'unknown'] }, last_classification: S.strOrNull, last_attempt_at: S.timeOrNull },
      },
      counters: { type: 'object', additionalProperties: S.int },
    },
  },
  Endpoint: {
    type: 'object', additionalProperties: false,
    required: ['id', 'namespace', 'name', 'generation', 'state', 'paused', 'ingest_path', 'updated_at', 'spec', 'health'],
    properties: {
      id: S.str, namespace: S.str, name: S.str, generation: S.int, state: { enum: ['active', 'disabled', 'archived'] },
      paused: { type: 'boolean' }, paused_by_operator: { type: 'boolean' }, ingest_path: S.str, updated_at: S.time,
      spec: { type: 'object', description: 'The WebhookEndpoint spec, without secrets: header values and URL credentials are redacted' },
      health: ref('EndpointHealth'),
    },
  },
  EndpointList: endpointListSchema,
  UnblockRequest: {
    type: 'object', additionalProperties: false, required: ['action'],
    properties: { action: { enum: ['retry', 'skip'] }, partition: { type: 'integer', minimum: 0, description: 'Default: the only blocked partition' } },
  },
  UnblockResult: {
    type: 'object', additionalProperties: false, required: ['endpoint_id', 'partition', 'action', 'blocked_delivery_id', 'new_delivery'],
    properties: {
      endpoint_id: S.str, partition: S.int, action: { enum: ['retry', 'skip'] }, blocked_delivery_id: S.str,
      new_delivery: { oneOf: [ref('Delivery'), { type: 'null' }] },
    },
  },
  ReplayCreate: {
    type: 'object', additionalProperties: false, required: ['endpoint'],
    properties: {
      endpoint: { ...S.str, description: 'namespace/name of the endpoint' },
      selector: {
        type: 'object', additionalProperties: false,
        properties: {
          from: { ...S.time, description: 'Events received at or after this time' },
          to: { ...S.time, description: 'Events received before this time' },
          statuses: { type: 'array', maxItems: 4, items: { enum: ['PENDING', 'SENDING', 'DELIVERED', 'FAILED'] }, description: "Status of the event's latest delivery" },
          eventTypes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
          eventIds: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 128 } },
        },
      },
      destinationOverride: {
        type: 'object', additionalProperties: false, required: ['url'],
        properties: { url: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://' } },
      },
      rateLimit: { type: 'object', additionalProperties: false, required: ['perSecond'], properties: { perSecond: { type: 'number', minimum: 0.001 } } },
      pauseLive: { type: 'boolean', description: 'Hold live deliveries of the endpoint until the replay ends' },
    },
  },
  Replay: {
    type: 'object', additionalProperties: false,
    required: ['id', 'endpoint', 'phase', 'message', 'matched', 'enqueued', 'skipped', 'delivered', 'failed', 'enqueue_done',
      'scanned_through', 'pause_live', 'spec', 'created_at', 'started_at', 'completed_at', 'updated_at'],
    properties: {
      id: S.str, endpoint: S.str, phase: { enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] }, message: S.str,
      matched: S.int, enqueued: S.int, skipped: S.int, delivered: S.int, failed: S.int, enqueue_done: { type: 'boolean' },
      scanned_through: S.timeOrNull, pause_live: { type: 'boolean' }, spec: ref('ReplayCreate'),
      created_at: S.time, started_at: S.timeOrNull, completed_at: S.timeOrNull, updated_at: S.time,
    },
  },
  ReplayPage: page('Replay'),
  AuditEntry: {
    type: 'object', additionalProperties: false, required: ['id', 'at', 'who', 'scope', 'action', 'target', 'status', 'result', 'detail'],
    properties: {
      id: S.str, at: S.time, who: { ...S.str, description: 'Key id (fingerprint), never the key' }, scope: { enum: ['read', 'operator'] },
      action: S.str, target: S.str, status: S.int, result: { ...S.str, description: 'ok or the error code' }, detail: { type: 'object' },
    },
  },
  AuditPage: page('AuditEntry'),
  ...sessionSchemas,
};

const ENDPOINT_ACTION = (summary: string, extra: Record<string, unknown> = {}) =>
  op({ summary, scope: 'operator', params: [NS, NAME], ok: ['200', 'Endpoint', 'The endpoint after the change'], errors: ['404'], ...extra });

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Redeliver management API',
    version: '1.0.0',
    description: 'Deliveries, events, endpoints, resend, unblock and ordered replays. Errors are { code, message }. See docs/api.md.',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ ApiKey: [] }, { Bearer: [] }],
  paths: {
    '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    '/deliveries': { get: op({ summary: 'List deliveries, newest first', scope: 'read', params: [
      q('endpoint', 'namespace/name'), q('status', 'Comma-separated statuses'), q('event_type', 'Exact event type'), q('event_id', 'Event id'), providerEventParam, ...TIME, ...LIST,
    ], ok: ['200', 'DeliveryPage', 'A page of deliveries'], errors: ['400', '404'] }) },
    '/deliveries/{id}': { get: op({ summary: 'One delivery with its attempts (an event id gets a 404 naming its deliveries)', scope: 'read', params: [DELIVERY_ID], ok: ['200', 'DeliveryDetail', 'The delivery'], errors: ['404'] }) },
    '/deliveries/{id}/resend': { post: op({ summary: 'Resend a delivery as a NEW delivery (seed 001)', scope: 'operator', params: [DELIVERY_ID],
      ok: ['201', 'Delivery', 'Newly created delivery'], errors: ['404', '409'] }) },
    '/events': { get: op({ summary: 'List the events of one endpoint, newest first', scope: 'read', params: [q('endpoint', 'namespace/name (required)'), ...TIME, ...LIST],
      ok: ['200', 'EventPage', 'A page of events'], errors: ['400', '404'] }) },
    '/events/{id}': { get: op({ summary: 'One event: headers without signatures; the body for operators', scope: 'read', params: [EVENT_ID], ok: ['200', 'Event', 'The event'], errors: ['404'] }) },
    '/endpoints': { get: op({ summary: 'Endpoints with their health, by id', scope: 'read', params: LIST, ok: ['200', 'EndpointList', 'A page of endpoints'], errors: ['400'] }) },
    '/endpoints/{ns}/{name}': { get: op({ summary: 'One endpoint with live health', scope: 'read', params: [NS, NAME], ok: ['200', 'Endpoint', 'The endpoint'], errors: ['404'] }) },
    '/endpoints/{ns}/{name}/unblock': { post: op({ summary: 'Retry or skip the delivery that blocks a partition', scope: 'operator', params: [NS, NAME], body: 'UnblockRequest',
      ok: ['200', 'UnblockResult', 'The partition is unblocked'], errors: ['400', '404', '409'] }) },
    '/endpoints/{ns}/{name}/pause': { post: ENDPOINT_ACTION('Pause deliveries (events are still received)') },
    '/endpoints/{ns}/{name}/resume': { post: ENDPOINT_ACTION('Resume deliveries') },
    '/replays': {
      get: op({ summary: 'List replays, newest first', scope: 'read', params: [q('endpoint', 'namespace/name'), ...LIST], ok: ['200', 'ReplayPage', 'A page of replays'], errors: ['400'] }),
      post: op({ summary: 'Start an ordered replay', scope: 'operator', params: [], body: 'ReplayCreate', ok: ['201', 'Replay', 'The replay, Running'], errors: ['400', '404', '409'] }),
    },
    '/replays/{id}': {
      get: op({ summary: 'A replay and its progress', scope: 'read', params: [REPLAY_ID], ok: ['200', 'Replay', 'The replay'], errors: ['404'] }),
      delete: op({ summary: 'Cancel a replay', scope: 'operator', params: [REPLAY_ID], ok: ['200', 'Replay', 'The replay, Cancelled'], errors: ['404', '409'] }),
    },
    ...sessionPaths,
    '/audit': { get: op({ summary: 'The audit log of management writes, newest first', scope: 'operator', params: LIST, ok: ['200', 'AuditPage', 'A page of audit entries'], errors: ['400'] }) },
  },
  components: {
    securitySchemes: {
      ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      Bearer: { type: 'http', scheme: 'bearer' },
    },
    responses: errorResponses,
    schemas,
  },
} as const;

export type SchemaName = keyof typeof schemas;
