// Redis connections and the Lua scripts. Scripts are loaded with ioredis' defineCommand, which
// runs EVALSHA and falls back to EVAL on NOSCRIPT, so a restarted Redis needs no special care.
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { AppError } from '../errors/index.ts';
import { keySlot } from './slot.ts';

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
  rdEventsMeta: 3,
  rdReplayCreate: 3,
  rdReplayTransition: 1,
  rdReplayLease: 1,
} as const;
const LIBS: Partial<Record<keyof typeof SCRIPTS, string[]>> = {
  rdIngest: ['lib-delivery'], rdHead: ['lib-delivery', 'lib-head'], rdFinish: ['lib-delivery', 'lib-head'],
  rdResend: ['lib-partition', 'lib-delivery'], rdUnblock: ['lib-delivery'], rdReplayBatch: ['lib-partition', 'lib-delivery'],
  rdEarlySent: ['lib-delivery'],
};

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number | Buffer;

/** What ingest waits for before it answers: replicas that acknowledged the write (Redis WAIT). */
export interface ReplicaAck {
  replicas: number;
  timeoutMs: number;
}

interface Extras {
  runScript(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
  /**
   * Same, but the calls made in one turn of the event loop reach Redis in one write (a pipeline,
   * flushed by setImmediate): each script still runs on its own, atomically, and answers its own
   * caller. Auto-pipelining writes once per callback instead, so under load each request paid a
   * write and a read of its own. On a cluster, one pipeline per slot. With `ack`, the pipeline
   * ends with WAIT and a call whose write was acknowledged by fewer replicas fails
   * (`replica_ack_timeout`): its answer must not promise more than what happened.
   */
  runScriptBatched(name: ScriptName, keys: string[], args: ScriptArg[], ack?: ReplicaAck): Promise<unknown>;
  /** Same, with every bulk string of the answer as a Buffer (for raw event bodies). */
  runScriptBuffer(name: ScriptName, keys: string[], args: ScriptArg[]): Promise<unknown>;
  /**
   * Whether everything written so far has left this process (not queued while reconnecting, nor
   * buffered in a socket): only then may a delivery be sent before Redis answers its claim.
   */
  written(): boolean;
  readonly isCluster: boolean;
  /** From the target: what a durable write (an ingested event) waits for before it is answered. */
  readonly ack: ReplicaAck | undefined;
}

/** A single-node or a cluster connection, for code that needs only plain commands. */
export type RedisCommands = Redis | Cluster;

/** A single-node or a cluster client, with the scripts defined on it. */
export type RedisClient = (Redis | Cluster) & Extras;

const readLua = (file: string) => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');

function loadScript(name: keyof typeof SCRIPTS): string {
  const file = name.replace(/^rd/, '').replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase());
  return [...(LIBS[name] ?? []), file].map(readLua).join('\n');
}

/**
 * Where Redis is and how to reach it, for single-node and cluster alike (store/connection.ts
 * builds it from the config). A plain URL string is a single node.
 */
export interface RedisTarget {
  url?: string;
  /** Cluster seed nodes; when non-empty, the client is a cluster client. */
  clusterNodes?: Array<{ host: string; port: number }>;
  /** Applied to every connection (each cluster node's too): username, password, tls. */
  connection?: RedisOptions;
  /** The replicated acknowledgement that writes promising durability (ingest) wait for. */
  ack?: ReplicaAck;
}

/**
 * A connection's own options. Cluster only: `shardedSubscribers` (SSUBSCRIBE through one
 * subscriber connection per master, as the wake-up shard channels need: keys.ts) and
 * `slotsRefreshInterval` (re-read the slot map periodically, which also moves shard subscriptions
 * to the node that now serves their slot).
 */
export type ConnectOptions = RedisOptions & Pick<ClusterOptions, 'shardedSubscribers' | 'slotsRefreshInterval'>;

const clusterOnly = new Set(['scaleReads', 'maxRedirections', 'retryDelayOnFailover', 'retryDelayOnClusterDown']);

/**
 * ioredis lets credentials in the URL win over the options; the configured ones (a password file)
 * must win, so they are taken out of the URL when given.
 */
function withoutCredentials(url: string, o: RedisOptions): string {
  if (!url || (o.password === undefined && o.username === undefined)) return url;
  const u = new URL(url);
  if (o.password !== undefined) u.password = '';
  if (o.username !== undefined) u.username = '';
  return u.toString();
}

function connectClient(target: RedisTarget, { shardedSubscribers, slotsRefreshInterval, ...opts }: ConnectOptions): Redis | Cluster {
  const base: RedisOptions = {
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    lazyConnect: false,
    ...target.connection,
  };
  if (!target.clusterNodes?.length) return new Redis(withoutCredentials(target.url ?? '', base), { enableAutoPipelining: true, ...base, ...opts });
  const redisOptions: RedisOptions = { ...base };
  // No auto-pipelining on a cluster: ioredis groups it by node and retries a pipeline after MOVED
  // only when every command in it was moved the same way, so during a topology change single
  // commands failed with MOVED (seen in the cluster test; ioredis issues #1692, #2075).
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining: false, scaleReads: 'master', ...(shardedSubscribers ? { shardedSubscribers } : {}), ...(slotsRefreshInterval ? { slotsRefreshInterval } : {}),
  };
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'enableAutoPipelining') continue;
    if (clusterOnly.has(k)) (clusterOptions as Record<string, unknown>)[k] = v;
    else (redisOptions as Record<string, unknown>)[k] = v;
  }
  // Reconnects are the cluster's to drive (it re-reads the slot map); a node's own retry
  // strategy would keep dialling a master that failed over.
  delete redisOptions.retryStrategy;
  return new Cluster(target.clusterNodes, {
    ...clusterOptions,
    redisOptions,
    clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    // A failover takes a few seconds: keep a command through it rather than fail it at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
  });
}

/** A pipeline with the scripts as methods (ioredis defines them on the client's pipelines too). */
type ScriptPipeline = Record<string, (...a: ScriptArg[]) => unknown> & {
  wait(replicas: number, timeoutMs: number): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
};

interface Batched { name: ScriptName; key: string; call: ScriptArg[]; ack: ReplicaAck | undefined; ok: (v: unknown) => void; fail: (e: unknown) => void }

/**
 * A client for commands and scripts. `maxRetriesPerRequest` stays small so a request whose Redis
 * is down fails (and the ingest answers 503) instead of hanging; the client keeps reconnecting.
 */
/**
 * ioredis listens for a connection's socket errors with `once`, and not at all when the socket
 * was destroyed before it looked (a TLS handshake refused at once): a second error on that
 * socket (a server's TLS alert after a refused certificate) was then thrown as an uncaught
 * exception and ended the process. Every socket gets a lasting listener; ioredis still handles
 * the errors it sees (reconnect, the client's own 'error' event).
 */
function keepStreamErrorsHandled(redis: object): void {
  const connector = (redis as unknown as { connector?: { connect?: (...args: unknown[]) => Promise<unknown> } }).connector;
  const connect = connector?.connect?.bind(connector);
  if (!connector || !connect) return;
  connector.connect = (...args) => connect(...args).then((stream) => {
    if (stream && typeof (stream as NodeJS.EventEmitter).on === 'function') (stream as NodeJS.EventEmitter).on('error', () => undefined);
    return stream;
  });
}

export function createRedis(target: string | RedisTarget, opts: ConnectOptions = {}): RedisClient {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const redis = connectClient(t, opts) as RedisClient;
  const cluster = redis instanceof Cluster ? redis : undefined;
  if (!cluster) keepStreamErrorsHandled(redis);
  Object.defineProperty(redis, 'isCluster', { value: cluster !== undefined });
  Object.defineProperty(redis, 'ack', { value: t.ack });
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

  // On a cluster, one pipeline per slot (an endpoint's calls share one): ioredis resends a
  // pipeline after MOVED only when all of its commands were moved alike, which holds for one slot
  // but not for one node whose slots are being moved or failed over.
  const groupOf = (key: string) => (cluster ? String(keySlot(key)) : '');
  let batch: Batched[] = [];
  const flush = () => {
    const groups = new Map<string, Batched[]>();
    for (const c of batch) {
      const g = groupOf(c.key);
      const list = groups.get(g);
      if (list) list.push(c);
      else groups.set(g, [c]);
    }
    batch = [];
    for (const calls of groups.values()) runGroup(calls);
  };
  const runGroup = (calls: Batched[]) => {
    const pipeline = redis.pipeline() as unknown as ScriptPipeline;
    let ack: ReplicaAck | undefined;
    try {
      for (const c of calls) {
        pipeline[c.name]!(...c.call);
        if (c.ack) ack = { replicas: Math.max(ack?.replicas ?? 0, c.ack.replicas), timeoutMs: Math.max(ack?.timeoutMs ?? 0, c.ack.timeoutMs) };
      }
      // WAIT covers every write this connection made before it, so one serves the whole group.
      if (ack) pipeline.wait(ack.replicas, ack.timeoutMs);
    } catch (err) {
      for (const c of calls) c.fail(err);
      return;
    }
    pipeline.exec().then(
      (results) => {
        const acked = ack ? results?.[calls.length] : undefined;
        calls.forEach((c, i) => {
          const [err, value] = results?.[i] ?? [new Error('no reply from Redis'), undefined];
          if (err) return c.fail(err);
          if (c.ack && !(acked && !acked[0] && Number(acked[1]) >= c.ack.replicas)) {
            return c.fail(new AppError('replica_ack_timeout', `the write reached ${acked?.[1] ?? 0} of ${c.ack.replicas} replicas in ${c.ack.timeoutMs} ms`, 503));
          }
          c.ok(value);
        });
      },
      (err: unknown) => calls.forEach((c) => c.fail(err)),
    );
  };
  redis.runScriptBatched = (name, keys, args, ack) => {
    if (SCRIPTS[name] < 0) throw new Error(`script ${name} takes a variable number of keys: use runScript`);
    if (keys.length !== SCRIPTS[name]) throw new Error(`script ${name} takes ${SCRIPTS[name]} keys, got ${keys.length}`);
    return new Promise((ok, fail) => {
      const usable = ack && ack.replicas > 0 ? ack : undefined;
      if (batch.push({ name, key: keys[0] ?? '', call: [...keys, ...args], ack: usable, ok, fail }) === 1) setImmediate(flush);
    });
  };
  redis.runScriptBuffer = (name, keys, args) => {
    const fn = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[`${name}Buffer`];
    if (!fn) throw new Error(`script ${name} is not defined`);
    return fn.call(redis, ...keys, ...args);
  };
  redis.written = () => {
    if (redis.status !== 'ready') return false;
    if (!cluster) return (redis as Redis).stream.writableLength === 0;
    // Any node may carry the write (the slot's master); a node that is not ready may hold it queued.
    return cluster.nodes('master').every((n) => n.status === 'ready' && n.stream.writableLength === 0);
  };
  return redis;
}
