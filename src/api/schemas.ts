// The OpenAPI document's schemas compiled with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses):
// request bodies are validated against them at run time, and tests check every real response
// against the documented one for its route and status (checkResponse).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { badRequest } from '../errors/index.ts';
import { OPENAPI, type SchemaName } from './openapi.ts';

const DOC_ID = 'https://redeliver.io/api/v1/openapi.json';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
  ajv.addFormat('date-time', (v: string) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
  // The document's non-schema parts hold the schemas; $refs point into them by JSON pointer.
  ajv.addVocabulary(['components', 'openapi', 'info', 'servers', 'security', 'paths', 'x-scope']);
  ajv.addSchema({ $id: DOC_ID, components: structuredClone(OPENAPI.components) });
  return ajv;
}

// A cache of compiled validators, not state: the schemas are constants of the program, so
// compiling them once per process is safe to share (and compiling per request is slow).
let shared: Ajv2020 | undefined;
const ajv = () => (shared ??= createAjv());
const compiled = new Map<string, ValidateFunction>();

function validator(pointer: string): ValidateFunction {
  let v = compiled.get(pointer);
  if (!v) {
    v = ajv().compile({ $ref: `${DOC_ID}#${pointer}` });
    compiled.set(pointer, v);
  }
  return v;
}

const fieldOf = (err: ErrorObject, extra?: string) =>
  [...err.instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])].join('.') || '(body)';

/** Validates a parsed request body; throws 400 unknown_field or invalid_field naming the field. */
export function checkBody(name: SchemaName, body: unknown): void {
  const v = validator(`/components/schemas/${name}`);
  if (v(body)) return;
  const errors = v.errors ?? [];
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) {
    const field = fieldOf(unknown, (unknown.params as { additionalProperty: string }).additionalProperty);
    throw badRequest('unknown_field', `${field}: unknown field`, { field });
  }
  const e = errors.find((x) => x.keyword === 'required') ?? errors[0];
  if (!e) throw badRequest('invalid_field', 'the body is invalid');
  const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
  const field = fieldOf(e, missing);
  throw badRequest('invalid_field', `${field}: ${missing ? 'is required' : e.message ?? 'is invalid'}`, { field });
}

type Response = { $ref?: string; content?: { 'application/json'?: { schema?: unknown } } };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, Response> }>> };

/** The documented path template that `path` (under /api/v1) matches, e.g. /deliveries/{id}. */
export function matchTemplate(path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  const literals = (t: string) => t.split('/').filter((p) => p && !p.startsWith('{')).length;
  // A literal segment wins over a parameter: /replays/preview before /replays/{id}.
  return Object.keys(OPENAPI.paths).filter((t) => {
    const tp = t.split('/').filter(Boolean);
    return tp.length === parts.length && tp.every((p, i) => p.startsWith('{') || p === parts[i]);
  }).sort((a, b) => literals(b) - literals(a))[0];
}

/** Local refs (#/components/…) of a schema taken out of the document, made absolute. */
const rebase = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`)) as object;

/**
 * Checks a real response against the document: the route and status must be documented and the
 * JSON body must match its schema. Returns the problems (empty when it conforms).
 */
export function checkResponse(method: string, path: string, status: number, body: unknown): string[] {
  const template = matchTemplate(path.replace(/^\/api\/v1/, '').split('?')[0]!);
  if (!template) return [`${path}: no such path in the OpenAPI document`];
  const m = method.toLowerCase();
  const response = (OPENAPI as unknown as Doc).paths[template]![m]?.responses[String(status)];
  if (!response) return [`${method} ${template}: status ${status} not documented`];
  const key = `${template} ${m} ${status}`;
  let v = compiled.get(key);
  if (!v) {
    // Error responses are shared ($ref to components/responses): they all carry an Error.
    const schema = response.$ref ? { $ref: `#/components/schemas/Error` } : response.content?.['application/json']?.schema ?? {};
    v = ajv().compile(rebase(schema));
    compiled.set(key, v);
  }
  if (v(body)) return [];
  return (v.errors ?? []).map((e) => `${method} ${template} ${status}: ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
