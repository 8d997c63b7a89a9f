// The composition root: builds the shared parts (Redis clients, keys, registry, metrics) once,
// starts the requested roles with them, and serves every role's HTTP surface on one port:
// `/in/…` ingest, `/api/…` the management API, and /metrics, /healthz, /readyz.
// SIGTERM turns readiness off, then closes the roles, the server and Redis, in that order.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from './config/index.ts';
import { AppError, errorMessage } from './errors/index.ts';
export type { RoleHandle, Shared } from './lib/runtime.ts';
import { createController } from './controller/index.ts';
import { createApiRole } from './api/role.ts';
import { createDispatcher } from './dispatch/dispatcher.ts';
import { createIngestApp } from './ingest/app.ts';
import { logKoaErrors } from './lib/koa-errors.ts';
import type { Log } from './lib/log.ts';
import type { RedisServer } from './lib/redis-server.ts';
import { createMetrics, type Metrics } from './metrics/index.ts';
import { createOpsApp, type Readiness } from './ops.ts';
import { startFolderSource, startStandaloneRedis, standaloneSecretKey } from './standalone/index.ts';
import { createEndpointSync } from './controller/endpoint-sync.ts';
import { createValidator } from './k8s/schema.ts';
import { createKeys } from './store/keys.ts';
import type { RoleHandle, Shared } from './lib/runtime.ts';
import { redisTarget } from './store/connection.ts';
import { createRedis, type ConnectOptions, type RedisClient } from './store/redis.ts';
import { createRegistry, createRegistryCache } from './store/registry.ts';

export const ROLES = ['ingest', 'dispatcher', 'api', 'controller'] as const;
export type Role = (typeof ROLES)[number];

export type RoleFactory = (shared: Shared) => RoleHandle;

export interface Running {
  url: string;
  shared: Shared;
  close(): Promise<void>;
}

const FACTORIES: Readonly<Record<Role, RoleFactory>> = {
  ingest: (s) => ({ http: { prefix: '/in/', app: createIngestApp(s) } }),
  dispatcher: (s) => createDispatcher(s),
  api: (s) => createApiRole(s), // http prefix /api/ (src/api/app.ts)
  controller: (s) => {
    // The kubeconfig is read here, in the entry wiring, and passed down: KUBECONFIG, else
    // ~/.kube/config, else the in-cluster service account.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    return createController(s, { kubeConfig });
  },
};


export async function startProcess(opts: {
  config: Readonly<Config>;
  roles: readonly Role[];
  standalone: boolean;
  log: Log;
  metrics?: Metrics;
}): Promise<Running> {
  const { config, log } = opts;
  const redisServer: RedisServer | undefined = opts.standalone ? await startStandaloneRedis(config, log) : undefined;
  // Read once (password and TLS files included), before anything connects.
  const target = redisTarget(config, redisServer?.url ?? config.redisUrl);
  const secretKey = opts.standalone ? standaloneSecretKey(config) : config.secretKey;
  if (!secretKey) throw new Error('REDELIVER_SECRET_KEY is required outside standalone mode (32 bytes, base64)');

  const connections: RedisClient[] = [];
  let lastRedisError: string | undefined;
  const connect = (name: string, extra: ConnectOptions = {}) => {
    const c = createRedis(target, { connectionName: `redeliver:${name}`, ...extra });
    c.on('error', (err: Error) => {
      lastRedisError = err.message;
      log.debug({ conn: name, err: err.message }, 'redis connection error');
    });
    connections.push(c);
    return c;
  };
  const redis = connect('main');
  const keys = createKeys(config.redisPrefix);
  const registry = createRegistry(redis, keys, Buffer.from(secretKey, 'base64'));
  const endpoints = createRegistryCache({ registry, subscriber: connect('registry'), keys });
  const metrics = opts.metrics ?? createMetrics();
  metrics.watchRedis(() => redis.status === 'ready');
  const shared: Shared = { config, log, metrics, redis, keys, registry, endpoints, connect };

  const readiness: Readiness = {
    ready: false,
    checks: [() => (redis.status === 'ready' ? undefined : `redis is ${redis.status}`)],
  };
  // Standalone: the YAML folder goes through the controller's observe → plan → apply. One process
  // serves ingest, so a layout change waits only a moment once the endpoint is disabled and drained.
  const validator = opts.standalone ? createValidator('webhookendpoints.yaml', 'WebhookEndpoint') : undefined;
  const folder = validator
    ? await startFolderSource({ dir: config.endpointsDir, registry, validator, log,
      createSync: (target) => createEndpointSync({ registry, redis, keys, log, validator, plan: { refreshMs: 30_000, layoutQuietMs: 2_000 } }, target) })
    : undefined;
  await endpoints.start().catch(async (err: unknown) => {
    // The first reads fail with "max retries"; the reason (TLS, AUTH, DNS) is the connection's.
    // disconnect, not quit: a QUIT queued behind the failed reads would keep the client
    // reconnecting (new TLS handshakes that fail again) after this start has given up.
    for (const c of connections) c.disconnect();
    folder?.close();
    await redisServer?.stop();
    throw lastRedisError && !errorMessage(err).includes(lastRedisError) ? new Error(`cannot use Redis: ${lastRedisError} (${errorMessage(err)})`, { cause: err }) : err;
  });
  const handles = opts.roles.map((role) => FACTORIES[role](shared));
  for (const h of handles) await h.start?.();

  const server = listen(handles, createOpsApp(metrics, readiness), config, log);
  let listening = false;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      readiness.ready = false;
      folder?.close();
      for (const h of [...handles].reverse()) await h.close?.();
      await endpoints.close();
      // Let requests in flight finish (an ingest answer must not be cut after its event is
      // stored), then cut what is left after a grace period.
      if (listening) {
        const closed = new Promise<void>((ok) => server.close(() => ok()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(grace);
      }
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      await redisServer?.stop();
    })());
  try {
    await listenOn(server, config.port, config.host);
    listening = true;
  } catch (err) {
    await close(); // a port in use: stop what started (the redis-server child included), then say why
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  readiness.ready = true;
  log.info({ url, roles: opts.roles, standalone: opts.standalone }, 'redeliver started');
  return { url, shared, close };
}

/** Listens, or fails with one clear line (a port in use names the setting to change). */
function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        fail(new AppError('port_in_use', `port ${port} on ${host} is already in use; set REDELIVER_PORT (or \`port:\` in the config file) to a free port, or stop what is using it`, 500));
      } else fail(err);
    });
    server.listen(port, host, () => ok());
  });
}

/**
 * One HTTP server; each request goes to the first role app whose prefix matches. Slow clients
 * are cut: headers must arrive within `headersTimeoutMs`, the whole request (body included)
 * within `requestTimeoutMs` (Node answers 408 and closes), so an unsigned client cannot hold a
 * connection and its buffered body for minutes.
 */
function listen(handles: RoleHandle[], ops: Koa, config: Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs'>, log: Log): Server {
  const apps = [...handles.flatMap((h) => (h.http ? [h.http] : [])), { prefix: '', app: ops }];
  for (const a of apps) logKoaErrors(a.app, log);
  const mounted = apps.filter((a) => a.prefix !== '').map((a) => ({ prefix: a.prefix, also: 'also' in a ? a.also ?? [] : [], handler: a.app.callback() }));
  mounted.sort((a, b) => b.prefix.length - a.prefix.length);
  const opsHandler = ops.callback();
  // Node enforces both timeouts on a sweep (every 30 s by default, which made a 300 s timeout
  // ~330 s): sweep often enough for the configured values to mean what they say.
  const options = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
  };
  const serves = (m: (typeof mounted)[number], url: string) => {
    const path = url.split('?')[0]!;
    return url.startsWith(m.prefix) || m.also.some((p) => p === path || (p !== '/' && p.endsWith('/') && path.startsWith(p)));
  };
  return createServer(options, (req, res) => {
    const path = req.url ?? '/';
    const target = mounted.find((m) => serves(m, path));
    void (target ? target.handler(req, res) : opsHandler(req, res));
  });
}
