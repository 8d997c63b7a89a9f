// Standalone mode: the redis-server child (when no REDIS_URL is given), a generated secret key
// kept in the data dir, and the YAML folder as the source of endpoints, fed through the same
// observe → plan → apply as the controller's (folder-source.ts).
//
// The data dir is private (0700, its files 0600): it holds the AOF, the key that seals endpoint
// secrets and the child redis-server's password. One process at a time uses it (a lock file
// naming its pid), so a second start cannot run a second redis-server on the same AOF.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.ts';
import type { Log } from '../lib/log.ts';
import { AppError } from '../errors/index.ts';
import { startRedisServer, type RedisServer } from '../lib/redis-server.ts';

export async function startStandaloneRedis(config: Config, log: Log): Promise<RedisServer | undefined> {
  if (config.redisUrl || config.redisClusterNodes.length > 0) return undefined;
  privateDataDir(config.dataDir);
  const unlock = lockDataDir(config.dataDir);
  let server: RedisServer;
  try {
    const password = kept(join(config.dataDir, 'redis-password'), () => randomBytes(24).toString('base64url'));
    server = await startRedisServer({ dataDir: join(config.dataDir, 'redis'), fsync: config.fsync, password });
  } catch (err) {
    unlock();
    throw err;
  }
  const { port } = server;
  log.info({ url: `redis://127.0.0.1:${port}`, dataDir: resolve(config.dataDir, 'redis'), fsync: config.fsync,
    passwordFile: resolve(config.dataDir, 'redis-password') }, 'started redis-server');
  return {
    ...server,
    url: server.url,
    port,
    get pid() {
      return server.pid;
    },
    async stop(signal) {
      await server.stop(signal);
      unlock();
    },
  };
}

/** The key that seals secrets in Redis: from config, else made once and kept in the data dir. */
export function standaloneSecretKey(config: Config): string {
  if (config.secretKey) return config.secretKey;
  privateDataDir(config.dataDir);
  return kept(join(config.dataDir, 'secret-key'), () => randomBytes(32).toString('base64'));
}

function privateDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** A value kept in a file of its own (0600): read it, or make it and write it once. */
function kept(file: string, make: () => string): string {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return readFileSync(file, 'utf8').trim();
  }
  const value = make();
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes the data dir's lock (`redeliver.pid`, created exclusively). A lock whose process is gone
 * (killed -9) is taken over. Returns the release function.
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, 'redeliver.pid');
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new AppError('data_dir_locked', `the data dir ${resolve(dir)} is in use by another Redeliver (pid ${holder}); ` +
          'stop that one first, or give this one its own folder with REDELIVER_DATA_DIR', 409);
      }
      unlinkSync(file); // left by a process that is gone
    }
  }
  throw new AppError('data_dir_locked', `could not take the lock ${file}`, 409);
}

export { startFolderSource, type FolderSource } from './folder-source.ts';
