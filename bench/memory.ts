// Redis memory per stored event: `npm run bench:memory` (node bench/memory.ts).
//
// N Stripe-like webhooks (a 1 KB `event` JSON body, signed with the stripe library's own test
// header, and the headers Stripe sends) go through the real ingest (HTTP) and are delivered by the
// real dispatcher to a receiver answering 200, so every event has what it keeps while retained:
// the event, its delivery record, one attempt, its dedupe key and index entries. Then every key
// under the prefix is measured with MEMORY USAGE and summed by key type, and Redis' used_memory
// growth is divided by N (that one also counts the key dictionaries and the expiry table).
//
// The peer in the same run: BullMQ on its own fresh redis-server, N jobs added with the same body
// and headers as data (what a hand-built receiver would queue) and completed by a Worker, kept as
// BullMQ keeps them by default (removeOnComplete off, like Redeliver's retained deliveries).
//
// Environment: BENCH_N (5000), BENCH_BODY_BYTES (1024), BENCH_CONCURRENCY (20 requests in flight).
// On a Redis Cluster the same figures are the sum over the masters (each key lives on one).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import Stripe from 'stripe';
import { request } from 'undici';
import { loadConfig } from '../src/config/index.ts';
import type { EndpointResource } from '../src/domain/endpoint.ts';
import { resolveEndpoint } from '../src/domain/resolve.ts';
import { createValidator } from '../src/k8s/schema.ts';
import { createLog } from '../src/lib/log.ts';
import { startRedisServer, type RedisServer } from '../src/lib/redis-server.ts';
import { createMetrics } from '../src/metrics/index.ts';
import { startProcess } from '../src/process.ts';

const N = Number(process.env.BENCH_N ?? 5000);
const BODY_BYTES = Number(process.env.BENCH_BODY_BYTES ?? 1024);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const SECRET = 'whsec_bench_memory_secret';
const PREFIX = 'mem';
const stripe = new Stripe('sk_test_unused');

const stops: Array<() => Promise<void>> = [];
const stopAll = async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
};
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

async function freshRedis(): Promise<RedisServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'redeliver-bench-mem-'));
  const server = await startRedisServer({ dataDir });
  stops.push(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return server;
}

/** A Stripe `event` JSON of BODY_BYTES with its own evt_ id, and the headers Stripe sends with it. */
function stripeWebhook(i: number): { body: string; headers: Record<string, string> } {
  const event = { id: `evt_1Q${String(i).padStart(22, '0')}`, object: 'event', api_version: '2024-06-20', created: 1_730_000_000 + i,
    type: 'invoice.paid', livemode: false, pending_webhooks: 1, request: { id: `req_${i}`, idempotency_key: null },
    data: { object: { id: `in_${i}`, object: 'invoice', customer: 'cus_bench', amount_paid: 1999, currency: 'usd', description: '' } } };
  const head = JSON.stringify(event);
  event.data.object.description = 'x'.repeat(Math.max(0, BODY_BYTES - head.length));
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }),
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      accept: '*/*; q=0.5, application/xml',
      'cache-control': 'no-cache',
    },
  };
}

async function usedMemory(client: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
}

/** MEMORY USAGE of every key matching `match`, summed by the type `classify` gives it. */
async function byKeyType(client: Redis, match: string, classify: (key: string) => string): Promise<Map<string, { keys: number; bytes: number }>> {
  const out = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    const sizes = await Promise.all(keys.map((k) => client.memory('USAGE', k, 'SAMPLES', 0)));
    keys.forEach((k, i) => {
      const t = classify(k);
      const s = out.get(t) ?? { keys: 0, bytes: 0 };
      s.keys++;
      s.bytes += Number(sizes[i] ?? 0);
      out.set(t, s);
    });
  } while (cursor !== '0');
  return out;
}

function redeliverKeyType(key: string): string {
  const rest = key.slice(key.indexOf('}:') + 2);
  if (/^d:[^:]+:attempts$/.test(rest)) return 'attempts list (d:<id>:attempts)';
  if (/^d:/.test(rest)) return 'delivery hash (d:<id>)';
  if (/^dedupe:/.test(rest)) return 'dedupe key (dedupe:<id>)';
  if (/^q:/.test(rest)) return 'queue stream (q:<p>)';
  if (key.indexOf('}:') < 0) return `global (${key.split(':').slice(1).join(':')})`;
  return `${rest}`;
}

function bullKeyType(key: string): string {
  const rest = key.split(':').slice(2).join(':');
  return /^\d+$/.test(rest) ? 'job hash (<id>)' : /^\d+:/.test(rest) ? `job ${rest.replace(/^\d+/, '<id>')}` : rest;
}

async function measureRedeliver(): Promise<{ perEvent: number; types: Map<string, { keys: number; bytes: number }> }> {
  const redis = await freshRedis();
  const received = { n: 0 };
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.n++;
      res.end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  stops.push(() => new Promise((ok) => receiver.close(() => ok())));
  const config = loadConfig({ env: {}, overrides: { redisUrl: redis.url, redisPrefix: PREFIX, port: 0, host: '127.0.0.1',
    secretKey: Buffer.alloc(32, 9).toString('base64'), logLevel: 'silent', allowedDestinations: ['127.0.0.0/8'] } });
  const app = await startProcess({ config, roles: ['ingest', 'dispatcher'], standalone: false, log: createLog({ level: 'silent' }), metrics: createMetrics({ defaults: false }) });
  stops.push(() => app.close());
  const resource = { apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', metadata: { namespace: 'default', name: 'stripe' },
    spec: { source: { provider: 'stripe', secretRef: { name: 's', keys: ['k'] } },
      destination: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` } } };
  const problems = createValidator('webhookendpoints.yaml', 'WebhookEndpoint').validate(resource);
  if (problems.length) throw new Error(JSON.stringify(problems));
  const ep = resolveEndpoint(resource as unknown as EndpointResource, () => SECRET);
  await app.shared.registry.put(ep);
  while (!app.shared.endpoints.get(ep.id)) await new Promise((ok) => setTimeout(ok, 20));

  const client = new Redis(redis.url);
  stops.push(async () => void client.disconnect());
  const before = await usedMemory(client);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const { body, headers } = stripeWebhook(next++);
      // undici's request, not fetch: fetch adds browser headers (accept-language, sec-fetch-mode)
      // that Stripe does not send and the event would store.
      const res = await request(`${app.url}/in/${ep.id}`, { method: 'POST', body, headers });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}: ${text}`);
    }
  }));
  const stats = app.shared.keys.endpoint(ep.id).stats;
  for (let t = Date.now(); Number(await client.hget(stats, 'delivered')) < N; await new Promise((ok) => setTimeout(ok, 100))) {
    if (Date.now() - t > 300_000) throw new Error('not all delivered within 5 minutes');
  }
  await app.close();
  const perEvent = ((await usedMemory(client)) - before) / N;
  return { perEvent, types: await byKeyType(client, `${PREFIX}:*`, redeliverKeyType) };
}

async function measureBullmq(): Promise<{ perEvent: number; types: Map<string, { keys: number; bytes: number }> }> {
  const redis = await freshRedis();
  const connection = { host: '127.0.0.1', port: redis.port };
  const queue = new Queue('mem', { connection });
  stops.push(() => queue.close());
  await queue.waitUntilReady();
  const client = new Redis(redis.url);
  stops.push(async () => void client.disconnect());
  const before = await usedMemory(client);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const { body, headers } = stripeWebhook(next++);
      await queue.add('webhook', { headers, body });
    }
  }));
  let done = 0;
  const worker = new Worker('mem', async () => undefined, { connection, concurrency: 50 });
  worker.on('completed', () => done++);
  stops.push(() => worker.close());
  for (let t = Date.now(); done < N; await new Promise((ok) => setTimeout(ok, 100))) {
    if (Date.now() - t > 300_000) throw new Error('BullMQ did not complete within 5 minutes');
  }
  await worker.close();
  const perEvent = ((await usedMemory(client)) - before) / N;
  return { perEvent, types: await byKeyType(client, 'bull:mem:*', bullKeyType) };
}

function table(title: string, r: { perEvent: number; types: Map<string, { keys: number; bytes: number }> }): string {
  const rows = [...r.types].sort((a, b) => b[1].bytes - a[1].bytes);
  const total = rows.reduce((n, [, s]) => n + s.bytes, 0);
  const lines = rows.map(([t, s]) => `  ${t.padEnd(34)} ${String(s.keys).padStart(7)} keys  ${(s.bytes / N).toFixed(0).padStart(6)} B/event`);
  return [`${title}: ${r.perEvent.toFixed(0)} B per event (used_memory growth / N); MEMORY USAGE sum ${(total / N).toFixed(0)} B per event`, ...lines].join('\n');
}

async function main() {
  console.log(`memory bench: ${N} Stripe-like events, ${BODY_BYTES} B bodies, each delivered once (fresh redis-server for each side)`);
  const rd = await measureRedeliver();
  await stopAll();
  const bull = await measureBullmq();
  console.log('\n' + table('Redeliver', rd));
  console.log('\n' + table('BullMQ (job data = headers + body, completed jobs kept)', bull));
  console.log(`\nRedeliver / BullMQ: ${(rd.perEvent / bull.perEvent).toFixed(2)}× (target ≤ 1.0 and ≤ 2,000 B per event)`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
