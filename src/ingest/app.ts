// The ingest app: one inbound path per endpoint (`/in/<namespace>/<name>`). It answers 2xx only
// after the event is stored in Redis (invariant 1); bad input gets a clear error and changes
// nothing (invariant 6). The app never listens: the entry point mounts `app.callback()`.
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';
import type { ResolvedEndpoint } from '../domain/endpoint.ts';
import { choosePartition, dedupeKeys, extractEventMeta } from '../domain/event.ts';
import { providerEntry, verificationHeaders } from '../domain/providers/index.ts';
import { AppError } from '../errors/index.ts';
import type { Config } from '../config/index.ts';
import { withDeadline } from '../lib/deadline.ts';
import { createIdGenerator, type IdGenerator } from '../lib/ids.ts';
import { createOutageLog, type OutageLog } from '../lib/outage.ts';
import { errorMiddleware } from '../lib/koa-errors.ts';
import type { Log } from '../lib/log.ts';
import type { Metrics } from '../metrics/index.ts';
import { appendEvent } from '../store/events.ts';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis.ts';
import type { RegistryCache } from '../store/registry.ts';
import { checkBody, storedHeaders } from './body.ts';
import { createBodyBudget, type BodyBudget } from './budget.ts';
import { signedHandshake, unsignedHandshake, type HandshakeReply } from './providers/handshake.ts';
import { createPaypalCertificates } from './providers/paypal-certs.ts';
import { verifySignature, type CertificateLoader } from './verify.ts';

export interface IngestDeps {
  redis: RedisClient;
  keys: Keys;
  endpoints: Pick<RegistryCache, 'get'>;
  metrics: Metrics;
  log: Log;
  config: Pick<Config, 'redisTimeoutMs' | 'maxPendingBodyBytes'>;
  now?: () => number;
  ids?: IdGenerator;
  /** PayPal's certificate loader; default: fetched from PayPal's hosts, checked against Node's roots. */
  certificates?: CertificateLoader;
}

type Deps = IngestDeps & { ids: IdGenerator; certificates: CertificateLoader; budget: BodyBudget; redisOutage: OutageLog };

// One route: matched with a regex instead of a router (the router was ~5 % of the hot path).
const ROUTE = /^\/in\/([^/]+)\/([^/]+)\/?$/;

export function createIngestApp(deps: IngestDeps): Koa {
  const app = new Koa();
  const now = deps.now ?? Date.now;
  const d: Deps = {
    ...deps,
    ids: deps.ids ?? createIdGenerator(),
    certificates: deps.certificates ?? createPaypalCertificates(),
    budget: createBodyBudget(deps.config.maxPendingBodyBytes),
    redisOutage: createOutageLog(deps.log, 'redis'),
  };
  app.use(errorMiddleware(deps.log));
  app.use(async (ctx, next) => {
    const m = ROUTE.exec(ctx.path);
    if (!m) return next();
    const id = endpointIdFromPath(m[1]!, m[2]!);
    if (ctx.method === 'POST') return ingest(ctx, d, now, id);
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return handshakeOnly(ctx, d, id);
    throw new AppError('method_not_allowed', 'webhooks are accepted with POST only', 405);
  });
  return app;
}

/** GET and HEAD: only a provider's subscription handshake (Meta, Trello) is answered. */
function handshakeOnly(ctx: Context, deps: Deps, id: string) {
  const endpoint = findEndpoint(deps, id);
  const reply = unsignedHandshake(providerEntry(endpoint.spec.source.provider).handshake, {
    method: ctx.method, query: new URLSearchParams(ctx.querystring), headers: ctx.headers as Record<string, string | undefined>,
    verifyToken: endpoint.verifyToken,
  });
  if (!reply) throw new AppError('method_not_allowed', 'webhooks are accepted with POST only', 405);
  deps.metrics.ingestRequests.inc({ endpoint: id, outcome: reply.status < 300 ? 'handshake' : 'handshake_refused' });
  answer(ctx, reply);
}

function answer(ctx: Context, reply: HandshakeReply) {
  ctx.status = reply.status;
  if (typeof reply.body === 'string') {
    ctx.type = 'text/plain';
    ctx.body = reply.body;
  } else {
    ctx.body = reply.body ?? '';
  }
}

/** The URL the provider called, for schemes that sign it: spec.source.publicUrl with the request's query. */
function publicUrl(ctx: Context, endpoint: ResolvedEndpoint): string {
  const configured = endpoint.spec.source.publicUrl;
  if (!configured) return `${ctx.protocol}://${ctx.host}${ctx.originalUrl}`;
  if (!ctx.querystring) return configured;
  const url = new URL(configured);
  url.search = ctx.querystring;
  return url.toString();
}

function endpointIdFromPath(namespace: string, name: string): string {
  try {
    return `${decodeURIComponent(namespace)}/${decodeURIComponent(name)}`;
  } catch {
    throw new AppError('endpoint_not_found', 'no endpoint at this path (it is not valid percent-encoding)', 404);
  }
}

async function ingest(ctx: Context, deps: Deps, now: () => number, id: string) {
  const started = performance.now();
  const endpoint = findEndpoint(deps, id);
  const outcome = (o: string) => deps.metrics.ingestRequests.inc({ endpoint: id, outcome: o });
  const handshake = providerEntry(endpoint.spec.source.provider).handshake;
  const headers = ctx.headers as Record<string, string | undefined>;
  const limit = endpoint.spec.source.maxBodyBytes;
  const declared = Number(ctx.get('content-length') || NaN);
  // Unknown length: the endpoint's limit, but never more than the whole budget (a budget smaller
  // than one endpoint's limit would otherwise refuse every chunked request).
  const reserved = Math.min(Number.isFinite(declared) && declared <= limit ? declared : limit, deps.config.maxPendingBodyBytes);
  if (!deps.budget.reserve(reserved)) {
    outcome('ingest_busy');
    ctx.set('Retry-After', '1');
    throw new AppError('ingest_busy', 'too many request bodies are being received at once; retry shortly', 503);
  }
  try {
    const body = await readBody(ctx, limit, declared);
    const ping = unsignedHandshake(handshake, { method: 'POST', query: new URLSearchParams(ctx.querystring), headers, body });
    if (ping) {
      outcome('handshake');
      return answer(ctx, ping);
    }
    const secret = await authenticate(ctx, deps, endpoint, body, now);
    const challenge = signedHandshake(handshake, headers, body, secret);
    if (challenge && !endpoint.spec.source.deliverHandshakes) {
      outcome('handshake');
      return answer(ctx, challenge);
    }
    checkBody(endpoint.spec, ctx.get('content-type'), body);
    const result = await store(ctx, deps, endpoint, body, now);
    if (challenge) {
      outcome('handshake');
      return answer(ctx, challenge);
    }
    outcome(result.created ? 'accepted' : 'duplicate');
    deps.log.debug({ endpoint: id, event: result.eventId, delivery: result.deliveryId }, result.created ? 'event accepted' : 'duplicate event: answered with the original');
    if (!result.created) deps.metrics.ingestDedupeHits.inc({ endpoint: id });
    ctx.status = result.created ? 202 : 200;
    ctx.body = { event_id: result.eventId, duplicate: !result.created };
    deps.metrics.ingestDuration.observe({ endpoint: id }, (performance.now() - started) / 1000);
  } catch (err) {
    outcome(err instanceof AppError ? err.code : 'error');
    throw err;
  } finally {
    deps.budget.release(reserved);
  }
}

function findEndpoint(deps: IngestDeps, id: string): ResolvedEndpoint {
  const endpoint = deps.endpoints.get(id);
  if (!endpoint) {
    deps.metrics.ingestRequests.inc({ endpoint: 'unknown', outcome: 'endpoint_not_found' });
    throw new AppError('endpoint_not_found', `no endpoint "${id}"`, 404);
  }
  if (endpoint.spec.state !== 'active') {
    deps.metrics.ingestRequests.inc({ endpoint: id, outcome: 'endpoint_not_active' });
    throw new AppError('endpoint_not_active', `endpoint "${id}" is ${endpoint.spec.state}`, 410);
  }
  return endpoint;
}

async function readBody(ctx: Context, limit: number, declared: number): Promise<Buffer> {
  const tooLarge = () => new AppError('body_too_large', `body exceeds the endpoint's limit of ${limit} bytes`, 413);
  if (declared > limit) throw tooLarge();
  try {
    return await getRawBody(ctx.req, { limit, length: Number.isFinite(declared) ? declared : undefined });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw tooLarge();
    if (type === 'request.aborted') throw new AppError('request_aborted', 'the client closed the request', 400);
    throw new AppError('body_unreadable', 'the request body could not be read', 400, { cause: err });
  }
}

/** Verifies the request; answers the secret that matched ('' for provider none). */
async function authenticate(ctx: Context, deps: Deps, endpoint: ResolvedEndpoint, body: Buffer, now: () => number): Promise<string> {
  const result = await verifySignature({
    headers: ctx.headers as Record<string, string | undefined>,
    body,
    secrets: endpoint.sourceSecrets,
    source: endpoint.spec.source,
    nowMs: now(),
    url: publicUrl(ctx, endpoint),
    method: ctx.method,
    certificates: deps.certificates,
  });
  if (result.ok) return endpoint.sourceSecrets.filter((s) => s.length > 0)[result.secretIndex] ?? '';
  deps.metrics.ingestSignatureFailures.inc({ endpoint: endpoint.id, reason: result.reason });
  deps.log.warn({ endpoint: endpoint.id, reason: result.reason }, 'signature check failed');
  // PayPal's certificate host unreachable: not the sender's fault, so it should retry later.
  if (result.reason === 'certificate_unavailable') throw new AppError(result.reason, result.message, 503);
  throw new AppError(result.reason, result.message, 401);
}

async function store(ctx: Context, deps: Deps, endpoint: ResolvedEndpoint, body: Buffer, now: () => number) {
  const spec = endpoint.spec;
  const meta = extractEventMeta(spec, ctx.headers as Record<string, string | undefined>, body);
  const headers = storedHeaders(ctx.headers);
  const material = verificationHeaders(providerEntry(spec.source.provider).scheme, spec.source.hmac?.header).filter((h) => h in headers);
  const eventId = deps.ids();
  // Known down (the client is reconnecting): answer at once instead of queueing the body.
  if (deps.redis.status === 'reconnecting' || deps.redis.status === 'end' || deps.redis.status === 'close') {
    deps.redisOutage.failed(new Error(`redis connection is ${deps.redis.status}`));
    throw unavailable();
  }
  try {
    const stored = await withDeadline(appendEvent(deps.redis, deps.keys, {
      endpointId: endpoint.id,
      eventId,
      deliveryId: deps.ids(),
      eventType: meta.eventType,
      providerEventId: meta.providerEventId,
      receivedAt: new Date(now()).toISOString(),
      headers,
      verificationHeaders: material,
      dedupe: dedupeKeys(spec, meta.providerEventId, body),
      body,
      maxAttempts: spec.retry.maxAttempts,
      dedupeWindowSeconds: spec.source.dedupeWindowSeconds,
      partition: choosePartition(spec, meta, eventId),
      orderingKey: meta.orderingKey,
    }), deps.config.redisTimeoutMs, () => new Error(`no answer from Redis within ${deps.config.redisTimeoutMs} ms`));
    deps.redisOutage.succeeded();
    return stored;
  } catch (err) {
    // Not stored (or not known to be): the provider must retry, so answer 503, never 2xx. A
    // write that lands after its deadline is deduped when the provider retries.
    deps.redisOutage.failed(err);
    throw unavailable(err);
  }
}

const unavailable = (cause?: unknown) => new AppError('storage_unavailable', 'the event could not be stored; retry later', 503, { cause });
