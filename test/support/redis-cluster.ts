// A real Redis Cluster for a suite: six redis-server processes (3 masters with a replica each,
// `--cluster-enabled yes`), each on a free port with its own data dir and AOF, joined by
// `redis-cli --cluster create … --cluster-replicas 1`. A short node timeout (3 s: long enough that a
// loaded 2-core machine does not fail a healthy node over) makes a failover take a few seconds, so
// tests can SIGKILL a master and await its replica's promotion.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '../../src/lib/redis-server.ts';
import { keySlot } from '../../src/store/slot.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  server: RedisServer;
  /** Whether the process is running (false once killed by the test). */
  up: boolean;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  master: string;
  slots: Array<[number, number]>;
}

export interface TestCluster {
  nodes: ClusterNode[];
  /** `127.0.0.1:<port>` of every node: what REDELIVER_REDIS_CLUSTER_NODES takes. */
  seeds: string[];
  /** Port of the master serving `key`'s slot, as the cluster says now. */
  masterOf(key: string): Promise<number>;
  /** Ports of the masters that serve slots now. */
  masters(): Promise<number[]>;
  /** SIGKILLs the node on `port` (kill -9): no shutdown, no last AOF write. */
  kill(port: number): Promise<void>;
  /**
   * Resolves once a replica was promoted for every slot of the killed `port`, and every live node
   * reports cluster_state:ok with all 16384 slots served by live masters.
   */
  awaitFailover(port: number, timeoutMs?: number): Promise<void>;
  /**
   * Starts a killed node again on its port and data dir (as Kubernetes restarts a pod) and resolves
   * once it has rejoined as a replica with its replication link up.
   */
  restart(port: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once every live master that serves slots has a replica whose link is up (a loaded
   * machine can cut a link for a while: a test of replicated writes awaits it first).
   */
  awaitReplicated(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function parseNodes(text: string): NodeLine[] {
  return text.trim().split('\n').map((line) => {
    const [id = '', addr = '', flags = '', master = '', , , , , ...slots] = line.split(' ');
    return {
      id, master, flags: flags.split(','),
      port: Number(addr.split('@')[0]!.split(':')[1]),
      slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
        const [a, b = a] = s.split('-');
        return [Number(a), Number(b)] as [number, number];
      }),
    };
  });
}

export async function startTestCluster(opts: { fsync?: 'everysec' | 'always'; nodeTimeoutMs?: number } = {}): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'redeliver-cluster-'));
  const nodes: ClusterNode[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.server.stop('SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const server = await startRedisServer({
        dataDir: join(root, String(port)), port, fsync: opts.fsync ?? 'everysec',
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 3000),
          // Any replica may take over, however long it was cut off (the test kills its master).
          '--cluster-replica-validity-factor', '0'],
      });
      nodes.push({ port, server, up: true });
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
  } catch (err) {
    await stopAll();
    throw err;
  }

  const ask = async <T>(fn: (c: Redis) => Promise<T>, port?: number): Promise<T> => {
    let last: unknown;
    for (const n of nodes.filter((x) => x.up && (port === undefined || x.port === port))) {
      const c = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return await fn(c);
      } catch (err) {
        last = err;
      } finally {
        c.disconnect();
      }
    }
    throw last instanceof Error ? last : new Error('no live cluster node answered');
  };
  const table = async (port?: number) => parseNodes(await ask((c) => c.call('CLUSTER', 'NODES') as Promise<string>, port));
  const healthy = async () => {
    for (const n of nodes.filter((x) => x.up)) {
      const info = await ask((c) => c.call('CLUSTER', 'INFO') as Promise<string>, n.port).catch(() => '');
      if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
    }
    return true;
  };
  await waitFor(healthy, 30_000, 'cluster state ok on every node').catch(async (err: unknown) => {
    await stopAll();
    throw err;
  });
  // Every node must know the final slot map, or a client may be redirected in circles.
  await waitFor(async () => {
    const views = await Promise.all(nodes.map((n) => table(n.port).catch(() => [])));
    return views.every((v) => v.filter((l) => l.flags.includes('master') && l.slots.length > 0).length === 3);
  }, 30_000, 'every node sees 3 masters with slots');

  const liveMasters = async () => (await table()).filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && l.slots.length > 0);
  const onExit = () => nodes.forEach((n) => void n.server.stop('SIGKILL'));
  process.once('exit', onExit);

  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`),
    async masterOf(key) {
      const slot = keySlot(key);
      const m = (await liveMasters()).find((l) => l.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!m) throw new Error(`no master serves slot ${slot}`);
      return m.port;
    },
    masters: async () => (await liveMasters()).map((l) => l.port).sort((a, b) => a - b),
    async kill(port) {
      const n = nodes.find((x) => x.port === port);
      if (!n) throw new Error(`no node on port ${port}`);
      n.up = false;
      await n.server.stop('SIGKILL');
    },
    async awaitFailover(port, timeoutMs = 30_000) {
      await waitFor(async () => {
        const t = await table().catch(() => []);
        const dead = t.find((l) => l.port === port);
        if (!dead || !dead.flags.some((f) => f === 'fail')) return false;
        const covered = t.filter((l) => l.flags.includes('master') && !l.flags.includes('fail')).reduce((n, l) => n + l.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
        return covered === 16384 && (await healthy());
      }, timeoutMs, `failover of the master on port ${port}`);
    },
    async restart(port, timeoutMs = 30_000) {
      const n = nodes.find((x) => x.port === port);
      if (!n) throw new Error(`no node on port ${port}`);
      await n.server.restart('SIGKILL');
      n.up = true;
      await waitFor(async () => {
        const info = await ask((c) => c.call('INFO', 'replication') as Promise<string>, port).catch(() => '');
        return /role:slave/.test(info) && /master_link_status:up/.test(info);
      }, timeoutMs, `node ${port} rejoined as a replica`);
    },
    async awaitReplicated(timeoutMs = 30_000) {
      await waitFor(async () => {
        for (const m of await liveMasters().catch(() => [])) {
          const info = await ask((c) => c.call('INFO', 'replication') as Promise<string>, m.port).catch(() => '');
          if (!/^role:master/m.test(info) || !/^slave\d+:.*state=online/m.test(info)) return false;
        }
        return true;
      }, timeoutMs, 'every master has a replica online');
    },
    async stop() {
      process.off('exit', onExit);
      await stopAll();
    },
  };
}
