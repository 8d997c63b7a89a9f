// What every role is built from (made once by the composition root, src/process.ts) and what a
// role hands back. Types only.
import type Koa from 'koa';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { Keys } from '../store/keys.ts';
import type { ConnectOptions, RedisClient } from '../store/redis.ts';
import type { Registry, RegistryCache } from '../store/registry.ts';
import type { Log } from './log.ts';

/** What every role is built from. */
export interface Shared {
  config: Readonly<Config>;
  log: Log;
  metrics: Metrics;
  redis: RedisClient;
  keys: Keys;
  registry: Registry;
  endpoints: RegistryCache;
  /** Opens another connection (blocking reads and pub/sub need their own). */
  connect(name: string, opts?: ConnectOptions): RedisClient;
}

export interface RoleHandle {
  /**
   * Koa app mounted under `prefix`; `also`: more paths it serves — exact ones, and prefixes when
   * they end with '/' (except '/' itself, which is exact).
   */
  http?: { prefix: string; app: Koa; also?: readonly string[] };
  start?(): Promise<void>;
  close?(): Promise<void>;
}

