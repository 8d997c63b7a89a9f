// Ordered delivery throughput and latency: `npm run bench:dispatch` (node bench/dispatch.ts).
//
// Everything runs on this machine, each part in its own process: a receiver (this file forked with
// --receiver: a bare node:http server answering 200), redis-server (AOF everysec, one for
// Redeliver and a fresh one for the peer), Redeliver's real `ingest` and `dispatcher` processes,
// and the BullMQ peer (bench/bullmq-peer.ts). In one run it measures:
//   1. 1/RTT: sequential keep-alive POSTs (undici) of the same body to the same receiver — the
//      ceiling for one ordered endpoint, which can only have one request in flight;
//   2. ordered delivered events/s, 1 endpoint (strict) and ENDPOINTS endpoints (strict): N events
//      pre-filled through ingest while the endpoints are paused, then resumed; timed from the
//      resume to the receiver's last first receipt;
//   3. the same for the BullMQ peer: N jobs pre-filled (addBulk), Workers started, timed alike;
//   4. end-to-end latency (ingest 2xx → receiver receipt) at half of Redeliver's maximum rate,
//      paced open-loop, for 1 and for ENDPOINTS endpoints (and queue.add → receipt for the peer);
//   5. a receiver that takes BENCH_SLOW_RECEIVER_MS (2) per request: its 1/RTT, and Redeliver's
//      and the peer's ordered throughput to it for one endpoint (BENCH_N_SLOW events, 2000).
// The receiver checks order per endpoint (a later event before an earlier one invalidates a run).
// Timestamps come from process.hrtime (CLOCK_MONOTONIC on Linux), comparable across processes.
// CPU per delivery of each process and Redis' own time per script call show where the time goes.
//
// Targets (the issue): one ordered endpoint ≥ 80 % of 1/RTT (≥ 95 % with the 2 ms receiver); ≥ 2×
// the BullMQ peer's ordered throughput; p99 < 10 ms at half the maximum rate.
//
// Environment: BENCH_N1 (20000 events, 1 endpoint), BENCH_ENDPOINTS (100), BENCH_N_PER_ENDPOINT
// (200), BENCH_LATENCY_SECONDS (5), BENCH_RTT_REQUESTS (5000), BENCH_BODY_BYTES (1024), BENCH_SLOW_RECEIVER_MS (2), BENCH_N_SLOW (2000),
// BENCH_PROFILE=<dir> (--cpu-prof of the dispatcher and the peer), BENCH_MAIN (another checkout's
// src/main.ts, to compare a change on the same machine), BENCH_LATENCY_RATES (e.g. 500,1000,2000:
// instead of the above, Redeliver's latency for one endpoint at each of these rates), BENCH_CLUSTER=1
// (Redeliver on a Redis Cluster of 3 masters with a replica each, started here from redis-server;
// the peer stays on one redis-server as the reference; Redis figures are summed over the masters).
// Everything the script starts is stopped before it exits, on Ctrl-C too.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { EndpointResource, ResolvedEndpoint } from '../src/domain/endpoint.ts';
import { resolveEndpoint } from '../src/domain/resolve.ts';
import { createValidator } from '../src/k8s/schema.ts';
import { freePort, startRedisServer, type RedisServer } from '../src/lib/redis-server.ts';
import { createKeys } from '../src/store/keys.ts';
import { createRegistry, type Registry } from '../src/store/registry.ts';
import { startTestCluster } from '../test/support/redis-cluster.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const num = (name: string, def: number) => Number(process.env[name] ?? def);
// Runs of several seconds: in a 1-second run a fresh process's JIT warm-up is most of the figure.
const N1 = num('BENCH_N1', 20000);
const ENDPOINTS = num('BENCH_ENDPOINTS', 100);
const N_PER_ENDPOINT = num('BENCH_N_PER_ENDPOINT', 200);
const LATENCY_SECONDS = num('BENCH_LATENCY_SECONDS', 5);
const RTT_REQUESTS = num('BENCH_RTT_REQUESTS', 5000);
const BODY_BYTES = num('BENCH_BODY_BYTES', 1024);
const PROFILE_DIR = process.env.BENCH_PROFILE;
const LATENCY_RATES = (process.env.BENCH_LATENCY_RATES ?? '').split(',').filter(Boolean).map(Number);
const CLUSTER = process.env.BENCH_CLUSTER === '1';
/** How Redeliver's rows are labelled. */
const RD = CLUSTER ? 'Redeliver (cluster)' : 'Redeliver';
/** Redeliver's entry point; another checkout's src/main.ts to compare a change (A/B) on the same machine. */
const MAIN = process.env.BENCH_MAIN ?? join(ROOT, 'src/main.ts');
const SECRET_KEY = Buffer.alloc(32, 4).toString('base64');
const PREFIX = 'bench';
const START_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = num('BENCH_RUN_TIMEOUT_MS', 180_000);
const SLOW_MS = num('BENCH_SLOW_RECEIVER_MS', 2);
const N_SLOW = num('BENCH_N_SLOW', 2000);
const TARGET_RTT_PERCENT = 80;
const TARGET_SLOW_RTT_PERCENT = 95;
const TARGET_PEER_RATIO = 2;
const TARGET_P99_MS = 10;

const hr = () => Number(process.hrtime.bigint());
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** An event body of BODY_BYTES: endpoint index e, per-endpoint sequence s, global index i. */
function eventBody(e: number, s: number, i: number): string {
  const head = JSON.stringify({ e, s, i, type: 'bench.event', pad: '' });
  return head.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, BODY_BYTES - head.length))}"`);
}

// ---- the receiver (this file with --receiver) ---------------------------------------------------

interface ReceiverRun {
  total: number;
  count: number;
  duplicates: number;
  outOfOrder: number;
  next: Map<number, number>;
  first: number;
  last: number;
  times: number[] | undefined;
}

/**
 * Counts a first receipt. Throughput runs check order per endpoint (a later event first is
 * counted out of order; a repeat is a duplicate). Latency runs send open-loop, so the ingest may
 * store one endpoint's concurrent events in any order: there only a repeated index is a duplicate.
 */
function count(run: ReceiverRun, body: { e: number; s: number; i: number }, t: number): boolean {
  if (run.times) {
    if (run.times[body.i] !== undefined) {
      run.duplicates++;
      return false;
    }
    run.times[body.i] = t;
  } else {
    const expected = run.next.get(body.e) ?? 0;
    if (body.s < expected) {
      run.duplicates++;
      return false;
    }
    if (body.s > expected) run.outOfOrder++;
    run.next.set(body.e, body.s + 1);
  }
  if (run.count === 0) run.first = t;
  run.count++;
  run.last = t;
  return true;
}

/**
 * Answers 200 (after SLOW_MS on a path with /slow: a receiver that does some work); counts first
 * receipts, on arrival, and reports when all are in.
 */
function runReceiver(): void {
  const send = process.send!.bind(process);
  let run: ReceiverRun | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const t = hr();
      // Parse on every path, /rtt included, so the 1/RTT reference does the same work per request.
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { e: number; s: number; i: number };
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      };
      if (req.url?.includes('/slow')) setTimeout(answer, SLOW_MS);
      else answer();
      if (req.url?.startsWith('/rtt') || !run) return;
      if (count(run, body, t) && run.count === run.total) {
        const { total, count: n, duplicates, outOfOrder, first, last, times } = run;
        run = undefined;
        send({ type: 'done', total, count: n, duplicates, outOfOrder, first, last, times });
      }
    });
  });
  process.on('message', (m: { type: string; total?: number; times?: boolean }) => {
    if (m.type === 'expect') {
      run = { total: m.total!, count: 0, duplicates: 0, outOfOrder: 0, next: new Map(), first: 0, last: 0, times: m.times ? [] : undefined };
      send({ type: 'expecting' });
    }
    if (m.type === 'stop') server.close(() => process.exit(0));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
}

// ---- children: everything started is registered here and stopped in `stopAll` ------------------

const stops: Array<() => Promise<void>> = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}

function stopper(proc: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((ok) => (proc.exitCode !== null || proc.signalCode !== null ? ok() : proc.once('exit', () => ok())));
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

interface Forked {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
  /** Resolves with the next message of `type` (rejects after `ms`). */
  next<T>(type: string, ms?: number): Promise<T>;
}

/** Forks a TypeScript file with an IPC channel; ready when it sends { type: 'ready' }. */
async function forkChild(file: string, args: string[], env: Record<string, string>, execArgv: string[] = []): Promise<Forked> {
  const proc = fork(join(ROOT, file), args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = stopper(proc);
  stops.push(stop);
  const exited = new Promise<never>((_, fail) => proc.once('exit', (code) => fail(new Error(`${file} exited (${code})`))));
  exited.catch(() => undefined);
  const next = <T>(type: string, ms = RUN_TIMEOUT_MS) => {
    let timer: NodeJS.Timeout | undefined;
    let onMessage: ((m: { type?: string }) => void) | undefined;
    const message = new Promise<T>((ok, fail) => {
      timer = setTimeout(() => fail(new Error(`${file}: no '${type}' message within ${ms} ms`)), ms);
      onMessage = (m) => {
        if (m.type === type) ok(m as T);
      };
      proc.on('message', onMessage);
    });
    return Promise.race([message, exited]).finally(() => {
      clearTimeout(timer);
      proc.off('message', onMessage!);
    });
  };
  const ready = await next<{ url?: string }>('ready', START_TIMEOUT_MS);
  return { proc, url: ready.url ?? '', stop, next };
}

interface Role {
  url: string;
  pid: number;
}

/** Spawns `node src/main.ts <role>`; ready at its 'redeliver started' log line. */
function startRole(role: string, env: Record<string, string>): Promise<Role> {
  const profile = PROFILE_DIR && role === 'dispatcher' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=dispatcher-${Date.now()}.cpuprofile`] : [];
  const proc = spawn(process.execPath, [...profile, MAIN, role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stops.push(stopper(proc));
  let output = '';
  proc.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-2000)));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${role} not ready: ${output}`)), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output = (output + line + '\n').slice(-2000);
      if (!line.includes('redeliver started')) return;
      clearTimeout(timer);
      ok({ url: (JSON.parse(line) as { url: string }).url, pid: proc.pid! });
    });
    proc.once('exit', (code) => fail(new Error(`${role} exited (${code}): ${output}`)));
  });
}

async function startRedis(): Promise<RedisServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'redeliver-bench-dispatch-'));
  const server = await startRedisServer({ dataDir, fsync: 'everysec' });
  stops.push(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return server;
}

// ---- CPU accounting --------------------------------------------------------------------------------

/** CPU seconds used so far by a process (Linux /proc; undefined elsewhere). */
function processCpu(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return undefined;
  const fields = readFileSync(file, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface RedisUsage {
  cpu: number;
  /** Commands run, those inside scripts included. */
  calls: number;
  /** Time spent running scripts. */
  usec: number;
  /** Per command (commands run inside scripts included): usec. */
  byCommand: Map<string, number>;
}

/** redis-server's CPU seconds and its command time (INFO cpu + commandstats). */
async function redisUsage(client: Redis): Promise<RedisUsage> {
  const info = await client.info('all');
  const get = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
  const byCommand = new Map<string, number>();
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    byCommand.set(m[1]!, Number(m[3]));
    // Every command counts, those a script runs included; a script's usec already include theirs.
    calls += Number(m[2]);
    if (/^(evalsha|eval|fcall)/.test(m[1]!)) usec += Number(m[3]);
  }
  return { cpu: get(/^used_cpu_user:([\d.]+)/m) + get(/^used_cpu_sys:([\d.]+)/m), calls, usec, byCommand };
}

interface Usage {
  /** CPU µs per delivery: the gateway process (dispatcher or peer), redis-server, the receiver. */
  gatewayUs: number | undefined;
  redisUs: number;
  receiverUs: number | undefined;
  /** Redis commands per delivery (inside scripts included) and script run time per delivery. */
  redisCalls: number;
  redisScriptUs: number;
  /** The costliest commands (inside scripts included): name, µs per delivery. */
  topCommands: Array<[string, number]>;
}

/** Redis' usage summed over several servers (a cluster's masters). */
async function summedUsage(clients: Redis[]): Promise<RedisUsage> {
  const all = await Promise.all(clients.map(redisUsage));
  const byCommand = new Map<string, number>();
  for (const u of all) for (const [c, us] of u.byCommand) byCommand.set(c, (byCommand.get(c) ?? 0) + us);
  return { cpu: all.reduce((n, u) => n + u.cpu, 0), calls: all.reduce((n, u) => n + u.calls, 0), usec: all.reduce((n, u) => n + u.usec, 0), byCommand };
}

async function usageOf<T>(pids: { gateway: number | undefined; receiver: number | undefined }, redisNow: () => Promise<RedisUsage>,
  deliveries: () => number, work: () => Promise<T>): Promise<[T, Usage]> {
  const g0 = processCpu(pids.gateway);
  const r0 = processCpu(pids.receiver);
  const s0 = await redisNow();
  const out = await work();
  const g1 = processCpu(pids.gateway);
  const r1 = processCpu(pids.receiver);
  const s1 = await redisNow();
  const n = Math.max(1, deliveries());
  const per = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : ((b - a) * 1e6) / n);
  return [out, {
    gatewayUs: per(g0, g1), redisUs: per(s0.cpu, s1.cpu)!, receiverUs: per(r0, r1),
    redisCalls: (s1.calls - s0.calls) / n, redisScriptUs: (s1.usec - s0.usec) / n,
    topCommands: [...s1.byCommand].map(([c, us]): [string, number] => [c, (us - (s0.byCommand.get(c) ?? 0)) / n])
      .filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]).slice(0, 8),
  }];
}

// ---- the receiver side of a run, and the 1/RTT reference ------------------------------------------

interface Done {
  total: number;
  count: number;
  duplicates: number;
  outOfOrder: number;
  first: number;
  last: number;
  times?: Array<number | null>;
}

/** Tells the receiver what to count; `done` resolves when it has all (wrapped: an async function would await it). */
async function expectReceipts(receiver: Forked, total: number, times: boolean): Promise<{ done: Promise<Done> }> {
  const ack = receiver.next('expecting');
  receiver.proc.send({ type: 'expect', total, times });
  await ack;
  const done = receiver.next<Done>('done');
  done.catch(() => undefined); // awaited by the caller; this only keeps an early failure from being unhandled
  return { done };
}

const deliveryHeaders = (id: string) => ({
  'content-type': 'application/json', 'user-agent': 'Redeliver/0.1', 'webhook-id': id, 'x-redeliver-delivery-id': id,
  'x-redeliver-attempt': '1', 'x-redeliver-resend-seq': '0', 'x-redeliver-event-type': 'bench.event',
});

/** Sequential POSTs with keep-alive: one request in flight, as for one ordered endpoint. */
async function measureRtt(url: string, path = '/rtt'): Promise<{ rate: number; rttUs: number; p50Us: number; p99Us: number }> {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 1 });
  const body = eventBody(0, 0, 0);
  const one = async () => {
    const res = await request(`${url}${path}`, { method: 'POST', body, headers: deliveryHeaders('rtt'), dispatcher: agent });
    await res.body.dump();
  };
  for (let i = 0; i < Math.min(1000, RTT_REQUESTS); i++) await one();
  const each: number[] = [];
  const start = hr();
  for (let i = 0; i < RTT_REQUESTS; i++) {
    const t = hr();
    await one();
    each.push(hr() - t);
  }
  const elapsed = hr() - start;
  await agent.close();
  each.sort((a, b) => a - b);
  return { rate: RTT_REQUESTS / (elapsed / 1e9), rttUs: elapsed / RTT_REQUESTS / 1000, p50Us: pct(each, 50) / 1000, p99Us: pct(each, 99) / 1000 };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---- Redeliver ---------------------------------------------------------------------------------

interface Stack {
  ingest: Role;
  dispatcher: Role;
  client: Redis | Cluster;
  registry: Registry;
  /** Redis' usage so far (summed over the masters on a cluster). */
  usage: () => Promise<RedisUsage>;
}

/** Where Redeliver's data goes: one redis-server, or (BENCH_CLUSTER=1) a cluster of 3 masters + 3 replicas. */
interface RedeliverRedis {
  env: Record<string, string>;
  client: Redis | Cluster;
  usage: () => Promise<RedisUsage>;
}

async function redeliverRedis(): Promise<RedeliverRedis> {
  if (!CLUSTER) {
    const server = await startRedis();
    const client = new Redis(server.url);
    stops.push(async () => void (await client.quit()));
    return { env: { REDELIVER_REDIS_URL: server.url }, client, usage: () => redisUsage(client) };
  }
  const cluster = await startTestCluster({ fsync: 'everysec' });
  stops.push(() => cluster.stop());
  const client = new Cluster(cluster.seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));
  const masters = (await cluster.masters()).map((port) => new Redis(port, '127.0.0.1'));
  stops.push(async () => {
    await client.quit();
    await Promise.all(masters.map((m) => m.quit()));
  });
  return { env: { REDELIVER_REDIS_CLUSTER_NODES: cluster.seeds.join(',') }, client, usage: () => summedUsage(masters) };
}

async function startRedeliver(redis: RedeliverRedis): Promise<Stack> {
  const env = async () => ({
    ...redis.env, REDELIVER_REDIS_PREFIX: PREFIX, REDELIVER_SECRET_KEY: SECRET_KEY, REDELIVER_HOST: '127.0.0.1',
    REDELIVER_PORT: String(await freePort()), REDELIVER_LOG_LEVEL: 'info', REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8',
  });
  const ingest = await startRole('ingest', await env());
  const dispatcher = await startRole('dispatcher', await env());
  const { client, usage } = redis;
  return { ingest, dispatcher, client, usage, registry: createRegistry(client, createKeys(PREFIX), Buffer.from(SECRET_KEY, 'base64')) };
}

function strictEndpoint(name: string, url: string, paused: boolean): ResolvedEndpoint {
  const resource = {
    apiVersion: 'redeliver.io/v1alpha1',
    kind: 'WebhookEndpoint',
    metadata: { namespace: 'bench', name },
    spec: { source: { provider: 'none' }, destination: { url, timeoutSeconds: 30 }, ordering: { mode: 'strict' }, paused },
  };
  const problems = createValidator('webhookendpoints.yaml', 'WebhookEndpoint').validate(resource);
  if (problems.length > 0) throw new Error(`bench endpoint: ${JSON.stringify(problems)}`);
  return resolveEndpoint(resource as unknown as EndpointResource, () => undefined);
}

/** Registers the endpoints and waits until the dispatcher holds each one's lease. */
async function addEndpoints(s: Stack, names: string[], url: string, paused: boolean): Promise<ResolvedEndpoint[]> {
  const eps = names.map((n) => strictEndpoint(n, url, paused));
  for (const ep of eps) await s.registry.put(ep);
  const keys = createKeys(PREFIX);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await Promise.all(eps.map((ep) => s.client.exists(keys.endpoint(ep.id).lease(0))))).some((x) => x === 0)) {
    if (Date.now() > deadline) throw new Error('the dispatcher did not take the bench endpoints');
    await sleep(50);
  }
  return eps;
}

const ingestAgent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });

/** POSTs one event; retries a 404 (the ingest's registry cache has not seen the endpoint yet). */
async function ingestOne(s: Stack, ep: ResolvedEndpoint, body: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    const res = await request(`${s.ingest.url}/in/${ep.id}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: ingestAgent });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return;
    if (res.statusCode !== 404 || tries > 100) throw new Error(`ingest answered ${res.statusCode}`);
    await sleep(20);
  }
}

/** Each endpoint's events one after the other (so the ingest stores them in sequence order). */
async function prefill(perEndpoint: number, count: number, post: (e: number, s: number, i: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, async (_, e) => {
    for (let s = 0; s < perEndpoint; s++) await post(e, s, s * count + e);
  }));
}

interface Throughput {
  label: string;
  endpoints: number;
  events: number;
  rate: number;
  done: Done;
  usage: Usage;
}

/** `slow`: to the receiver path that takes SLOW_MS per request. */
async function redeliverThroughput(s: Stack, receiver: Forked, endpoints: number, perEndpoint: number, slow = false): Promise<Throughput> {
  const label = `${RD}, ${endpoints} endpoint${endpoints > 1 ? 's' : ''}${slow ? `, receiver ${SLOW_MS} ms` : ''}`;
  process.stderr.write(`  ${label}: pre-filling ${endpoints * perEndpoint} events (paused)…\n`);
  const tag = slow ? 'slow' : 't';
  const eps = await addEndpoints(s, Array.from({ length: endpoints }, (_, i) => `${tag}${endpoints}-${i}`), receiver.url + (slow ? '/slow' : ''), true);
  await prefill(perEndpoint, endpoints, (e, seq, i) => ingestOne(s, eps[e]!, eventBody(e, seq, i)));
  const total = endpoints * perEndpoint;
  const { done } = await expectReceipts(receiver, total, false);
  process.stderr.write(`  ${label}: resumed, delivering…\n`);
  const [result, usage] = await usageOf({ gateway: s.dispatcher.pid, receiver: receiver.proc.pid }, s.usage, () => total, async () => {
    const t0 = hr();
    // Resumed through the resource (spec.paused), as `kubectl apply` would do it.
    await Promise.all(eps.map((ep) => s.registry.put({ ...ep, spec: { ...ep.spec, paused: false }, updatedAt: new Date().toISOString() })));
    const d = await done;
    return { d, t0 };
  });
  return { label, endpoints, events: total, rate: total / ((result.d.last - result.t0) / 1e9), done: result.d, usage };
}

interface Latency {
  label: string;
  rate: number;
  sent: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  done: Done;
}

/** Sends `total` events at `rate`/s open-loop (each at its due time, whatever the answers). */
async function paced(rate: number, total: number, send: (i: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait >= 1) await sleep(wait);
    const p: Promise<void> = send(i).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
}

async function latencyRun(label: string, receiver: Forked, rate: number, endpoints: number,
  send: (e: number, s: number, i: number) => Promise<void>): Promise<Latency> {
  const total = Math.max(endpoints, Math.round(rate * LATENCY_SECONDS));
  process.stderr.write(`  ${label}: ${total} events at ${rate.toFixed(0)}/s…\n`);
  const { done } = await expectReceipts(receiver, total, true);
  const acked: number[] = [];
  const seqs = new Map<number, number>();
  await paced(rate, total, async (i) => {
    const e = i % endpoints;
    const seq = seqs.get(e) ?? 0;
    seqs.set(e, seq + 1);
    await send(e, seq, i);
    acked[i] = hr();
  });
  const d = await done;
  const lat = acked.map((a, i) => (d.times?.[i] ?? NaN) - a).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return { label, rate, sent: total, p50Ms: pct(lat, 50) / 1e6, p99Ms: pct(lat, 99) / 1e6, maxMs: (lat.at(-1) ?? NaN) / 1e6, done: d };
}

// ---- the BullMQ peer -------------------------------------------------------------------------------

interface Peer {
  redis: RedisServer;
  client: Redis;
}

function queueName(tag: string, e: number) {
  return `bench-${tag}-${e}`;
}

async function startPeer(peer: Peer, receiver: Forked, queues: string[], autorun: boolean, slow = false): Promise<Forked> {
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=bullmq-peer-${Date.now()}.cpuprofile`] : [];
  return forkChild('bench/bullmq-peer.ts', [], {
    REDIS_URL: peer.redis.url, TARGET_URL: `${receiver.url}/peer${slow ? '/slow' : ''}`, QUEUES: queues.join(','), AUTORUN: autorun ? '1' : '0',
  }, profile);
}

function openQueues(peer: Peer, names: string[]): Queue[] {
  const { hostname, port } = new URL(peer.redis.url);
  return names.map((n) => new Queue(n, { connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null } }));
}

async function peerThroughput(peer: Peer, receiver: Forked, endpoints: number, perEndpoint: number, slow = false): Promise<Throughput> {
  const label = `BullMQ peer, ${endpoints} endpoint${endpoints > 1 ? 's' : ''}${slow ? `, receiver ${SLOW_MS} ms` : ''}`;
  process.stderr.write(`  ${label}: pre-filling ${endpoints * perEndpoint} jobs…\n`);
  const names = Array.from({ length: endpoints }, (_, e) => queueName(`${slow ? 'slow' : 't'}${endpoints}`, e));
  const queues = openQueues(peer, names);
  await Promise.all(queues.map(async (q, e) => {
    for (let from = 0; from < perEndpoint; from += 1000) {
      const jobs = Array.from({ length: Math.min(1000, perEndpoint - from) }, (_, k) => {
        const seq = from + k;
        return { name: 'event', data: { id: `${e}-${seq}`, body: eventBody(e, seq, seq * endpoints + e) } };
      });
      await q.addBulk(jobs);
    }
  }));
  const total = endpoints * perEndpoint;
  const child = await startPeer(peer, receiver, names, false, slow);
  const { done } = await expectReceipts(receiver, total, false);
  process.stderr.write(`  ${label}: workers started, delivering…\n`);
  const [result, usage] = await usageOf({ gateway: child.proc.pid, receiver: receiver.proc.pid }, () => redisUsage(peer.client), () => total, async () => {
    const t0 = hr();
    child.proc.send({ type: 'run' });
    const d = await done;
    return { d, t0 };
  });
  await child.stop();
  await Promise.all(queues.map((q) => q.close()));
  return { label, endpoints, events: total, rate: total / ((result.d.last - result.t0) / 1e9), done: result.d, usage };
}

async function peerLatency(peer: Peer, receiver: Forked, rate: number, endpoints: number): Promise<Latency> {
  const names = Array.from({ length: endpoints }, (_, e) => queueName(`l${endpoints}`, e));
  const queues = openQueues(peer, names);
  const child = await startPeer(peer, receiver, names, true);
  const out = await latencyRun(`BullMQ peer latency, ${endpoints} endpoint(s)`, receiver, rate, endpoints, async (e, seq, i) => {
    await queues[e]!.add('event', { id: `${e}-${seq}`, body: eventBody(e, seq, i) });
  });
  await child.stop();
  await Promise.all(queues.map((q) => q.close()));
  return out;
}

// ---- report ------------------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function verdict(ok: boolean) {
  return ok ? 'MET' : 'NOT MET';
}

interface Results {
  rtt: Awaited<ReturnType<typeof measureRtt>>;
  rd1: Throughput;
  rdN: Throughput;
  bq1: Throughput;
  bqN: Throughput;
  lat1: Latency;
  latN: Latency;
  bqLat1: Latency;
  /** The receiver taking SLOW_MS per request. */
  slowRtt: Awaited<ReturnType<typeof measureRtt>>;
  rdSlow: Throughput;
  bqSlow: Throughput;
}

function report(r: Results): void {
  const invalid = [r.rd1, r.rdN, r.bq1, r.bqN, r.rdSlow, r.bqSlow].filter((t) => t.done.outOfOrder > 0 || t.done.duplicates > 0);
  const summary = [
    ['1/RTT (sequential keep-alive POSTs, undici)', `${fmt(r.rtt.rate)} req/s`, `RTT ${fmt(r.rtt.rttUs)} µs (p50 ${fmt(r.rtt.p50Us)}, p99 ${fmt(r.rtt.p99Us)})`, '', '', ''],
    [`${RD} ordered, 1 endpoint (strict)`, `${fmt(r.rd1.rate)} ev/s`, `1/RTT ${fmt(r.rtt.rate)}`, `${fmt((100 * r.rd1.rate) / r.rtt.rate, 1)} %`,
      `≥ ${TARGET_RTT_PERCENT} %`, verdict((100 * r.rd1.rate) / r.rtt.rate >= TARGET_RTT_PERCENT)],
    [`${RD} ordered, 1 endpoint (strict)`, `${fmt(r.rd1.rate)} ev/s`, `BullMQ ${fmt(r.bq1.rate)}`, `${fmt(r.rd1.rate / r.bq1.rate, 2)}×`,
      `≥ ${TARGET_PEER_RATIO}×`, verdict(r.rd1.rate / r.bq1.rate >= TARGET_PEER_RATIO)],
    [`${RD} ordered, ${r.rdN.endpoints} endpoints (strict)`, `${fmt(r.rdN.rate)} ev/s`, `BullMQ ${fmt(r.bqN.rate)}`, `${fmt(r.rdN.rate / r.bqN.rate, 2)}×`,
      `≥ ${TARGET_PEER_RATIO}×`, verdict(r.rdN.rate / r.bqN.rate >= TARGET_PEER_RATIO)],
    ...[r.lat1, r.latN].map((l) => [`${l.label} at ${fmt(l.rate)}/s`, `p99 ${fmt(l.p99Ms, 2)} ms`, `p50 ${fmt(l.p50Ms, 2)}, max ${fmt(l.maxMs, 1)} ms`, '',
      `p99 < ${TARGET_P99_MS} ms`, verdict(l.p99Ms < TARGET_P99_MS)]),
    [`${r.bqLat1.label} at ${fmt(r.bqLat1.rate)}/s (queue.add → receipt)`, `p99 ${fmt(r.bqLat1.p99Ms, 2)} ms`,
      `p50 ${fmt(r.bqLat1.p50Ms, 2)}, max ${fmt(r.bqLat1.maxMs, 1)} ms`, '', '(reference)', ''],
    [`1/RTT, receiver taking ${SLOW_MS} ms`, `${fmt(r.slowRtt.rate)} req/s`, `RTT ${fmt(r.slowRtt.rttUs)} µs (p50 ${fmt(r.slowRtt.p50Us)}, p99 ${fmt(r.slowRtt.p99Us)})`, '', '', ''],
    [`${RD} ordered, 1 endpoint, receiver ${SLOW_MS} ms`, `${fmt(r.rdSlow.rate)} ev/s`, `1/RTT ${fmt(r.slowRtt.rate)}`, `${fmt((100 * r.rdSlow.rate) / r.slowRtt.rate, 1)} %`,
      `≥ ${TARGET_SLOW_RTT_PERCENT} %`, verdict((100 * r.rdSlow.rate) / r.slowRtt.rate >= TARGET_SLOW_RTT_PERCENT)],
    [`${RD} ordered, 1 endpoint, receiver ${SLOW_MS} ms`, `${fmt(r.rdSlow.rate)} ev/s`, `BullMQ ${fmt(r.bqSlow.rate)}`, `${fmt(r.rdSlow.rate / r.bqSlow.rate, 2)}×`,
      '(beside it)', ''],
  ];
  console.log('\n' + table(['measure', 'result', 'reference', 'ratio', 'target', 'verdict'], summary));
  const cost = [r.rd1, r.rdN, r.bq1, r.bqN, r.rdSlow, r.bqSlow].map((t) => [t.label, fmt(t.events), fmt(t.rate), fmt(1e6 / t.rate), fmt(t.usage.gatewayUs), fmt(t.usage.redisUs),
    fmt(t.usage.redisScriptUs, 1), fmt(t.usage.redisCalls, 1), fmt(t.usage.receiverUs)]);
  console.log('\nWhere the time goes (per delivered event; CPU µs from /proc and INFO cpu, script time and commands from INFO commandstats):\n' +
    table(['run', 'events', 'ev/s', 'wall µs/ev', 'gateway CPU µs', 'redis CPU µs', 'script µs', 'redis cmds', 'receiver CPU µs'], cost));
  for (const t of [r.rd1, r.bq1]) {
    console.log(`Redis time by command, ${t.label} (µs per event): ${t.usage.topCommands.map(([c, us]) => `${c} ${fmt(us, 1)}`).join(', ')}`);
  }
  for (const t of invalid) console.log(`INVALID: ${t.label}: ${t.done.outOfOrder} out of order, ${t.done.duplicates} duplicates at the receiver`);
  if (PROFILE_DIR) console.log(`CPU profiles (open in Chrome DevTools or speedscope): ${PROFILE_DIR}`);
}

/** BENCH_LATENCY_RATES: only Redeliver's latency for one endpoint at each given rate (where queueing starts). */
async function latencyCurve(stack: Stack, receiver: Forked): Promise<void> {
  await redeliverThroughput(stack, receiver, 1, 5000); // warm-up
  const rows: string[][] = [];
  for (const rate of LATENCY_RATES) {
    const [ep] = await addEndpoints(stack, [`curve-${rate}`], receiver.url, false);
    const r = await latencyRun(`${RD} latency, 1 endpoint`, receiver, rate, 1, (_e, s, i) => ingestOne(stack, ep!, eventBody(0, s, i)));
    rows.push([fmt(rate), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), fmt(r.maxMs, 1)]);
  }
  console.log('\n' + table(['events/s', 'p50 ms', 'p99 ms', 'max ms'], rows));
}

async function main() {
  console.log(`dispatch bench: ${N1} events to 1 endpoint, ${ENDPOINTS}×${N_PER_ENDPOINT} to ${ENDPOINTS} endpoints, ${BODY_BYTES} B bodies, ` +
    `latency runs ${LATENCY_SECONDS} s; node ${process.version}, ${availableParallelism()} CPUs shared by receiver, gateway and redis-server`);
  const load = loadavg()[0]!;
  if (load > availableParallelism() / 2) console.log(`WARNING: load average ${load.toFixed(1)} before the start: other work shares the CPUs, figures will be low and noisy`);
  const receiver = await forkChild('bench/dispatch.ts', ['--receiver'], {});
  process.stderr.write('  1/RTT: sequential POSTs…\n');
  const rtt = await measureRtt(receiver.url);

  const stack = await startRedeliver(await redeliverRedis());
  if (LATENCY_RATES.length > 0) return latencyCurve(stack, receiver);
  const rd1 = await redeliverThroughput(stack, receiver, 1, N1);
  const rdN = await redeliverThroughput(stack, receiver, ENDPOINTS, N_PER_ENDPOINT);
  const latEps = async (n: number) => addEndpoints(stack, Array.from({ length: n }, (_, i) => `l${n}-${i}`), receiver.url, false);
  const l1 = await latEps(1);
  const lat1 = await latencyRun(`${RD} latency, 1 endpoint`, receiver, rd1.rate / 2, 1, (e, s, i) => ingestOne(stack, l1[e]!, eventBody(e, s, i)));
  const lN = await latEps(ENDPOINTS);
  const latN = await latencyRun(`${RD} latency, ${ENDPOINTS} endpoints`, receiver, rdN.rate / 2, ENDPOINTS,
    (e, s, i) => ingestOne(stack, lN[e]!, eventBody(e, s, i)));

  const peerRedis = await startRedis();
  const peerClient = new Redis(peerRedis.url);
  stops.push(async () => void (await peerClient.quit()));
  const peer = { redis: peerRedis, client: peerClient };
  const bq1 = await peerThroughput(peer, receiver, 1, N1);
  const bqN = await peerThroughput(peer, receiver, ENDPOINTS, N_PER_ENDPOINT);
  const bqLat1 = await peerLatency(peer, receiver, rd1.rate / 2, 1);
  process.stderr.write(`  1/RTT, receiver taking ${SLOW_MS} ms…\n`);
  const slowRtt = await measureRtt(receiver.url, '/rtt/slow');
  const rdSlow = await redeliverThroughput(stack, receiver, 1, N_SLOW, true);
  const bqSlow = await peerThroughput(peer, receiver, 1, N_SLOW, true);
  await ingestAgent.close();
  report({ rtt, rd1, rdN, bq1, bqN, lat1, latN, bqLat1, slowRtt, rdSlow, bqSlow });
}

if (process.argv.includes('--receiver')) {
  runReceiver();
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  main()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => stopAll());
}
