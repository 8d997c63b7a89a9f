// Starts Redeliver in-process with the given roles against a test Redis, on port 0, with a
// random key prefix, and helpers to register endpoints and wait until the data plane sees them.
import { loadConfig, type Config } from '../../src/config/index.ts';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { createLog } from '../../src/lib/log.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { startProcess, type Role, type Running } from '../../src/process.ts';
import { Redis } from 'ioredis';
import { randomPrefix, startTestRedis, type TestRedis } from './redis.ts';

export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApp extends Running {
  /** Registers the endpoint and resolves once this process' registry cache has it. */
  putEndpoint(ep: ResolvedEndpoint): Promise<void>;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>;
}

export interface TestAppOptions {
  redisUrl: string;
  roles?: Role[];
  config?: Partial<Config>;
  prefix?: string;
  /** Where log lines go (at `config.logLevel`); the default discards them. */
  logTo?: NodeJS.WritableStream;
}

export async function startTestApp(opts: TestAppOptions): Promise<TestApp> {
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

/** What a suite runs against: its own redis-server, Redeliver in-process on it, a plain client of it. */
export interface TestStack {
  redis: TestRedis;
  app: TestApp;
  client: Redis;
}

/**
 * A TestStack for the suite it is called in (inside `describe`): started by a `before` hook and
 * stopped by an `after` hook it registers; its fields are set once that `before` has run.
 */
export function useTestStack(opts: Omit<TestAppOptions, 'redisUrl'> = {}): TestStack {
  const stack = {} as TestStack;
  before(async function () {
    stack.redis = await startTestRedis();
    stack.app = await startTestApp({ ...opts, redisUrl: stack.redis.url });
    stack.client = new Redis(stack.redis.url);
  });
  after(async function () {
    await stack.client?.quit();
    await stack.app?.close();
    await stack.redis?.stop();
  });
  return stack;
}
