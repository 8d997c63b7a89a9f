// A small client of the management API (fetch), used by the tests and bench/api.ts. With
// `check`, every answer is checked against the OpenAPI document (schemas.ts) and a mismatch
// throws: that is how the tests keep the document true.
import { checkResponse } from './schemas.ts';

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  json: T;
  headers: Headers;
}

export interface ApiClient {
  request<T = Record<string, unknown>>(method: string, path: string, opts?: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> }): Promise<ApiAnswer<T>>;
  get<T = Record<string, unknown>>(path: string, key?: string | null): Promise<ApiAnswer<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown, key?: string | null): Promise<ApiAnswer<T>>;
  /** Answers checked so far (when `check` is on). */
  checked(): number;
}

export function createApiClient(opts: { url: string; key?: string; check?: boolean }): ApiClient {
  let checked = 0;
  const request: ApiClient['request'] = async (method, path, o = {}) => {
    const key = o.key === undefined ? opts.key : o.key;
    const headers: Record<string, string> = { ...(key ? { 'x-api-key': key } : {}), ...o.headers };
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(opts.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path}: ${res.status} answer is not JSON: ${text.slice(0, 200)}`);
    }
    if (opts.check) {
      const problems = checkResponse(method, path, res.status, json);
      if (problems.length > 0) throw new Error(`response does not match the OpenAPI document:\n${problems.join('\n')}\n${text.slice(0, 2000)}`);
      checked++;
    }
    return { status: res.status, json: json as never, headers: res.headers };
  };
  return {
    request,
    get: (path, key) => request('GET', path, key === undefined ? {} : { key }),
    post: (path, body, key) => request('POST', path, { ...(body !== undefined ? { body } : {}), ...(key === undefined ? {} : { key }) }),
    checked: () => checked,
  };
}
