// One outbound HTTP attempt through undici (keep-alive pooling per origin), with the endpoint's
// timeout, the SSRF guard at connect time, and redirects not followed (a 3xx is a failed
// attempt, so a redirect can never lead to a blocked address). Returns data, never throws.
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { AttemptResult } from '../domain/outcome.ts';
import { DestinationBlockedError, guardedLookup, isAllowedAddress, parseAllowList } from './ssrf.ts';

export const RESPONSE_BODY_LIMIT = 4096;

export interface SendResult {
  result: AttemptResult;
  statusCode: number | undefined;
  /** First 4 KB of the response body. */
  body: string;
  error: string;
  durationMs: number;
}

export interface Sender {
  send(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<SendResult>;
  close(): Promise<void>;
}

export function createSender(opts: { allowedDestinations: readonly string[] }): Sender {
  const allow = parseAllowList(opts.allowedDestinations);
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 256,
    connect: { lookup: guardedLookup(allow) as never },
  });
  let closed = false;
  // Destinations whose literal-IP check passed (a name is checked at connect time, by the lookup).
  const checked = new Set<string>();
  const checkLiteral = (url: string) => {
    if (checked.has(url)) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !isAllowedAddress(host, allow)) throw new DestinationBlockedError(`destination ${host} is a blocked address`);
    if (checked.size >= 1000) checked.clear();
    checked.add(url);
  };

  return {
    async send(url, headers, body, timeoutBudgetMs) {
      const timeoutMs = Math.max(1, Math.floor(timeoutBudgetMs));
      const started = performance.now();
      const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({ ...r, durationMs: performance.now() - started });
      try {
        checkLiteral(url);
        const res = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: agent,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const length = Number(res.headers['content-length']);
        // A short body of known length is read in one go; anything else through the 4 KB limit.
        const text = length <= RESPONSE_BODY_LIMIT ? await res.body.text() : await readLimited(res.body);
        const retryAfter = res.headers['retry-after'];
        return done({
          result: { kind: 'response', status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
          statusCode: res.statusCode,
          body: text,
          error: '',
        });
      } catch (err) {
        return done({ result: { kind: 'error', classification: classifyError(err) }, statusCode: undefined, body: '', error: describe(err) });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await agent.close();
    },
  };
}

/** Reads at most 4 KB of the body and discards the rest (the connection stays reusable). */
async function readLimited(body: AsyncIterable<Buffer> & { dump?: () => Promise<void> }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
}

function errCode(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_CONNECT') return code;
    e = (e as { cause?: unknown }).cause;
  }
  // AbortSignal.timeout's TimeoutError has a numeric `code` (23): use the name then.
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : ((err as Error).name ?? 'unknown');
}

function classifyError(err: unknown): Exclude<AttemptResult, { kind: 'response' }>['classification'] {
  if (err instanceof DestinationBlockedError || (err as { cause?: unknown }).cause instanceof DestinationBlockedError) return 'destination_blocked';
  const code = errCode(err);
  if (code === 'ERR_DESTINATION_BLOCKED') return 'destination_blocked';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns_failure';
  if (/^(UND_ERR_(HEADERS|BODY)_TIMEOUT|UND_ERR_CONNECT_TIMEOUT|ETIMEDOUT|TimeoutError|AbortError|ABORT_ERR|ERR_ABORTED)$/.test(code)) {
    return 'consumer_response_timeout';
  }
  if (/CERT|TLS|SSL|EPROTO/.test(code)) return 'tls_error';
  return 'connection_error';
}

function describe(err: unknown): string {
  const code = errCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return `${code}: ${message}`.slice(0, 500);
}
