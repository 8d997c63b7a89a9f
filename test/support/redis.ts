// A real redis-server per suite: its own port and data dir, so tests can kill and restart it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/lib/redis-server.ts';

export interface TestRedis extends RedisServer {
  dataDir: string;
}

export async function startTestRedis(opts: { fsync?: 'everysec' | 'always' } = {}): Promise<TestRedis> {
  const dataDir = mkdtempSync(join(tmpdir(), 'redeliver-redis-'));
  const server = await startRedisServer({ dataDir, fsync: opts.fsync ?? 'everysec' });
  return {
    ...server,
    url: server.url,
    port: server.port,
    dataDir,
    restart: server.restart,
    async stop(signal) {
      await server.stop(signal);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A random key prefix, so suites sharing a server never see each other's keys. */
export const randomPrefix = () => `t${Math.random().toString(36).slice(2, 10)}`;
