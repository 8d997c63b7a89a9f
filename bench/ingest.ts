// Ingest throughput and latency: `npm run bench:ingest` (node bench/ingest.ts).
//
// Signed 1 KB GitHub webhooks (HMAC-SHA256 over the body, a unique x-github-delivery per request
// so dedupe does real work) from autocannon, with a fixed connection count and duration after a
// warm-up, against:
//   - the ceiling: bench/bare-koa.ts, a bare Koa server doing one XADD of the raw body per request;
//   - Redeliver: the real process, `node src/main.ts ingest`;
//   - the peer: bench/bullmq-koa.ts, the receiver a Node team would build by hand (Koa, the
//     signature checked, BullMQ `queue.add` with the delivery id as job id);
// each as a child process, each against its own fresh redis-server (AOF everysec, then always, then
// `replicated`: AOF everysec plus one replica, and WAIT 1 before each answer).
// It prints req/s, p50 and p99 latency, errors and non-2xx answers (either would invalidate the
// figure), and Redeliver as a percentage of the ceiling with the same fsync policy. Targets, with
// everysec: ≥ 90 % of the ceiling, and ≥ 1.5× the peer.
//
// Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
// BENCH_FSYNC (everysec,always), BENCH_ROUNDS (1; more runs every target that many times, interleaved,
// and reports the median run — for shared machines), BENCH_PROFILE=<dir> (a --cpu-prof of each
// target process).
// Everything the script starts is stopped before it exits, on Ctrl-C too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { endpointId } from '../src/domain/endpoint.ts';
import { resolveEndpoint } from '../src/domain/resolve.ts';
import type { EndpointResource } from '../src/domain/endpoint.ts';
import { createValidator } from '../src/k8s/schema.ts';
import { freePort, startRedisServer, type RedisServer } from '../src/lib/redis-server.ts';
import { createKeys } from '../src/store/keys.ts';
import { createRegistry } from '../src/store/registry.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
type Durability = 'everysec' | 'always' | 'replicated';
const FSYNCS = (process.env.BENCH_FSYNC ?? 'everysec,always,replicated').split(',').map((s) => s.trim()) as Durability[];
const PROFILE_DIR = process.env.BENCH_PROFILE;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const TARGET_PERCENT = 90;
const TARGET_PEER_RATIO = 1.5;

const SECRET = 'bench-github-secret';
const SECRET_KEY = Buffer.alloc(32, 3).toString('base64');
const PREFIX = 'bench';
const ENDPOINT = { namespace: 'default', name: 'bench-github' };
const PATH = `/in/${ENDPOINT.namespace}/${ENDPOINT.name}`;
const START_TIMEOUT_MS = 30_000;

// ---- autocannon (no bundled types; only what this script uses) ---------------------------------

interface CannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; average: number };
  requests: { average: number; total: number };
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: CannonRequest[];
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

// ---- children: everything started is registered here and stopped in `stopAll` ------------------

const stops: Array<() => Promise<void>> = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));
}

interface Child {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns `node <args>`; ready when a JSON stdout line has `msg === readyMsg` and a url. */
function startNode(nodeArgs: string[], env: Record<string, string>, readyMsg: string): Promise<Child> {
  const proc: ChildProcess = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  stops.push(stop);
  let output = '';
  proc.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-2000)));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${nodeArgs.join(' ')} not ready: ${output}`)), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output = (output + line + '\n').slice(-2000);
      let entry: { msg?: unknown; url?: unknown } = {};
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === readyMsg && typeof entry.url === 'string') {
        clearTimeout(timer);
        ok({ url: entry.url, pid: proc.pid!, stop });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`${nodeArgs.join(' ')} exited (${proc.exitCode ?? proc.signalCode}): ${output}`));
    });
  });
}

async function startRedis(durability: Durability): Promise<RedisServer> {
  const start = async (args: string[] = []) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redeliver-bench-'));
    const server = await startRedisServer({ dataDir, fsync: durability === 'always' ? 'always' : 'everysec', args });
    stops.push(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    return server;
  };
  const master = await start();
  if (durability !== 'replicated') return master;
  // One replica on this host: WAIT then measures the replication round trip, not a network's.
  await start(['--replicaof', '127.0.0.1', String(master.port)]);
  const client = new Redis(master.url);
  try {
    for (let i = 0; !/connected_slaves:1/.test(await client.info('replication')); i++) {
      if (i > 200) throw new Error('the replica did not connect');
      await new Promise((ok) => setTimeout(ok, 50));
    }
  } finally {
    await client.quit();
  }
  return master;
}

// ---- targets --------------------------------------------------------------------------------------

function githubEndpoint() {
  const resource = {
    apiVersion: 'redeliver.io/v1alpha1',
    kind: 'WebhookEndpoint',
    metadata: ENDPOINT,
    spec: { source: { provider: 'github', secretRef: { name: 'bench', keys: ['k'] } }, destination: { url: 'http://127.0.0.1:9/hook' } },
  };
  const problems = createValidator('webhookendpoints.yaml', 'WebhookEndpoint').validate(resource);
  if (problems.length > 0) throw new Error(`bench endpoint: ${JSON.stringify(problems)}`);
  return resolveEndpoint(resource as unknown as EndpointResource, () => SECRET);
}

/** `--cpu-prof` into BENCH_PROFILE, one file per target and run (written when the child exits). */
function profileArgs(target: string): string[] {
  if (!PROFILE_DIR) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${target}-${Date.now()}.cpuprofile`];
}

async function startRedeliver(redis: RedisServer, durability: Durability): Promise<Child> {
  const client = new Redis(redis.url);
  await createRegistry(client, createKeys(PREFIX), Buffer.from(SECRET_KEY, 'base64')).put(githubEndpoint());
  await client.quit();
  return startNode([...profileArgs('redeliver'), join(ROOT, 'src/main.ts'), 'ingest'], {
    REDELIVER_REDIS_URL: redis.url,
    REDELIVER_REDIS_PREFIX: PREFIX,
    REDELIVER_SECRET_KEY: SECRET_KEY,
    REDELIVER_PORT: String(await freePort()),
    REDELIVER_HOST: '127.0.0.1',
    REDELIVER_LOG_LEVEL: 'info',
    ...(durability === 'replicated' ? { REDELIVER_REDIS_WAIT_REPLICAS: '1' } : {}),
  }, 'redeliver started');
}

async function startBullmqKoa(redis: RedisServer, durability: Durability): Promise<Child> {
  return startNode([...profileArgs('bullmq-koa'), join(ROOT, 'bench/bullmq-koa.ts')],
    { REDIS_URL: redis.url, PORT: String(await freePort()), SECRET, ...(durability === 'replicated' ? { WAIT_REPLICAS: '1' } : {}) }, 'listening');
}

async function startBareKoa(redis: RedisServer, durability: Durability): Promise<Child> {
  return startNode([...profileArgs('bare-koa'), join(ROOT, 'bench/bare-koa.ts')],
    { REDIS_URL: redis.url, PORT: String(await freePort()), ...(durability === 'replicated' ? { WAIT_REPLICAS: '1' } : {}) }, 'listening');
}

/** Events stored by any target (Redeliver's event stream, the bare server's one stream, the peer's waiting jobs). */
async function storedEvents(redis: RedisServer): Promise<number> {
  const client = new Redis(redis.url);
  try {
    const streams = [createKeys(PREFIX).endpoint(endpointId(ENDPOINT.namespace, ENDPOINT.name)).events, ...(await client.keys('bare:*'))];
    const lens = await Promise.all([...streams.map((k) => client.xlen(k)), client.llen('bull:ingest-peer:wait')]);
    return lens.reduce((a, b) => a + b, 0);
  } finally {
    await client.quit();
  }
}

// ---- CPU per request: where the time goes, independent of how the CPUs are shared ----------------

/** CPU seconds used so far by a child process (Linux /proc; undefined elsewhere). */
function processCpu(pid: number): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return undefined;
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
  const fields = readFileSync(file, 'utf8').replace(/^.*\) /s, '').split(' ');
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** CPU seconds used so far by redis-server, from its own INFO (works everywhere). */
async function redisCpu(redis: RedisServer): Promise<number> {
  const client = new Redis(redis.url);
  try {
    const info = await client.info('cpu');
    const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return num('used_cpu_user') + num('used_cpu_sys');
  } finally {
    await client.quit();
  }
}

// ---- load -----------------------------------------------------------------------------------------

/** A 1 KB JSON body, signed once: GitHub signs the body only, so the per-request id can vary. */
function githubRequest(run: string): CannonRequest {
  const base = { action: 'opened', number: 1347, repository: { full_name: 'octo/bench' }, sender: { login: 'octocat' }, padding: '' };
  base.padding = 'x'.repeat(1024 - Buffer.byteLength(JSON.stringify(base)));
  const body = Buffer.from(JSON.stringify(base));
  let n = 0;
  return {
    method: 'POST',
    path: PATH,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-hub-signature-256': 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'),
    },
    setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-github-delivery': `${run}-${n++}` } }),
  };
}

interface Row {
  target: string;
  fsync: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  statuses: string;
  stored: number;
  answered2xx: number;
  /** CPU time per request of the target process, of redis-server, and of this process (autocannon). */
  serverUs: number | undefined;
  redisUs: number | undefined;
  loadUs: number | undefined;
}

async function measure(target: string, fsync: Durability, start: (r: RedisServer, d: Durability) => Promise<Child>): Promise<Row> {
  const redis = await startRedis(fsync);
  const child = await start(redis, fsync);
  const run = `${target}-${fsync}`.replace(/\W+/g, '-');
  const load = (duration: number, label: string) => {
    process.stderr.write(`  ${target} (${fsync}): ${label} ${duration} s…\n`);
    return autocannon({ url: child.url, connections: CONNECTIONS, duration, requests: [githubRequest(`${run}-${label}`)] });
  };
  const warm = WARMUP_SECONDS > 0 ? await load(WARMUP_SECONDS, 'warm-up') : undefined;
  const before = { server: processCpu(child.pid), redis: await redisCpu(redis), self: process.cpuUsage() };
  const res = await load(SECONDS, 'measure');
  const serverAfter = processCpu(child.pid);
  const redisAfter = await redisCpu(redis);
  const self = process.cpuUsage(before.self);
  const perRequest = (seconds: number | undefined) => (seconds === undefined ? undefined : (seconds * 1e6) / Math.max(1, res.requests.total));
  await child.stop();
  const stored = await storedEvents(redis);
  await stopAll();
  return {
    target,
    fsync,
    rps: res.requests.average,
    p50: res.latency.p50,
    p99: res.latency.p99,
    errors: res.errors + res.timeouts,
    non2xx: res.non2xx,
    statuses: Object.entries(res.statusCodeStats).map(([code, s]) => `${code}×${s.count}`).join(' '),
    stored,
    answered2xx: res['2xx'] + (warm?.['2xx'] ?? 0),
    serverUs: perRequest(serverAfter === undefined || before.server === undefined ? undefined : serverAfter - before.server),
    redisUs: perRequest(redisAfter - before.redis),
    loadUs: perRequest((self.user + self.system) / 1e6),
  };
}

// ---- report ---------------------------------------------------------------------------------------

function table(rows: Row[]): string {
  const head = ['target', 'fsync', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'statuses', '% of ceiling',
    'CPU µs/req: server', 'redis', 'autocannon'];
  const us = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(0));
  const ceiling = (fsync: string) => rows.find((r) => r.target === CEILING && r.fsync === fsync)?.rps;
  const body = rows.map((r) => {
    const c = ceiling(r.fsync);
    return [r.target, r.fsync, r.rps.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), String(r.errors), String(r.non2xx), r.statuses,
      r.target === CEILING || !c ? '' : `${((100 * r.rps) / c).toFixed(1)} %`, us(r.serverUs), us(r.redisUs), us(r.loadUs)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i !== 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The median run (by req/s) of each target and fsync, in first-seen order. */
function medians(all: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of all) groups.set(`${r.target}|${r.fsync}`, [...(groups.get(`${r.target}|${r.fsync}`) ?? []), r]);
  return [...groups.values()].map((runs) => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)]!);
}

function runsLine(all: Row[]): string[] {
  if (ROUNDS === 1) return [];
  const groups = new Map<string, number[]>();
  for (const r of all) groups.set(`${r.target} (${r.fsync})`, [...(groups.get(`${r.target} (${r.fsync})`) ?? []), r.rps]);
  return [...groups].map(([k, v]) => `runs of ${k}: ${v.map((x) => x.toFixed(0)).join(', ')} req/s`);
}

function verdicts(all: Row[], rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of all) {
    if (r.errors > 0 || r.non2xx > 0) out.push(`INVALID: ${r.target} (${r.fsync}) had ${r.errors} errors/timeouts and ${r.non2xx} non-2xx answers`);
    // Requests in flight when a run ends may be stored without their answer being counted.
    if (r.stored < r.answered2xx || r.stored > r.answered2xx + 2 * CONNECTIONS) {
      out.push(`CHECK: ${r.target} (${r.fsync}) answered 2xx ${r.answered2xx} times but stored ${r.stored} events`);
    }
  }
  const c = rows.find((r) => r.target === CEILING && r.fsync === 'everysec');
  const rd = rows.find((r) => r.target === REDELIVER && r.fsync === 'everysec');
  if (c && rd) {
    const pct = (100 * rd.rps) / c.rps;
    out.push(`Redeliver with everysec: ${pct.toFixed(1)} % of the ceiling (target ≥ ${TARGET_PERCENT} %): ${pct >= TARGET_PERCENT ? 'MET' : 'NOT MET'}`);
  }
  const peer = rows.find((r) => r.target === PEER && r.fsync === 'everysec');
  if (peer && rd) {
    const x = rd.rps / peer.rps;
    out.push(`Redeliver with everysec: ${x.toFixed(2)}× ${PEER} (target ≥ ${TARGET_PEER_RATIO}×): ${x >= TARGET_PEER_RATIO ? 'MET' : 'NOT MET'}`);
  }
  return out;
}

const CEILING = 'bare Koa + XADD (ceiling)';
const REDELIVER = 'Redeliver ingest';
const PEER = 'Koa + BullMQ queue.add (peer)';

async function main() {
  console.log(`ingest bench: ${CONNECTIONS} connections, ${SECONDS} s after ${WARMUP_SECONDS} s warm-up${ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''}, ` +
    'signed 1 KB GitHub webhooks, ' +
    `node ${process.version}, ${availableParallelism()} CPUs (load generator, server and redis-server share them)`);
  const all: Row[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const fsync of FSYNCS) {
      all.push(await measure(CEILING, fsync, startBareKoa));
      all.push(await measure(REDELIVER, fsync, startRedeliver));
      all.push(await measure(PEER, fsync, startBullmqKoa));
    }
  }
  const rows = medians(all);
  console.log('\n' + table(rows));
  for (const line of [...runsLine(all), ...verdicts(all, rows)]) console.log(line);
  if (PROFILE_DIR) console.log(`CPU profiles (open in Chrome DevTools or speedscope): ${PROFILE_DIR}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
