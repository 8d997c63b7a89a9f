// Management API latency at scale and replay throughput: `npm run bench:api` (node bench/api.ts).
//
// 1. Seeds BENCH_DELIVERIES (1,000,000) delivered events over 4 endpoints straight into a fresh
//    redis-server, with pipelined writes in exactly the layout of store/lua/ingest.lua (event
//    stream entry, event index, delivery hash, latest-delivery, delivery log, stats); 1 % FAILED.
// 2. Starts the real API process (`node src/main.ts api`) and measures sequential latency (p50,
//    p99) of the list and get routes: first pages, deep pages by cursor, a 1 %-selective status
//    filter, one delivery / one event by id, an endpoint's health.
// 3. Replay throughput against the dispatcher's own ordered rate, on a strict (1 partition) and a
//    key-ordered (8 partitions) endpoint of BENCH_REPLAY_EVENTS (20,000) events each: first the
//    dispatcher (`node src/main.ts dispatcher`) drains them as live deliveries to a local
//    receiver (the ordered rate), then the API replays all of them (enqueue rate, and end to end
//    until the replay is Succeeded).
// Everything the script starts is stopped before it exits, on Ctrl-C too.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { createApiClient, type ApiClient } from '../src/api/client.ts';
import type { EndpointResource, ResolvedEndpoint } from '../src/domain/endpoint.ts';
import { resolveEndpoint } from '../src/domain/resolve.ts';
import { createValidator } from '../src/k8s/schema.ts';
import { startRedisServer, type RedisServer } from '../src/lib/redis-server.ts';
import { createKeys, type Keys } from '../src/store/keys.ts';
import { createRedis, type RedisClient } from '../src/store/redis.ts';
import { createRegistry } from '../src/store/registry.ts';
import { firstScreens } from './dashboard-timing.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 1_000_000);
const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 20_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const PREFIX = 'bench';
const SECRET_KEY = Buffer.alloc(32, 5).toString('base64');
const API_KEY = 'bench-operator-key-8e2a4c6b0d1f3957';
const LIST_ENDPOINTS = ['bench/a', 'bench/b', 'bench/c', 'bench/d'];

const stops: Array<() => Promise<void>> = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAll().finally(() => process.exit(130)));

function node(role: string, env: Record<string, string>): Promise<string> {
  const proc = spawn(process.execPath, [join(ROOT, 'src/main.ts'), role], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  stops.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  });
  let output = '';
  proc.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-2000)));
  return new Promise((ok, fail) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output = (output + line + '\n').slice(-2000);
      try {
        const e = JSON.parse(line) as { msg?: string; url?: string };
        if (e.msg === 'redeliver started' && e.url) ok(e.url);
      } catch {
        // not a log line
      }
    });
    void exited.then(() => fail(new Error(`${role} exited: ${output}`)));
  });
}

function resolved(id: string, spec: Record<string, unknown>): ResolvedEndpoint {
  const [namespace, name] = id.split('/');
  const res = { apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', metadata: { namespace, name }, spec };
  const problems = createValidator('webhookendpoints.yaml', 'WebhookEndpoint').validate(res);
  if (problems.length) throw new Error(JSON.stringify(problems));
  return resolveEndpoint(res as unknown as EndpointResource, () => undefined);
}

/*
 * Bench-only seeding script: writes events and their deliveries in ingest.lua's layout (event
 * stream entry, event index, delivery hash, latest delivery, delivery log; a queue entry for live
 * ones), server-side, so a million rows do not cost a million client round trips.
 * KEYS: none (keys are built from ARGV[1], the endpoint's key base, like lib-head.lua does)
 * ARGV[1] key base  ARGV[2] endpoint id  ARGV[3] first index  ARGV[4] start ms  ARGV[5] '1' = live
 * ARGV[6] partitions  ARGV[7] body  ARGV[8..] triples: event id, delivery id, received at (ISO)
 */
const SEED_LUA = `
local base, ep, first, start_ms, live, parts, body = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local n = 0
for j = 8, #ARGV, 3 do
  local i = first + n
  local ms = start_ms + i
  local sid = ms .. '-0'
  local ev, d, at = ARGV[j], ARGV[j + 1], ARGV[j + 2]
  local t = 'type.' .. (i % 20)
  local p = i % parts
  redis.call('XADD', base .. 'events', sid, 'id', ev, 'type', t, 'pid', '', 'at', at, 'h', '{"content-type":"application/json"}', 'b', (string.gsub(body, 'obj_1', 'k' .. p)))
  redis.call('HSET', base .. 'eventidx', ev, sid)
  local failed = (not live) and (i % 100 == 7)
  local status = live and 'PENDING' or (failed and 'FAILED' or 'DELIVERED')
  redis.call('HSET', base .. 'd:' .. d, 'id', d, 'endpoint_id', ep, 'event_id', ev, 'event_type', t, 'event_sid', sid, 'max_attempts', 8,
    'resend_seq', 0, 'partition', p, 'ordering_key', parts > 1 and ('k' .. p) or '', 'created_at', at, 'updated_at', at, 'status', status,
    'attempts', live and 0 or 1)
  if live then
    redis.call('HSET', base .. 'd:' .. d, 'next_attempt_at', at)
    redis.call('XADD', base .. 'q:' .. p, sid, 'd', d)
  else
    redis.call('HSET', base .. 'd:' .. d, 'last_attempt_at', at, 'last_response_status', failed and 503 or 200,
      'last_failure_reason', failed and 'consumer_5xx' or '')
    if not failed then redis.call('HSET', base .. 'd:' .. d, 'delivered_at', at) end
  end
  redis.call('HSET', base .. 'latest', ev, d)
  redis.call('XADD', base .. 'dlog', sid, 'd', d)
  n = n + 1
end
redis.call('HINCRBY', base .. 'stats', 'ingested', n)
return n`;

/** Writes `n` events of an endpoint (one per ms, ending now); `live` ones are queued PENDING. */
async function seed(redis: RedisClient, keys: Keys, ep: ResolvedEndpoint, n: number, opts: { live: boolean; partitions: number }): Promise<void> {
  const k = keys.endpoint(ep.id);
  const body = JSON.stringify({ object: 'event', data: { id: 'obj_1', amount: 4200, currency: 'eur', padding: 'x'.repeat(120) } });
  const startMs = Date.now() - n - 1000;
  const BATCH = 1000;
  const calls: Array<Promise<unknown>> = [];
  for (let done = 0; done < n; done += BATCH) {
    const ids: string[] = [];
    for (let i = done; i < Math.min(n, done + BATCH); i++) ids.push(uuidv7(), uuidv7(), new Date(startMs + i).toISOString());
    calls.push(redis.eval(SEED_LUA, 0, k.base, ep.id, done, startMs, opts.live ? '1' : '0', opts.partitions, body, ...ids));
    if (calls.length >= 8) await Promise.all(calls.splice(0));
    if ((done + BATCH) % 100_000 === 0) process.stderr.write(`  seeded ${done + BATCH} / ${n} of ${ep.id}\n`);
  }
  await Promise.all(calls);
}

// ---- measuring ------------------------------------------------------------------------------------

interface Row {
  what: string;
  p50: number;
  p99: number;
  mean: number;
  note: string;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** Runs `call` sequentially SAMPLES times (after a short warm-up) and reports latency in ms. */
async function latency(what: string, call: (i: number) => Promise<string | void>): Promise<Row> {
  for (let i = 0; i < 10; i++) await call(i);
  const times: number[] = [];
  let note = '';
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    note = (await call(i)) || note;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const row = { what, p50: pct(times, 50), p99: pct(times, 99), mean: times.reduce((a, b) => a + b, 0) / times.length, note };
  process.stderr.write(`  ${what}: p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms\n`);
  return row;
}

async function ok<T = Record<string, unknown>>(api: ApiClient, path: string): Promise<T> {
  const res = await api.get<T>(path);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

type Page = { items: Array<{ id: string }>; next_cursor: string | null };

async function listLatency(redis: RedisClient, keys: Keys, api: ApiClient): Promise<Row[]> {
  const ep = LIST_ENDPOINTS[0]!;
  // Random ids to fetch: spread over the whole log.
  const log = await redis.xrange(keys.endpoint(ep).deliveryLog, '-', '+', 'COUNT', 1);
  const firstMs = Number(log[0]![0].split('-')[0]);
  const sample = async () => {
    const at = firstMs + Math.floor(Math.random() * (DELIVERIES / LIST_ENDPOINTS.length));
    const [entry] = await redis.xrange(keys.endpoint(ep).deliveryLog, `${at}-0`, '+', 'COUNT', 1);
    return entry![1][1]!;
  };
  const ids = await Promise.all(Array.from({ length: SAMPLES + 10 }, sample));
  const events = await Promise.all(ids.map((id) => redis.hget(keys.endpoint(ep).delivery(id), 'event_id')));
  const deep: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 20; i++) {
    const page: Page = await ok<Page>(api, `/api/v1/deliveries?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    cursor = page.next_cursor;
    if (cursor) deep.push(cursor);
  }
  const rows = [
    await latency('GET /deliveries (all endpoints, first page of 50)', async () => void (await ok(api, '/api/v1/deliveries?limit=50'))),
    await latency(`GET /deliveries?endpoint= (first page of 50)`, async () => void (await ok(api, `/api/v1/deliveries?endpoint=${ep}&limit=50`))),
    await latency('GET /deliveries (all endpoints, page 2–20 by cursor)', async (i) => void (await ok(api, `/api/v1/deliveries?limit=50&cursor=${deep[i % deep.length]}`))),
    await latency('GET /deliveries?endpoint=&status=FAILED (1 % match)', async () => {
      const page = await ok<Page>(api, `/api/v1/deliveries?endpoint=${ep}&status=FAILED&limit=50`);
      return `${page.items.length} rows per page (scan budget 5000 entries)`;
    }),
    await latency('GET /deliveries?event_id=', async (i) => void (await ok(api, `/api/v1/deliveries?event_id=${events[i]}`))),
    await latency('GET /deliveries/{id}', async (i) => void (await ok(api, `/api/v1/deliveries/${ids[i]}`))),
    await latency('GET /events/{id}', async (i) => void (await ok(api, `/api/v1/events/${events[i]}`))),
    await latency('GET /events?endpoint= (first page of 50)', async () => void (await ok(api, `/api/v1/events?endpoint=${ep}&limit=50`))),
    await latency('GET /endpoints/{ns}/{name} (live health)', async () => void (await ok(api, `/api/v1/endpoints/${ep}`))),
    await latency('GET /lookup/{id} (a delivery id, the search box)', async (i) => void (await ok(api, `/api/v1/lookup/${ids[i]}`))),
  ];
  // The bulk-recovery count scans the whole endpoint: a few samples only.
  const counts: number[] = [];
  let matched = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const res = await api.post<{ matched: number }>('/api/v1/replays/preview', { endpoint: ep, selector: { statuses: ['FAILED'] } });
    counts.push(performance.now() - t);
    matched = res.json.matched;
  }
  counts.sort((a, b) => a - b);
  process.stderr.write(`  POST /replays/preview over ${DELIVERIES / LIST_ENDPOINTS.length} events: ${counts.map((c) => c.toFixed(0)).join(', ')} ms (${matched} matched)\n`);
  rows.push({ what: `POST /replays/preview (count FAILED of ${DELIVERIES / LIST_ENDPOINTS.length} events)`, p50: counts[1]!, p99: counts[2]!,
    mean: counts.reduce((a, b) => a + b, 0) / 3, note: `${matched} matched; 3 samples` });
  return rows;
}

// ---- replay throughput ------------------------------------------------------------------------------

async function startReceiver(): Promise<{ url: string; count: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.end('ok');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  stops.push(() => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, count: () => n };
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: timed out`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface ReplayRow {
  endpoint: string;
  partitions: number;
  orderedRate: number;
  enqueueRate: number;
  replayRate: number;
}

async function replayThroughput(api: ApiClient, receiver: { count: () => number }, epId: string, partitions: number): Promise<ReplayRow> {
  const base = receiver.count();
  const t0 = performance.now();
  const resumed = await api.post(`/api/v1/endpoints/${epId}/resume`);
  if (resumed.status !== 200) throw new Error(JSON.stringify(resumed.json));
  await until(() => receiver.count() - base >= REPLAY_EVENTS, `live drain of ${epId}`);
  const orderedRate = REPLAY_EVENTS / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  const created = await api.post<{ id: string }>('/api/v1/replays', { endpoint: epId });
  if (created.status !== 201) throw new Error(JSON.stringify(created.json));
  let enqueuedAt = 0;
  await until(async () => {
    const r = (await api.get<{ phase: string; enqueue_done: boolean }>(`/api/v1/replays/${created.json.id}`)).json;
    if (r.enqueue_done && !enqueuedAt) enqueuedAt = performance.now();
    return r.phase !== 'Running';
  }, `replay of ${epId}`);
  const total = (performance.now() - t1) / 1000;
  return { endpoint: epId, partitions, orderedRate, enqueueRate: REPLAY_EVENTS / ((enqueuedAt - t1) / 1000), replayRate: REPLAY_EVENTS / total };
}

// ---- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'redeliver-bench-api-'));
  const server: RedisServer = await startRedisServer({ dataDir, fsync: 'everysec' });
  stops.push(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const redis = createRedis(server.url);
  stops.push(async () => void (await redis.quit()));
  const keys = createKeys(PREFIX);
  const registry = createRegistry(redis, keys, Buffer.from(SECRET_KEY, 'base64'));
  const receiver = await startReceiver();
  const dest = { destination: { url: receiver.url }, source: { provider: 'none' } };
  // Paused by the operator until measured (the API's resume lifts that, not a spec's paused), so
  // each drains alone once the dispatcher runs.
  const strict = resolved('bench/replay-strict', { ...dest, ordering: { mode: 'strict' } });
  const keyed = resolved('bench/replay-key', { ...dest, ordering: { mode: 'key', key: '/data/id', partitions: 8 } });
  for (const id of LIST_ENDPOINTS) await registry.put(resolved(id, { ...dest, paused: true }));

  const seeded = performance.now();
  for (const id of LIST_ENDPOINTS) await seed(redis, keys, resolved(id, dest), DELIVERIES / LIST_ENDPOINTS.length, { live: false, partitions: 1 });
  const seedSeconds = (performance.now() - seeded) / 1000;
  const memory = /used_memory_human:(\S+)/.exec(await redis.info('memory'))?.[1];
  process.stderr.write(`seeded ${DELIVERIES} deliveries in ${seedSeconds.toFixed(1)} s (${memory} in Redis)\n`);

  const env = { REDIS_URL: server.url, REDELIVER_REDIS_PREFIX: PREFIX, REDELIVER_SECRET_KEY: SECRET_KEY, REDELIVER_API_KEYS: `operator:${API_KEY}`,
    REDELIVER_PORT: '0', REDELIVER_HOST: '127.0.0.1', REDELIVER_LOG_LEVEL: 'warn', REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8' };
  const apiUrl = await node('api', { ...env, REDELIVER_LOG_LEVEL: 'info' });
  const api = createApiClient({ url: apiUrl, key: API_KEY });
  const rows = await listLatency(redis, keys, api);
  const screens = await firstScreens(apiUrl, API_KEY);
  for (const r of screens) process.stderr.write(`  dashboard ${r.page}: median ${r.p50.toFixed(0)} ms, worst ${r.max.toFixed(0)} ms\n`);

  // Replay: the live events are queued while the endpoint is paused; its drain time once resumed is the ordered rate.
  for (const ep of [strict, keyed]) {
    await registry.put(ep);
    await registry.setPaused(ep.id, true);
    await seed(redis, keys, ep, REPLAY_EVENTS, { live: true, partitions: ep.spec.ordering.mode === 'key' ? 8 : 1 });
  }
  await node('dispatcher', { ...env, REDELIVER_LOG_LEVEL: 'info' });
  const replays = [await replayThroughput(api, receiver, strict.id, 1), await replayThroughput(api, receiver, keyed.id, 8)];

  console.log(`\nManagement API at ${DELIVERIES.toLocaleString('en')} stored deliveries (${LIST_ENDPOINTS.length} endpoints; seeded in ${seedSeconds.toFixed(1)} s, Redis ${memory}), ${SAMPLES} sequential requests each:\n`);
  console.log(['route'.padEnd(56), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'mean ms'.padStart(8), '  note'].join(''));
  for (const r of rows) console.log([r.what.padEnd(56), r.p50.toFixed(2).padStart(8), r.p99.toFixed(2).padStart(8), r.mean.toFixed(2).padStart(8), `  ${r.note}`].join(''));
  if (screens.length > 0) {
    console.log(`\nDashboard first screen in Chromium (fresh page load to the table on screen), ${DELIVERIES.toLocaleString('en')} stored deliveries:\n`);
    for (const r of screens) console.log([r.page.padEnd(30), `median ${r.p50.toFixed(0)} ms`.padStart(16), `worst ${r.max.toFixed(0)} ms`.padStart(16)].join(''));
  }
  console.log(`\nReplay of ${REPLAY_EVENTS.toLocaleString('en')} events vs the dispatcher's ordered rate (live deliveries of the same events):\n`);
  console.log(['endpoint'.padEnd(22), 'partitions'.padStart(11), 'ordered ev/s'.padStart(14), 'enqueue ev/s'.padStart(14), 'replay ev/s'.padStart(13), '  replay / ordered'].join(''));
  for (const r of replays) {
    console.log([r.endpoint.padEnd(22), String(r.partitions).padStart(11), r.orderedRate.toFixed(0).padStart(14), r.enqueueRate.toFixed(0).padStart(14),
      r.replayRate.toFixed(0).padStart(13), `  ${((100 * r.replayRate) / r.orderedRate).toFixed(0)} %`].join(''));
  }
}

main().then(stopAll, async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
});
