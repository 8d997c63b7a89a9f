// Redis connections and the Lua scripts. Scripts are loaded with ioredis' defineCommand, which
// runs EVALSHA and falls back to EVAL on NOSCRIPT, so a restarted Redis needs no special care.
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';

/** Script name → number of KEYS. Files: lua/<kebab-name>.lua, with lua/lib-*.lua prepended where listed. */
const SCRIPTS = {
  rdIngest: 1,
  rdLease: 2,
  rdHead: 5,
  rdFinish: 9,
  rdResend: 9,
  rdUnblock: 9,
  rdReplayBatch: 5,
  rdReleaseHold: -1,
  rdTrim: 4,
  rdUnclaim: 2,
  rdEarlySent: 2,
  rdEventsMeta: 2,
  rdReplayCreate: 3,
  rdReplayTransition: 1,
  rdReplayLease: 1,
} as const;
const LIBS: Partial<Record<keyof typeof SCRIPTS, string[]>> = {
  rdHead: ['lib-head'], rdFinish: ['lib-head'], rdResend: ['lib-partition'], rdReplayBatch: ['lib-partition'],
};

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number | Buffer;

export interface RedisClient extends Redis {
  runScript(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
  /**
   * Same, but the calls made in one turn of the event loop reach Redis in one write (a pipeline,
   * flushed by setImmediate): each script still runs on its own, atomically, and answers its own
   * caller. Auto-pipelining writes once per callback instead, so under load each request paid a
   * write and a read of its own.
   */
  runScriptBatched(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
  /** Same, with every bulk string of the answer as a Buffer (for raw event bodies). */
  runScriptBuffer(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
}

const readLua = (file: string) => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');

function loadScript(name: keyof typeof SCRIPTS): string {
  const file = name.replace(/^rd/, '').replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase());
  return [...(LIBS[name] ?? []), file].map(readLua).join('\n');
}

/**
 * A client for commands and scripts. `maxRetriesPerRequest` stays small so a request whose Redis
 * is down fails (and the ingest answers 503) instead of hanging; the client keeps reconnecting.
 */
export function createRedis(url: string, opts: RedisOptions = {}): RedisClient {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    lazyConnect: false,
    ...opts,
  }) as RedisClient;
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    // -1: a variable number of keys, passed first as the key count (ioredis' convention).
    redis.defineCommand(name, { ...(numberOfKeys >= 0 ? { numberOfKeys } : {}), lua: loadScript(name as ScriptName) });
  }
  redis.runScript = (name, keys, args) => {
    if (SCRIPTS[name] >= 0 && keys.length !== SCRIPTS[name]) throw new Error(`script ${name} takes ${SCRIPTS[name]} keys, got ${keys.length}`);
    const fn = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[name];
    if (!fn) throw new Error(`script ${name} is not defined`);
    return SCRIPTS[name] >= 0 ? fn.call(redis, ...keys, ...args) : fn.call(redis, keys.length, ...keys, ...args);
  };
  let batch: Array<{ name: ScriptName; call: ScriptArg[]; ok: (v: unknown) => void; fail: (e: unknown) => void }> = [];
  // One pipeline per flush, whatever the endpoints: right for a single Redis node (a Redis Cluster
  // client would need one pipeline per slot).
  const flush = () => {
    const calls = batch;
    batch = [];
    const pipeline = redis.pipeline() as unknown as Record<string, (...a: ScriptArg[]) => unknown> & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    try {
      for (const c of calls) pipeline[c.name]!(...c.call);
    } catch (err) {
      for (const c of calls) c.fail(err);
      return;
    }
    pipeline.exec().then(
      (results) => calls.forEach((c, i) => {
        const [err, value] = results?.[i] ?? [new Error('no reply from Redis'), undefined];
        if (err) c.fail(err);
        else c.ok(value);
      }),
      (err: unknown) => calls.forEach((c) => c.fail(err)),
    );
  };
  redis.runScriptBatched = (name, keys, args) => {
    if (SCRIPTS[name] < 0) throw new Error(`script ${name} takes a variable number of keys: use runScript`);
    if (keys.length !== SCRIPTS[name]) throw new Error(`script ${name} takes ${SCRIPTS[name]} keys, got ${keys.length}`);
    return new Promise((ok, fail) => {
      if (batch.push({ name, call: [...keys, ...args], ok, fail }) === 1) setImmediate(flush);
    });
  };
  redis.runScriptBuffer = (name, keys, args) => {
    const fn = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[`${name}Buffer`];
    if (!fn) throw new Error(`script ${name} is not defined`);
    return fn.call(redis, ...keys, ...args);
  };
  return redis;
}
