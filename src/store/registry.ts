// The endpoint registry in Redis: what the controller (or standalone's YAML folder) writes and
// the data plane reads. Secrets are sealed before they are written. Readers keep an in-memory
// copy refreshed by a pub/sub hint and a periodic full reload, so the hot path never waits on
// Redis for configuration and a missed message costs at most one reload interval.
import { partitionCount, type EndpointState, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { seal, unseal } from '../lib/crypto.ts';
import { CONSUMER_GROUP, type Keys } from './keys.ts';
import type { RedisCommands } from './redis.ts';

interface StoredEndpoint extends Omit<ResolvedEndpoint, 'sourceSecrets' | 'signingSecret' | 'verifyToken'> {
  sourceSecrets: string[];
  signingSecret?: string;
  verifyToken?: string;
}

export interface Registry {
  put(endpoint: ResolvedEndpoint): Promise<void>;
  setState(id: string, state: EndpointState): Promise<void>;
  setPaused(id: string, paused: boolean): Promise<void>;
  get(id: string): Promise<ResolvedEndpoint | undefined>;
  list(): Promise<ResolvedEndpoint[]>;
  /** Create the consumer groups of every partition (idempotent; also used after NOGROUP). */
  ensureGroups(endpoint: ResolvedEndpoint): Promise<void>;
}

export function createRegistry(redis: RedisCommands, keys: Keys, secretKey: Buffer): Registry {
  const encode = (ep: ResolvedEndpoint): string => {
    const { operatorPaused: _kept, ...rest } = ep;
    const stored: StoredEndpoint = {
      ...rest,
      sourceSecrets: ep.sourceSecrets.map((s) => seal(secretKey, s)),
      ...(ep.signingSecret ? { signingSecret: seal(secretKey, ep.signingSecret) } : {}),
      ...(ep.verifyToken ? { verifyToken: seal(secretKey, ep.verifyToken) } : {}),
    };
    return JSON.stringify(stored);
  };
  const decode = (json: string): ResolvedEndpoint => {
    const stored = JSON.parse(json) as StoredEndpoint;
    return {
      ...stored,
      sourceSecrets: stored.sourceSecrets.map((s) => unseal(secretKey, s)),
      ...(stored.signingSecret ? { signingSecret: unseal(secretKey, stored.signingSecret) } : {}),
      ...(stored.verifyToken ? { verifyToken: unseal(secretKey, stored.verifyToken) } : {}),
    };
  };

  const get = async (id: string) => {
    const [json, paused] = await redis.hmget(keys.endpoint(id).endpoint, 'config', 'operator_paused');
    if (!json) return undefined;
    const ep = decode(json);
    if (paused === '1') ep.operatorPaused = true;
    return ep;
  };

  const update = async (id: string, change: (ep: ResolvedEndpoint) => void) => {
    const ep = await get(id);
    if (!ep) return;
    change(ep);
    ep.updatedAt = new Date().toISOString();
    await redis.hset(keys.endpoint(id).endpoint, 'config', encode(ep), 'state', ep.spec.state);
    await redis.publish(keys.registryChannel, id);
  };

  const ensureGroups = async (ep: ResolvedEndpoint) => {
    const k = keys.endpoint(ep.id);
    const n = partitionCount(ep.spec);
    await Promise.all(
      Array.from({ length: n }, (_, p) =>
        redis.xgroup('CREATE', k.queue(p), CONSUMER_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
          if (!err.message.includes('BUSYGROUP')) throw err;
        }),
      ),
    );
  };

  return {
    async put(ep) {
      await ensureGroups(ep);
      // Two commands, not one MULTI: the index is a global key, in another slot on a cluster. The
      // entry first, so an id in the index always has one (get() skips an id without it).
      await redis.hset(keys.endpoint(ep.id).endpoint, 'config', encode(ep), 'state', ep.spec.state, 'generation', ep.generation);
      await redis.sadd(keys.endpointIndex, ep.id);
      await redis.publish(keys.registryChannel, ep.id);
    },
    setState: (id, state) => update(id, (ep) => (ep.spec.state = state)),
    async setPaused(id, paused) {
      // A field of its own, not the spec: the spec belongs to the resource (and the controller).
      await redis.hset(keys.endpoint(id).endpoint, 'operator_paused', paused ? '1' : '0');
      await redis.publish(keys.registryChannel, id);
    },
    get,
    async list() {
      const ids = await redis.smembers(keys.endpointIndex);
      const all = await Promise.all(ids.sort().map(get));
      return all.filter((e): e is ResolvedEndpoint => e !== undefined);
    },
    ensureGroups,
  };
}

/** An in-memory view of the registry for the data plane. `close()` is idempotent. */
export interface RegistryCache {
  get(id: string): ResolvedEndpoint | undefined;
  all(): ResolvedEndpoint[];
  start(): Promise<void>;
  close(): Promise<void>;
  /** Called after each change is applied (the dispatcher rebalances on it). */
  onChange(listener: (id: string) => void): void;
}

export function createRegistryCache(opts: {
  registry: Registry;
  subscriber: RedisCommands;
  keys: Keys;
  reloadMs?: number;
}): RegistryCache {
  const map = new Map<string, ResolvedEndpoint>();
  const listeners: Array<(id: string) => void> = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reloadOne = async (id: string) => {
    const ep = await opts.registry.get(id);
    if (ep) map.set(id, ep);
    else map.delete(id);
    for (const l of listeners) l(id);
  };
  const reloadAll = async () => {
    const all = await opts.registry.list();
    const seen = new Set(all.map((e) => e.id));
    for (const ep of all) map.set(ep.id, ep);
    for (const id of [...map.keys()]) if (!seen.has(id)) map.delete(id);
    for (const l of listeners) l('*');
  };
  const onMessage = (channel: string, id: string) => {
    if (channel === opts.keys.registryChannel) void reloadOne(id).catch(() => undefined);
  };

  return {
    get: (id) => map.get(id),
    all: () => [...map.values()],
    onChange: (l) => void listeners.push(l),
    async start() {
      opts.subscriber.on('message', onMessage);
      await opts.subscriber.subscribe(opts.keys.registryChannel);
      await reloadAll();
      // The pub/sub hint can be missed (reconnect); a periodic reload bounds the staleness.
      timer = setInterval(() => void reloadAll().catch(() => undefined), opts.reloadMs ?? 5000);
      timer.unref();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      opts.subscriber.off('message', onMessage);
      await opts.subscriber.unsubscribe(opts.keys.registryChannel).catch(() => undefined);
    },
  };
}
