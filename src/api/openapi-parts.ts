// Building blocks of the OpenAPI document (openapi.ts): common schemas and the shape of an
// operation, so each route is declared in one line there.

export const S = {
  str: { type: 'string' },
  strOrNull: { type: ['string', 'null'] },
  int: { type: 'integer' },
  intOrNull: { type: ['integer', 'null'] },
  num: { type: 'number' },
  time: { type: 'string', format: 'date-time' },
  timeOrNull: { type: ['string', 'null'], format: 'date-time' },
} as const;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const page = (item: string) => ({
  type: 'object', additionalProperties: false, required: ['items', 'next_cursor'],
  properties: {
    items: { type: 'array', items: ref(item) },
    next_cursor: { type: ['string', 'null'], description: 'Pass as ?cursor= for the next page; null at the end' },
  },
});

export const q = (name: string, description: string, schema: object = S.str) => ({ name, in: 'query', required: false, description, schema });

const ERRORS: Record<string, string> = {
  400: 'Bad input (invalid_json, unknown_field, invalid_field, unknown_parameter, invalid_parameter, invalid_cursor, invalid_time_range, partition_required)',
  401: 'No valid API key or session (unauthorized, invalid_key)',
  403: 'The key\'s scope does not allow this (forbidden), or a session write from another origin (cross_origin_refused)',
  404: 'Not found (not_found, endpoint_not_found, invalid_id: not an id of this kind)',
  409: 'Conflict (not_resendable, endpoint_not_active, not_blocked, replay_conflict, replay_finished)',
  413: 'Body too large (body_too_large)',
  415: 'Body is not JSON (unsupported_media_type)',
  500: 'Internal error (internal_error)',
  503: 'Redis unavailable (storage_unavailable)',
};

export const errorResponses = Object.fromEntries(Object.entries(ERRORS).map(([code, description]) => [
  `E${code}`, { description, content: { 'application/json': { schema: ref('Error') } } },
]));

export function op(o: {
  summary: string; scope: 'read' | 'operator'; params: object[]; ok: [string, string, string]; errors: string[]; body?: string;
}) {
  const always = ['401', ...(o.scope === 'operator' ? ['403'] : []), '500', '503'];
  const body = o.body ? ['400', '413', '415'] : [];
  const codes = [...new Set([...o.errors, ...body, ...always])].sort();
  return {
    summary: o.summary,
    'x-scope': o.scope,
    parameters: o.params,
    ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(o.body) } } } } : {}),
    responses: {
      [o.ok[0]]: { description: o.ok[2], content: { 'application/json': { schema: ref(o.ok[1]) } } },
      ...Object.fromEntries(codes.map((c) => [c, { $ref: `#/components/responses/E${c}` }])),
    },
  };
}
