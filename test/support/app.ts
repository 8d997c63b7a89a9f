// Starts Redeliver in-process with the given roles against a test Redis, on port 0, with a
// random key prefix, and helpers to register endpoints and wait until the data plane sees them.
import { loadConfig, type Config } from '../../src/config/index.ts';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { createLog } from '../../src/lib/log.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { startProcess, type Role, type Running } from '../../src/process.ts';
import { randomPrefix } from './redis.ts';

export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApp extends Running {
  /** Registers the endpoint and resolves once this process' registry cache has it. */
  putEndpoint(ep: ResolvedEndpoint): Promise<void>;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>;
}

export async function startTestApp(opts: {
  redisUrl: string;
  roles?: Role[];
  config?: Partial<Config>;
  prefix?: string;
  /** Where log lines go (at `config.logLevel`); the default discards them. */
  logTo?: NodeJS.WritableStream;
}): Promise<TestApp> {
  const config = loadConfig({
    env: {},
    overrides: {
      redisUrl: opts.redisUrl,
      redisPrefix: opts.prefix ?? randomPrefix(),
      port: 0,
      host: '127.0.0.1',
      secretKey: TEST_SECRET_KEY,
      logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
      allowedDestinations: ['127.0.0.0/8', '::1/128'],
      ...opts.config,
    },
  });
  const running = await startProcess({
    config,
    roles: opts.roles ?? ['ingest'],
    standalone: false,
    log: createLog({ level: config.logLevel, ...(opts.logTo ? { destination: opts.logTo } : {}) }),
    metrics: createMetrics({ defaults: false }),
  });
  const { endpoints, registry } = running.shared;
  return {
    ...running,
    async putEndpoint(ep) {
      const seen = new Promise<void>((ok) => {
        endpoints.onChange(() => {
          if (endpoints.get(ep.id)?.updatedAt === ep.updatedAt) ok();
        });
      });
      await registry.put(ep);
      await seen;
    },
    async post(path, body, headers = {}) {
      const res = await fetch(running.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { raw: text };
      }
      return { status: res.status, json };
    },
  };
}
