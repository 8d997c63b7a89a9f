// Invariants 1–3 for delivery, proven with real processes: the real CLI (`node src/main.ts ingest`,
// `node src/main.ts dispatcher`) as child processes configured through REDELIVER_* env, a real
// redis-server, and a real HTTP receiver whose answers the test scripts.
//
// The receiver is the judge. Every event body carries its ordering scope and a sequence number
// assigned at send time (the provider sends each scope's events one after the other, so ingest
// receives them in that order). On every request the receiver checks, per scope:
//   - no request for #n+1 arrives before #n got a 2xx (invariant 2: never a later one first);
//   - the first 2xx receipts are exactly #0, #1, #2, … with nothing missing (invariants 1 and 2);
//   - a repeat of an already received #n carries the same webhook-id (at-least-once, same event);
//   - no (delivery id, attempt number) pair arrives twice: each request on the wire belongs to
//     exactly one fenced claim in Redis (invariant 3: a stale owner never sends its claim again).
// A 2xx is counted when the receiver decides it, on arrival: a real service acts on a webhook when
// it gets it, even if its answer is too slow to reach the dispatcher in time.
// Afterwards Redis must agree: every delivery DELIVERED exactly once (a refused stale finish never
// moves a counter), attempts numbered 1..n, and — invariant 4, checked on the same runs — each
// attempt recorded with the classification of what the receiver did (500 → consumer_5xx, dropped
// connection → connection_error, too slow → consumer_response_timeout).
//
// Scenarios: (a) a flapping receiver (500s, dropped connections, answers slower than the timeout)
// while one of two dispatchers is SIGKILLed and started again; (b) a dispatcher frozen with SIGSTOP
// mid-request past its lease, another takes over, then SIGCONT: its late finish must be refused
// by Redis; (c) redis-server SIGKILLed (AOF fsync always) and restarted mid-run.
//
// TEST_SEED fixes the receiver's random answers (the seed is printed), for reproducing a failure.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import type { ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { freePort } from '../../src/lib/redis-server.ts';
import { decodeAttempts, decodeDelivery } from '../../src/store/delivery-record.ts';
import { createKeys, type Keys } from '../../src/store/keys.ts';
import { createRegistry, type Registry } from '../../src/store/registry.ts';
import { endpoint } from '../support/fixtures.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';
import { alive, parseJson, startRole, type RoleProcess } from '../support/role-process.ts';

const SECRET_KEY = Buffer.alloc(32, 11).toString('base64');
const LEASE_TTL_MS = 2000;
const START_TIMEOUT_MS = 60_000;
const PAD = 'p'.repeat(120);

const report = (line: string) => {
  if (process.env.TEST_LOG_LEVEL !== 'silent') console.log(`      ${line}`);
};

// ---- seeded randomness --------------------------------------------------------------------------

const SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, fast and good enough to script a receiver's answers reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- Redeliver child processes ------------------------------------------------------------------

interface DispatchRoleProcess extends RoleProcess {
  readonly role: 'ingest' | 'dispatcher';
  /** A dispatcher's id (its field in the heartbeat hash); '' for ingest. */
  readonly id: string;
}

/** One Redis, one key prefix, the registry, and every process started against them. */
class Cluster {
  readonly redis: TestRedis;
  readonly prefix: string;
  readonly keys: Keys;
  readonly client: Redis;
  readonly registry: Registry;
  readonly processes: DispatchRoleProcess[] = [];

  constructor(redis: TestRedis, prefix = randomPrefix()) {
    this.redis = redis;
    this.prefix = prefix;
    this.keys = createKeys(prefix);
    // The test's own client may see Redis restart: it retries for as long as that takes.
    this.client = new Redis(redis.url, { maxRetriesPerRequest: null });
    this.client.on('error', () => undefined);
    this.registry = createRegistry(this.client, this.keys, Buffer.from(SECRET_KEY, 'base64'));
  }

  /** Spawns `node src/main.ts <role>`; resolves once it logs 'redeliver started' on stdout. */
  async start(role: 'ingest' | 'dispatcher'): Promise<DispatchRoleProcess> {
    const port = await freePort();
    const before = new Set(Object.keys(await this.client.hgetall(this.keys.dispatchers)));
    const started = await startRole(role, {
      REDELIVER_REDIS_URL: this.redis.url,
      REDELIVER_REDIS_PREFIX: this.prefix,
      REDELIVER_SECRET_KEY: SECRET_KEY,
      REDELIVER_PORT: String(port),
      REDELIVER_HOST: '127.0.0.1',
      REDELIVER_LOG_LEVEL: 'info',
      REDELIVER_LEASE_TTL_MS: String(LEASE_TTL_MS),
      REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8',
    }, {
      timeoutMs: START_TIMEOUT_MS,
      // Failed attempts are the receiver's doing here; keep the lines that say something else.
      keep: (line) => !line.includes('delivery attempt failed'),
    });
    let id = '';
    if (role === 'dispatcher') {
      // start() writes the heartbeat before the process reports it started.
      const now = Object.keys(await this.client.hgetall(this.keys.dispatchers)).filter((m) => !before.has(m));
      if (now.length !== 1) throw new Error(`expected one new dispatcher in the heartbeat hash, got ${now.join(', ')}`);
      id = now[0]!;
    }
    const p: DispatchRoleProcess = { ...started, role, id };
    this.processes.push(p);
    return p;
  }

  async signal(p: DispatchRoleProcess, sig: NodeJS.Signals): Promise<void> {
    if (!alive(p.proc)) return;
    p.proc.kill(sig);
    if (sig === 'SIGKILL') await p.exited;
  }

  /** Stops every process (SIGTERM, SIGKILL after a grace period), also frozen ones. */
  async close(): Promise<void> {
    await Promise.all(this.processes.map(async (p) => {
      if (!alive(p.proc)) return;
      p.proc.kill('SIGCONT');
      p.proc.kill('SIGTERM');
      const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
      await p.exited;
      clearTimeout(timer);
    }));
    await this.client.quit().catch(() => this.client.disconnect());
  }

  async put(...eps: ResolvedEndpoint[]): Promise<void> {
    for (const ep of eps) await this.registry.put(ep);
  }

  /** Every delivery of an endpoint (from its delivery log) with its attempts. */
  async deliveries(epId: string): Promise<DeliveryRecord[]> {
    const k = this.keys.endpoint(epId);
    const log = await this.client.xrange(k.deliveryLog, '-', '+');
    const pipe = this.client.pipeline();
    for (const [, f] of log) {
      pipe.hgetall(k.delivery(f[1]!));
      pipe.lrange(k.attempts(f[1]!), 0, -1);
      // (the first attempt may be kept in the record itself: decodeAttempts reads both)
    }
    const replies = (await pipe.exec()) ?? [];
    const out: DeliveryRecord[] = [];
    for (let i = 0; i < replies.length; i += 2) {
      // As the API reads it (ids from the key, times as ISO).
      const raw = replies[i]![1] as Record<string, string>;
      const hash = decodeDelivery(raw, epId, log[i / 2]![1][1]!) ?? {};
      const attempts: AttemptRecord[] = decodeAttempts(raw.a1, replies[i + 1]![1] as string[]);
      out.push({ hash, attempts });
    }
    return out;
  }
}

interface AttemptRecord {
  attempt: number;
  classification: string;
  status_code?: number | null;
}
interface DeliveryRecord {
  hash: Record<string, string>;
  attempts: AttemptRecord[];
}

/**
 * The receiver counts a 2xx before the dispatcher has recorded it: waits (bounded; Redis has no
 * event to wait on) until the endpoint's delivered counter reaches `events`.
 */
async function recorded(c: Cluster, ep: ResolvedEndpoint, events: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Number(await c.client.hget(c.keys.endpoint(ep.id).stats, 'delivered')) < events && Date.now() < deadline) {
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

/** The classification each of the receiver's answers must be recorded with (invariant 4). */
const EXPECTED_CLASSIFICATION: Record<AnswerKind, string> = {
  ok: 'consumer_2xx', status5xx: 'consumer_5xx', drop: 'connection_error', slow: 'consumer_response_timeout', hold: 'dispatcher_lost',
};

/**
 * What Redis must hold once every event got its first 2xx: each delivery DELIVERED exactly once
 * (the stats counter equals the event count, so no stale finish slipped through), its attempts
 * list numbered 1..attempts with one entry per claim, nothing blocked, every queue drained.
 * Returns the attempt classifications seen, how many `dispatcher_lost` entries have no request
 * that reached the receiver (a head claimed but never sent), and the attempts whose recorded
 * classification does not match what the receiver answered.
 */
async function expectSettled(c: Cluster, ep: ResolvedEndpoint, events: number, rcv: OrderedReceiver) {
  const k = c.keys.endpoint(ep.id);
  await recorded(c, ep, events);
  const stats = await c.client.hgetall(k.stats);
  expect(Number(stats.delivered), `${ep.id} delivered counter`).to.equal(events);
  expect(Number(stats.failed ?? 0), `${ep.id} failed counter`).to.equal(0);
  expect(await c.client.hlen(k.blocked), `${ep.id} blocked partitions`).to.equal(0);
  const records = await c.deliveries(ep.id);
  expect(records).to.have.length(events);
  const classifications: Record<string, number> = {};
  const problems: string[] = [];
  const misrecorded: Record<string, number> = {};
  let phantom = 0;
  for (const { hash, attempts } of records) {
    if (hash.status !== 'DELIVERED') problems.push(`${hash.id} is ${hash.status}`);
    if (Number(hash.attempts) !== attempts.length) problems.push(`${hash.id}: attempts ${hash.attempts} but ${attempts.length} recorded`);
    attempts.forEach((a, i) => {
      classifications[a.classification] = (classifications[a.classification] ?? 0) + 1;
      if (a.attempt !== i + 1) problems.push(`${hash.id}: attempt record ${i} numbered ${a.attempt}`);
      const answered = rcv.answerTo(hash.id!, a.attempt);
      // dispatcher_lost: the sender died or was fenced before recording; its request may or may not have left.
      if (a.classification === 'dispatcher_lost') {
        if (!answered) phantom++;
      } else if (!answered || EXPECTED_CLASSIFICATION[answered] !== a.classification) {
        const what = `${answered ?? 'never received'} recorded as ${a.classification}`;
        misrecorded[what] = (misrecorded[what] ?? 0) + 1;
      }
    });
    if (attempts.at(-1)?.classification !== 'consumer_2xx') problems.push(`${hash.id}: last attempt is not consumer_2xx`);
  }
  expect(problems.slice(0, 10), `${problems.length} inconsistent delivery records`).to.deep.equal([]);
  for (let p = 0; p < (ep.spec.ordering.mode === 'key' ? ep.spec.ordering.partitions : 1); p++) {
    expect(await c.client.xlen(k.queue(p)), `${ep.id} queue ${p}`).to.equal(0);
  }
  return { classifications, phantom, misrecorded };
}

function sumCounts(...counts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) out[k] = (out[k] ?? 0) + n;
  return out;
}

// ---- the receiver: a real HTTP server that judges order -----------------------------------------

type Decision = { status: number; delayMs?: number } | { drop: true } | { hold: true };
type AnswerKind = 'ok' | 'status5xx' | 'drop' | 'slow' | 'hold';

interface Arrival {
  path: string;
  scope: string;
  seq: number;
  webhookId: string;
  deliveryId: string;
  attempt: number;
}

class OrderedReceiver {
  url = '';
  arrivals = 0;
  firsts = 0;
  duplicates = 0;
  /** Repeats of #n that arrived after #n+1 had its first 2xx. */
  lateDuplicates = 0;
  retries = 0;
  readonly answers: Record<AnswerKind, number> = { ok: 0, status5xx: 0, drop: 0, slow: 0, hold: 0 };
  readonly violations: string[] = [];
  private violationCount = 0;
  private readonly next = new Map<string, number>();
  private readonly ids = new Map<string, string[]>();
  /** `delivery id#attempt` → how the receiver answered that request. */
  private readonly pairs = new Map<string, AnswerKind>();
  private readonly held: ServerResponse[] = [];
  private waiters: Array<{ done: () => boolean; ok: () => void }> = [];
  private server: Server | undefined;
  private readonly decide: (a: Arrival) => Decision;

  constructor(decide: (a: Arrival) => Decision) {
    this.decide = decide;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** First 2xx receipts of one scope so far. */
  count(scope: string): number {
    return this.next.get(scope) ?? 0;
  }

  answerTo(deliveryId: string, attempt: number): AnswerKind | undefined {
    return this.pairs.get(`${deliveryId}#${attempt}`);
  }

  violationSummary(): string {
    return `${this.violationCount} violations: ${this.violations.join('; ')}`;
  }

  /** Resolves when `done()` holds after some request; rejects after `ms`. */
  until(what: string, done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}: ${this.summary()}`)), ms);
      this.waiters.push({ done, ok: () => (clearTimeout(timer), ok()) });
    });
  }

  /** Answers every held request with `status`. */
  release(status: number): void {
    for (const res of this.held.splice(0)) res.writeHead(status).end();
  }

  summary(): string {
    return `${this.arrivals} requests, ${this.firsts} first receipts, ${this.duplicates} duplicates (${this.lateDuplicates} late), ` +
      `${this.retries} retries, answers ${JSON.stringify(this.answers)}, ${this.violationCount} violations`;
  }

  async close(): Promise<void> {
    this.release(503);
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = parseJson(Buffer.concat(chunks).toString()) ?? {};
      const header = (name: string) => String(req.headers[name] ?? '');
      const a: Arrival = {
        path: req.url ?? '/',
        scope: `${req.url}|${String(body.k)}`,
        seq: Number(body.seq),
        webhookId: header('webhook-id'),
        deliveryId: header('x-redeliver-delivery-id'),
        attempt: Number(header('x-redeliver-attempt')),
      };
      const d = this.decide(a);
      const kind = this.answer(req, res, d);
      this.judge(a, kind, 'status' in d && d.status >= 200 && d.status < 300);
      this.waiters = this.waiters.filter((w) => (w.done() ? (w.ok(), false) : true));
    });
  }

  private judge(a: Arrival, kind: AnswerKind, success: boolean) {
    this.arrivals++;
    if (a.attempt > 1) this.retries++;
    const pair = `${a.deliveryId}#${a.attempt}`;
    if (this.pairs.has(pair)) this.violation(`attempt ${a.attempt} of delivery ${a.deliveryId} (${a.scope} #${a.seq}) arrived twice`);
    this.pairs.set(pair, kind);
    const expected = this.next.get(a.scope) ?? 0;
    const ids = this.ids.get(a.scope) ?? [];
    if (a.seq > expected) {
      this.violation(`${a.scope}: #${a.seq} arrived before #${expected} got a 2xx`);
    } else if (a.seq < expected) {
      this.duplicates++;
      if (a.seq < expected - 1) this.lateDuplicates++;
      if (ids[a.seq] !== a.webhookId) this.violation(`${a.scope}: #${a.seq} again with webhook-id ${a.webhookId}, first was ${ids[a.seq]}`);
    } else if (success) {
      ids.push(a.webhookId);
      this.ids.set(a.scope, ids);
      this.next.set(a.scope, expected + 1);
      this.firsts++;
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse, d: Decision): AnswerKind {
    let kind: AnswerKind;
    if ('drop' in d) {
      kind = 'drop';
      req.socket.destroy();
    } else if ('hold' in d) {
      kind = 'hold';
      this.held.push(res);
    } else if (d.delayMs) {
      kind = 'slow';
      // The dispatcher has given up by then; writing to its closed socket is harmless.
      setTimeout(() => res.writeHead(d.status).end(), d.delayMs);
    } else {
      kind = d.status >= 500 ? 'status5xx' : 'ok';
      res.writeHead(d.status).end('ok');
    }
    this.answers[kind]++;
    return kind;
  }

  private violation(message: string) {
    this.violationCount++;
    if (this.violations.length < 20) this.violations.push(message);
  }
}

// ---- the provider: each scope's events one after the other, retried until acknowledged ----------

class Provider {
  acked = 0;
  unacked = 0;
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
  private readonly ingestUrl: string;

  constructor(ingestUrl: string) {
    this.ingestUrl = ingestUrl;
  }

  /** Sends #0..#count-1 of one scope in order; each is retried until it gets a 2xx. */
  async sequence(ep: ResolvedEndpoint, scope: string, count: number, from = 0): Promise<void> {
    for (let seq = from; seq < from + count; seq++) await this.send(ep, scope, seq);
  }

  async send(ep: ResolvedEndpoint, scope: string, seq: number): Promise<void> {
    // The id makes a retried send idempotent (dedupe by provider event id), as real providers do.
    const body = JSON.stringify({ id: `${scope}-${seq}`, k: scope, seq, pad: PAD });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const res = await request(`${this.ingestUrl}/in/${ep.id}`, {
          method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: this.agent,
          headersTimeout: 10_000, bodyTimeout: 10_000,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.acked++;
          return;
        }
      } catch {
        // Not acknowledged (connection error): send again, like a provider.
      }
      this.unacked++;
      if (Date.now() > deadline) throw new Error(`${ep.id} ${scope} #${seq} not acknowledged within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

// ---- fixtures -----------------------------------------------------------------------------------

const retry = { maxAttempts: 100, backoff: { initialSeconds: 0.01, maxSeconds: 0.2, multiplier: 2, jitter: 0.2 } };

function keyedEndpoint(name: string, url: string, partitions: number): ResolvedEndpoint {
  return endpoint({
    name,
    spec: {
      source: { provider: 'none', eventIdFrom: { jsonPointer: '/id' } },
      destination: { url: `${url}/${name}`, timeoutSeconds: 1 },
      ordering: { mode: 'key', key: '/k', partitions },
      retry,
    },
  });
}

function strictEndpoint(name: string, url: string): ResolvedEndpoint {
  return endpoint({
    name,
    spec: {
      source: { provider: 'none', eventIdFrom: { jsonPointer: '/id' } },
      destination: { url: `${url}/${name}`, timeoutSeconds: 1 },
      ordering: { mode: 'strict' },
      retry,
    },
  });
}

const scopeOf = (ep: ResolvedEndpoint, key: string) => `/${ep.name}|${key}`;

/**
 * A keyed run (`keys` keys × `perKey` events) and a strict one (`strictCount` events) ended with
 * no violation, every event received, no repeat of #n after #n+1, and Redis agrees (expectSettled).
 */
async function expectAllInOrder(c: Cluster, r: OrderedReceiver,
  run: { keyed: ResolvedEndpoint; keys: number; perKey: number; strict: ResolvedEndpoint; strictCount: number }) {
  expect(r.violationSummary()).to.equal('0 violations: ');
  for (let i = 0; i < run.keys; i++) expect(r.count(scopeOf(run.keyed, `key${i}`)), `key${i}`).to.equal(run.perKey);
  expect(r.count(scopeOf(run.strict, 'strict')), 'strict').to.equal(run.strictCount);
  expect(r.lateDuplicates, 'repeats of #n after #n+1 was received').to.equal(0);
  return { a: await expectSettled(c, run.keyed, run.keys * run.perKey, r), b: await expectSettled(c, run.strict, run.strictCount, r) };
}

async function scrape(p: RoleProcess, metric: string): Promise<number> {
  const res = await request(`${p.url}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(metric)) sum += Number(line.split(' ').at(-1));
  return sum;
}

// ---- the tests ----------------------------------------------------------------------------------

describe('ordered delivery with real processes (invariants 1–3)', function () {
  let redis: TestRedis | undefined;
  let cluster: Cluster | undefined;
  let rcv: OrderedReceiver | undefined;
  let provider: Provider | undefined;

  before(() => report(`receiver seed ${SEED} (TEST_SEED=${SEED} to reproduce)`));
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of cluster?.processes ?? []) {
        const lines = p.tail().split('\n').slice(-8);
        report(`--- ${p.role} ${p.id} log tail:\n${lines.join('\n')}`);
      }
    }
    await provider?.close();
    await cluster?.close();
    await rcv?.close();
    await redis?.stop();
    [redis, cluster, rcv, provider] = [undefined, undefined, undefined, undefined];
  });

  it('keeps per-key and strict order under a flapping receiver while a dispatcher is killed -9 and restarted', async function () {
    this.timeout(240_000);
    const KEYS = 20;
    const PER_KEY = Number(process.env.TEST_PER_KEY ?? 500);
    const STRICT = Number(process.env.TEST_STRICT ?? 2000);
    const total = KEYS * PER_KEY + STRICT;
    const rand = prng(SEED);
    rcv = await new OrderedReceiver(() => {
      const r = rand();
      if (r < 0.04) return { status: 500 };
      if (r < 0.06) return { drop: true };
      if (r < 0.064) return { status: 200, delayMs: 1300 };
      return { status: 200 };
    }).start();
    redis = await startTestRedis();
    cluster = new Cluster(redis);
    const keyed = keyedEndpoint('keyed', rcv.url, 8);
    const strict = strictEndpoint('strict', rcv.url);
    await cluster.put(keyed, strict);
    const ingest = await cluster.start('ingest');
    const d1 = await cluster.start('dispatcher');
    await cluster.start('dispatcher');
    provider = new Provider(ingest.url);
    const p = provider;
    const sending = Promise.all([
      ...Array.from({ length: KEYS }, (_, i) => p.sequence(keyed, `key${i}`, PER_KEY)),
      p.sequence(strict, 'strict', STRICT),
    ]);
    sending.catch(() => undefined); // awaited below; this only keeps an early rejection from being unhandled

    const r = rcv;
    await r.until('30 % delivered', () => r.firsts >= total * 0.3, 120_000);
    await cluster.signal(d1, 'SIGKILL');
    const killedAt = r.firsts;
    report(`killed dispatcher ${d1.id} at ${killedAt} first receipts`);
    await r.until('15 % more delivered after the kill', () => r.firsts >= killedAt + total * 0.15, 60_000);
    const d3 = await cluster.start('dispatcher');
    report(`started dispatcher ${d3.id} at ${r.firsts} first receipts`);
    await sending;
    await r.until('every event delivered', () => r.firsts >= total, 150_000);

    // Nobody but a dead or frozen owner could send #n after #n+1: none here.
    const { a, b } = await expectAllInOrder(cluster, r, { keyed, keys: KEYS, perKey: PER_KEY, strict, strictCount: STRICT });
    report(`${r.summary()}; provider re-sends ${p.unacked}`);
    report(`attempts recorded: keyed ${JSON.stringify(a.classifications)}, strict ${JSON.stringify(b.classifications)}`);
    report(`dispatcher_lost attempts that never reached the receiver (claimed, never sent): ${a.phantom + b.phantom}`);
    // Invariant 4, checked on the same run: each attempt is recorded as what the receiver answered.
    expect(sumCounts(a.misrecorded, b.misrecorded), 'attempts recorded with a classification other than the receiver\'s answer ' +
      '(a slow answer must be consumer_response_timeout; see the sender\'s error classification)').to.deep.equal({});
  });

  it('fences a dispatcher frozen mid-request past its lease: after SIGCONT it writes nothing', async function () {
    this.timeout(90_000);
    const N = 30;
    const HELD = 12;
    let heldArrived!: () => void;
    const held = new Promise<void>((ok) => (heldArrived = ok));
    let heldId = '';
    rcv = await new OrderedReceiver((a) => {
      if (a.seq === HELD && a.attempt === 1) {
        heldId = a.deliveryId;
        heldArrived();
        return { hold: true };
      }
      return { status: 200 };
    }).start();
    redis = await startTestRedis();
    cluster = new Cluster(redis);
    const c = cluster;
    const ep = strictEndpoint('fenced', rcv.url);
    const scope = scopeOf(ep, 'f');
    await c.put(ep);
    const ingest = await c.start('ingest');
    const stale = await c.start('dispatcher');
    provider = new Provider(ingest.url);
    const sending = provider.sequence(ep, 'f', N);
    sending.catch(() => undefined);

    // The request for #HELD is on the wire (it passed the lease check): freeze its sender.
    await held;
    await c.signal(stale, 'SIGSTOP');
    const frozenAt = Date.now();
    const successor = await c.start('dispatcher');
    await sending;
    const r = rcv;
    await r.until('the successor delivers everything', () => r.firsts >= N, 30_000);
    const frozenMs = Date.now() - frozenAt;
    expect(frozenMs, 'frozen longer than the lease').to.be.greaterThan(LEASE_TTL_MS);
    await recorded(c, ep, N);

    const k = c.keys.endpoint(ep.id);
    const lease = (await c.client.get(k.lease(0))) ?? '';
    expect(lease.startsWith(`${successor.id}:`), `lease held by the successor (${lease})`).to.equal(true);
    const snapshot = async () => ({ deliveries: await c.deliveries(ep.id), stats: await c.client.hgetall(k.stats) });
    const before = await snapshot();
    const heldDelivery = before.deliveries.find((d) => d.hash.id === heldId);
    expect(heldDelivery, 'the held delivery').to.not.equal(undefined);
    expect(heldDelivery!.attempts.map((x) => [x.attempt, x.classification])).to.deep.equal([[1, 'dispatcher_lost'], [2, 'consumer_2xx']]);
    expect(heldDelivery!.hash).to.include({ status: 'DELIVERED', attempts: '2', send_token: lease });
    const arrivals = r.arrivals;

    // Answer the frozen request with a 2xx while its sender still sleeps, then wake it up: it reads
    // a success for a delivery that is no longer its own, and must not be able to record it.
    r.release(200);
    await c.signal(stale, 'SIGCONT');
    const attemptsBefore = HELD; // #0..#HELD-1, each delivered at its first attempt
    const deadline = Date.now() + 15_000;
    while ((await scrape(stale, 'redeliver_dispatch_deliveries_total')) < attemptsBefore + 1 ||
      (await scrape(stale, 'redeliver_dispatch_lease_changes_total{change="lost"}')) < 1) {
      if (Date.now() > deadline) throw new Error(`the resumed dispatcher did not finish its attempt:\n${stale.tail()}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
    const staleSaw = (await scrape(stale, 'redeliver_dispatch_deliveries_total{endpoint="default/fenced",outcome="delivered"}')) > HELD
      ? 'the 2xx' : 'a timeout';
    const after = await snapshot();
    expect(after.stats, 'stats after the stale owner resumed').to.deep.equal(before.stats);
    expect(after.deliveries, 'delivery records after the stale owner resumed').to.deep.equal(before.deliveries);
    expect(r.arrivals, 'requests sent after the stale owner resumed').to.equal(arrivals);
    expect(Number(after.stats.delivered)).to.equal(N);
    // Only #0..#HELD-1 were claimed by the stale owner, each once; everything after is the successor's.
    const staleClaims = after.deliveries.filter((d) => d.hash.send_token?.startsWith(`${stale.id}:`));
    expect(staleClaims.map((d) => d.hash.attempts)).to.deep.equal(Array(HELD).fill('1'));

    // Both dispatchers are alive again and share the partition by rendezvous: delivery goes on, in order.
    await provider.sequence(ep, 'f', 10, N);
    await r.until('10 more delivered', () => r.firsts >= N + 10, 30_000);
    expect(r.violationSummary()).to.equal('0 violations: ');
    expect(r.count(scope)).to.equal(N + 10);
    expect(r.lateDuplicates).to.equal(0);
    const settled = await expectSettled(c, ep, N + 10, r);
    expect(settled.misrecorded).to.deep.equal({});
    report(`frozen ${frozenMs} ms; the resumed owner read ${staleSaw} for its request and its finish was refused; ${r.summary()}`);
  });

  it('resumes after redis-server is killed -9 (AOF fsync always) and delivers every acknowledged event in order', async function () {
    this.timeout(120_000);
    const KEYS = 10;
    const PER_KEY = 200;
    const STRICT = 600;
    const total = KEYS * PER_KEY + STRICT;
    const rand = prng(SEED + 1);
    rcv = await new OrderedReceiver(() => (rand() < 0.03 ? { status: 500 } : { status: 200 })).start();
    redis = await startTestRedis({ fsync: 'always' });
    cluster = new Cluster(redis);
    const keyed = keyedEndpoint('keyed', rcv.url, 4);
    const strict = strictEndpoint('strict', rcv.url);
    await cluster.put(keyed, strict);
    const ingest = await cluster.start('ingest');
    await cluster.start('dispatcher');
    await cluster.start('dispatcher');
    provider = new Provider(ingest.url);
    const p = provider;
    const sending = Promise.all([
      ...Array.from({ length: KEYS }, (_, i) => p.sequence(keyed, `key${i}`, PER_KEY)),
      p.sequence(strict, 'strict', STRICT),
    ]);
    sending.catch(() => undefined);

    const r = rcv;
    await r.until('30 % delivered', () => r.firsts >= total * 0.3, 60_000);
    const restartAt = r.firsts;
    const acked = p.acked;
    await redis.restart('SIGKILL');
    report(`redis-server killed -9 and restarted at ${restartAt} first receipts, ${acked} acknowledged`);
    await sending;
    await r.until('every acknowledged event delivered', () => r.firsts >= total, 90_000);

    const { a, b } = await expectAllInOrder(cluster, r, { keyed, keys: KEYS, perKey: PER_KEY, strict, strictCount: STRICT });
    report(`${r.summary()}; provider re-sends ${p.unacked}`);
    expect(sumCounts(a.misrecorded, b.misrecorded), 'attempts recorded with a classification other than the receiver\'s answer').to.deep.equal({});
  });
});
