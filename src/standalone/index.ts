// Standalone mode: the redis-server child (when no REDIS_URL is given), a generated secret key
// kept in the data dir, and the YAML folder as the source of endpoints, synced into the registry
// the same way the controller does it in a cluster.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.ts';
import { createValidator } from '../k8s/schema.ts';
import type { Log } from '../lib/log.ts';
import { startRedisServer, type RedisServer } from '../lib/redis-server.ts';
import type { Registry } from '../store/registry.ts';
import { loadEndpointFolder, watchFolder } from './endpoint-folder.ts';

export async function startStandaloneRedis(config: Config, log: Log): Promise<RedisServer | undefined> {
  if (config.redisUrl || config.redisClusterNodes.length > 0) return undefined;
  const server = await startRedisServer({ dataDir: join(config.dataDir, 'redis'), fsync: config.fsync });
  log.info({ url: server.url, dataDir: resolve(config.dataDir, 'redis'), fsync: config.fsync }, 'started redis-server');
  return server;
}

/** The key that seals secrets in Redis: from config, else made once and kept in the data dir. */
export function standaloneSecretKey(config: Config): string {
  if (config.secretKey) return config.secretKey;
  const file = join(config.dataDir, 'secret-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

/** Loads the folder into the registry now and on every change. Returns a close function. */
export async function syncEndpointFolder(dir: string, registry: Registry, log: Log): Promise<() => void> {
  const validator = createValidator('webhookendpoints.yaml', 'WebhookEndpoint');
  const sync = async () => {
    const load = await loadEndpointFolder(dir, validator);
    for (const p of load.problems) log.error({ file: join(dir, p.file), field: p.field }, `invalid endpoint: ${p.field}: ${p.message}`);
    for (const ep of load.endpoints) await registry.put(ep);
    // An endpoint whose document is gone is archived (as the controller's finalizer does).
    for (const ep of await registry.list()) {
      if (!load.named.has(ep.id) && ep.spec.state !== 'archived') {
        await registry.setState(ep.id, 'archived');
        log.info({ endpoint: ep.id }, 'endpoint removed from folder: archived');
      }
    }
    log.info({ dir, endpoints: load.endpoints.map((e) => e.id), problems: load.problems.length }, 'endpoints loaded');
  };
  await sync();
  return watchFolder(dir, () => void sync().catch((err: unknown) => log.error({ err }, 'endpoint folder sync failed')));
}
