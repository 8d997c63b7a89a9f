// Invariant 1 (no acknowledged event is lost), proven with real processes: the real CLI
// (`node src/main.ts ingest`) as a child process against a real redis-server, signed GitHub
// webhooks under concurrent load, and a SIGKILL at a random moment — of the ingest process in one
// test, of redis-server in the other. Afterwards every event that got a 2xx must be in Redis (event
// stream, event index, and a delivery queued in its partition), and once the "provider" has retried
// everything it did not get a 2xx for, each provider event id is stored exactly once.
//
// A third test loses one Redis reply on purpose (a proxy drops the connection after Redis ran the
// ingest script): the client's resend must not store the event, or queue its delivery, twice.
//
// Requests in flight when a process dies fail with connection errors or 503: those were never
// acknowledged, so they only have to be stored once the provider retries them. Everything is
// bounded by count and time, and every child is killed in `after`, also when a test fails.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { partitionCount, type ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { freePort, startRedisServer, type RedisServer } from '../../src/lib/redis-server.ts';
import { parseEventIndex } from '../../src/store/event-index.ts';
import { createKeys, type Keys } from '../../src/store/keys.ts';
import { createRegistry } from '../../src/store/registry.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startReplyDropper, type ReplyDropper } from '../support/reply-dropper.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';
import { alive, kill9, killAllRoles, parseJson, startRole, type RoleProcess } from '../support/role-process.ts';

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');
const GITHUB_SECRET = 'crash-test-github-secret';
const ENDPOINT_ID = 'default/crashy';
const PATH = `/in/${ENDPOINT_ID}`;
const CONCURRENCY = 8;
const MAX_SENDS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 60_000;
const PHASE_TIMEOUT_MS = 30_000;
const PADDING = 'x'.repeat(200);

// ---- the ingest process --------------------------------------------------------------------------

type IngestProcess = RoleProcess;

/** Spawns `node src/main.ts ingest`; resolves once it logs 'redeliver started' on stdout. */
const startIngest = (env: Record<string, string>) => startRole('ingest', env, { timeoutMs: START_TIMEOUT_MS });

// ---- the provider: signed GitHub webhooks, each with its own delivery id --------------------------

type Outcome = { kind: 'ack'; status: number; eventId: string } | { kind: 'status'; status: number } | { kind: 'error'; message: string };

async function sendEvent(url: string, pid: string): Promise<Outcome> {
  try {
    const res = await fetch(url + PATH, {
      method: 'POST',
      body: githubBody(pid),
      headers: githubHeaders(pid),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const json = parseJson(await res.text());
    if (res.status >= 200 && res.status < 300) {
      if (typeof json?.event_id !== 'string') throw new Error(`2xx without event_id for ${pid}`);
      return { kind: 'ack', status: res.status, eventId: json.event_id };
    }
    return { kind: 'status', status: res.status };
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('2xx without')) throw err;
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

/** What the provider saw: the event id of every acknowledged provider id, and what failed. */
class Ledger {
  readonly acked = new Map<string, string>();
  readonly sent = new Set<string>();
  readonly statuses = new Map<number, number>();
  errors = 0;
  private waiters: Array<{ done: () => boolean; ok: () => void }> = [];

  record(pid: string, o: Outcome): void {
    this.sent.add(pid);
    if (o.kind === 'ack') {
      const earlier = this.acked.get(pid);
      // A retried event must come back with the id it was first acknowledged with (dedupe).
      if (earlier !== undefined && earlier !== o.eventId) throw new Error(`${pid} acknowledged as ${earlier} and later as ${o.eventId}`);
      this.acked.set(pid, o.eventId);
    } else if (o.kind === 'status') {
      this.statuses.set(o.status, (this.statuses.get(o.status) ?? 0) + 1);
    } else {
      this.errors += 1;
    }
    this.waiters = this.waiters.filter((w) => (w.done() ? (w.ok(), false) : true));
  }

  count(status: number): number {
    return this.statuses.get(status) ?? 0;
  }

  /** Resolves when `done()` holds after some response; rejects after `ms`. */
  until(what: string, done: () => boolean, ms = PHASE_TIMEOUT_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}: ${this.summary()}`)), ms);
      this.waiters.push({ done, ok: () => (clearTimeout(timer), ok()) });
    });
  }

  unacked(): string[] {
    return [...this.sent].filter((pid) => !this.acked.has(pid));
  }

  summary(): string {
    return `sent ${this.sent.size}, acked ${this.acked.size}, errors ${this.errors}, statuses ${JSON.stringify(Object.fromEntries(this.statuses))}`;
  }
}

/** CONCURRENCY loops sending fresh events until `stop()` is true or MAX_SENDS is reached. */
async function load(opts: { url: () => string; ledger: Ledger; run: string; stop: () => boolean }): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (!opts.stop() && next < MAX_SENDS) {
      const pid = `${opts.run}-${next++}`;
      opts.ledger.record(pid, await sendEvent(opts.url(), pid));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

/** The provider retries what it got no 2xx for (and, as providers do, a few it did). */
async function retryAsProvider(url: string, ledger: Ledger, pids: string[]): Promise<void> {
  const queue = [...pids];
  const loop = async () => {
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      let outcome: Outcome = { kind: 'error', message: 'not sent' };
      for (let attempt = 0; attempt < 5 && outcome.kind !== 'ack'; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        outcome = await sendEvent(url, pid);
      }
      if (outcome.kind !== 'ack') throw new Error(`retry of ${pid} still not acknowledged: ${JSON.stringify(outcome)}`);
      ledger.record(pid, outcome);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

// ---- what Redis holds -----------------------------------------------------------------------------

async function streamFields(client: Redis, key: string, fields: string[]): Promise<Array<Record<string, string>>> {
  const out: Array<Record<string, string>> = [];
  let start = '-';
  for (;;) {
    const page = await client.xrange(key, start, '+', 'COUNT', 1000);
    for (const [sid, flat] of page) {
      const row: Record<string, string> = { sid };
      for (let i = 0; i < flat.length; i += 2) if (fields.includes(flat[i]!)) row[flat[i]!] = flat[i + 1]!;
      out.push(row);
    }
    if (page.length < 1000) return out;
    start = '(' + page.at(-1)![0];
  }
}

/** Asserts every acknowledged event is stored with its delivery, and no provider id twice. */
async function expectAllStored(client: Redis, keys: Keys, ep: ResolvedEndpoint, acked: Map<string, string>): Promise<void> {
  const k = keys.endpoint(ep.id);
  const events = await streamFields(client, k.events, ['id', 'pid']);
  const byEventId = new Map(events.map((e) => [e.id, e]));
  const perPid = new Map<string, number>();
  for (const e of events) perPid.set(e.pid!, (perPid.get(e.pid!) ?? 0) + 1);
  const twice = [...perPid].filter(([, n]) => n > 1).map(([pid]) => pid);
  expect(twice, 'provider ids stored more than once').to.deep.equal([]);

  const eventIds = [...acked.values()];
  const sids = (eventIds.length ? await client.hmget(k.eventIndex, ...eventIds) : []).map((v) => parseEventIndex(v)?.sid);
  const queued = new Set<string>();
  for (let p = 0; p < partitionCount(ep.spec); p++) {
    const deliveries = (await streamFields(client, k.queue(p), ['d'])).map((e) => e.d!);
    const pipe = client.pipeline();
    for (const d of deliveries) pipe.hget(k.delivery(d), 'event_id');
    for (const [err, eventId] of (await pipe.exec()) ?? []) if (!err && typeof eventId === 'string') queued.add(eventId);
  }
  const missing: string[] = [];
  [...acked].forEach(([pid, eventId], i) => {
    const stored = byEventId.get(eventId);
    if (!stored || stored.pid !== pid) missing.push(`${pid}: ${eventId} not in the events stream`);
    else if (sids[i] !== stored.sid) missing.push(`${pid}: ${eventId} not in the event index`);
    else if (!queued.has(eventId)) missing.push(`${pid}: ${eventId} has no queued delivery`);
  });
  expect(missing, `of ${acked.size} acknowledged events`).to.deep.equal([]);
}

const githubBody = (pid: string) => JSON.stringify({ action: 'opened', pid, padding: PADDING });
const githubHeaders = (pid: string) => ({
  'content-type': 'application/json',
  'x-github-event': 'pull_request',
  'x-github-delivery': pid,
  'x-hub-signature-256': 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(githubBody(pid)).digest('hex'),
});

async function postRaw(url: string, path: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url + path, { method: 'POST', body, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return { status: res.status, json: parseJson(await res.text()) };
}

// ---- the tests --------------------------------------------------------------------------------------

/** One line per test, so a run shows the crash was hit (and, on failure, what to reproduce). */
const report = (line: string) => {
  if (process.env.TEST_LOG_LEVEL !== 'silent') console.log(`      ${line}`);
};

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

describe('ingest crash safety (real processes, kill -9)', function () {
  this.timeout(180_000);
  let client: Redis | undefined;
  let ingest: IngestProcess | undefined;

  const githubEndpoint = () =>
    endpoint({
      name: 'crashy',
      spec: { source: { provider: 'github', secretRef: secretRef() }, destination: { url: 'http://127.0.0.1:9/hook' } },
      secrets: [GITHUB_SECRET],
    });

  /** Registers the endpoint straight into Redis, as the controller would, before ingest starts. */
  async function prepare(redisUrl: string, ingestRedisUrl = redisUrl) {
    const prefix = randomPrefix();
    const keys = createKeys(prefix);
    client = new Redis(redisUrl, { maxRetriesPerRequest: 20 });
    client.on('error', () => undefined);
    const ep = githubEndpoint();
    await createRegistry(client, keys, Buffer.from(SECRET_KEY, 'base64')).put(ep);
    const port = await freePort();
    const env = {
      REDELIVER_REDIS_URL: ingestRedisUrl,
      REDELIVER_REDIS_PREFIX: prefix,
      REDELIVER_SECRET_KEY: SECRET_KEY,
      REDELIVER_PORT: String(port),
      REDELIVER_HOST: '127.0.0.1',
      REDELIVER_LOG_LEVEL: 'info',
    };
    return { keys, ep, env };
  }

  afterEach(async function () {
    await kill9(ingest);
    ingest = undefined;
    await client?.quit().catch(() => client?.disconnect());
    client = undefined;
  });
  after(killAllRoles);

  describe('kill -9 of the ingest process (AOF everysec)', function () {
    let redis: TestRedis;
    before(async function () {
      redis = await startTestRedis({ fsync: 'everysec' });
    });
    after(async function () {
      await redis?.stop('SIGKILL');
    });

    it('keeps every acknowledged event, and stores each provider event once after retries', async function () {
      const { keys, ep, env } = await prepare(redis.url);
      const killAt = randomInt(200, 800);
      const ledger = new Ledger();
      ingest = await startIngest(env);
      const first = ingest;
      let killed = false;
      const loading = load({ url: () => first.url, ledger, run: 'a', stop: () => killed });
      await ledger.until(`${killAt} acks`, () => ledger.acked.size >= killAt);
      await kill9(first);
      killed = true;
      await loading;
      const ackedBeforeCrash = new Map(ledger.acked);
      const atCrash = ledger.summary();
      expect(ackedBeforeCrash.size, ledger.summary()).to.be.at.least(killAt);

      ingest = await startIngest(env);
      await expectAllStored(client!, keys, ep, ackedBeforeCrash);

      // The provider retries everything unacknowledged, plus a sample of acknowledged events:
      // the latter must come back as duplicates with their original event id (Ledger checks it).
      const sample = [...ackedBeforeCrash.keys()].filter((_, i) => i % 10 === 0);
      await retryAsProvider(ingest.url, ledger, [...ledger.unacked(), ...sample]);
      expect(ledger.unacked(), ledger.summary()).to.deep.equal([]);
      await expectAllStored(client!, keys, ep, ledger.acked);
      expect(await client!.xlen(keys.endpoint(ep.id).events)).to.equal(ledger.sent.size);
      report(`kill -9 ingest after ${killAt} acks: ${atCrash}; after retries: ${ledger.summary()}`);
    });
  });

  describe('kill -9 of redis-server (AOF always) while ingest keeps running', function () {
    let dataDir: string;
    let server: RedisServer | undefined;
    before(async function () {
      dataDir = mkdtempSync(join(tmpdir(), 'redeliver-crash-'));
      server = await startRedisServer({ dataDir, fsync: 'always' });
    });
    after(async function () {
      await server?.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers 503 during the outage, never 2xx for an unstored event, and loses no acknowledged event', async function () {
      const { keys, ep, env } = await prepare(server!.url);
      const killAt = randomInt(200, 800);
      const ledger = new Ledger();
      ingest = await startIngest(env);
      const running = ingest;
      let stop = false;
      const loading = load({ url: () => running.url, ledger, run: 'b', stop: () => stop });
      try {
        await ledger.until(`${killAt} acks`, () => ledger.acked.size >= killAt);
        // Not server.restart(): a stop, then a start once the outage has been seen, so it surely
        // lasts long enough for the ingest's Redis client to give up on requests (503).
        await server!.stop('SIGKILL');
        const ackedAtKill = ledger.acked.size;
        const unavailableAtKill = ledger.count(503);
        await ledger.until('503s during the outage', () => ledger.count(503) >= unavailableAtKill + CONCURRENCY);
        server = await startRedisServer({ dataDir, port: server!.port, fsync: 'always' });
        const ackedAtRestart = ledger.acked.size;
        await ledger.until('acks after the restart', () => ledger.acked.size >= ackedAtRestart + 200);
        expect(ackedAtKill, 'acks before the kill').to.be.at.least(killAt);
      } finally {
        stop = true;
        await loading;
      }
      const atRecovery = ledger.summary();
      expect(alive(running.proc), 'the ingest process survived the outage').to.equal(true);
      expect(ledger.count(503), ledger.summary()).to.be.at.least(CONCURRENCY);
      expect([...ledger.statuses.keys()].filter((s) => s !== 503), ledger.summary()).to.deep.equal([]);
      await expectAllStored(client!, keys, ep, new Map(ledger.acked));

      await retryAsProvider(running.url, ledger, ledger.unacked());
      expect(ledger.unacked(), ledger.summary()).to.deep.equal([]);
      await expectAllStored(client!, keys, ep, ledger.acked);
      expect(await client!.xlen(keys.endpoint(ep.id).events)).to.equal(ledger.sent.size);
      report(`kill -9 redis-server after ${killAt} acks: ${atRecovery}; after retries: ${ledger.summary()}`);
    });
  });
  describe('a reply lost with the connection after Redis stored the event', function () {
    let redis: TestRedis;
    let proxy: ReplyDropper;
    before(async function () {
      redis = await startTestRedis({ fsync: 'everysec' });
      proxy = await startReplyDropper(redis.port);
    });
    after(async function () {
      proxy?.close();
      await redis?.stop('SIGKILL');
    });

    // ioredis resends a command whose reply it did not get once it has reconnected; the script
    // must then not store the event (and queue its delivery) a second time.
    it('stores the event once, and answers 202 once, when the client resends the script', async function () {
      const { keys, ep, env } = await prepare(redis.url, proxy.url);
      const raw = endpoint({ name: 'raw', spec: { source: { provider: 'none' }, destination: { url: 'http://127.0.0.1:9/hook' } } });
      await createRegistry(client!, keys, Buffer.from(SECRET_KEY, 'base64')).put(raw);
      ingest = await startIngest(env);
      expect((await sendEvent(ingest.url, 'warm-up')).kind).to.equal('ack');

      const cases: Array<{ ep: ResolvedEndpoint; marker: string; send: () => Promise<{ status: number; json: Record<string, unknown> | undefined }> }> = [
        { ep, marker: 'lost-reply-github', send: () => postRaw(ingest!.url, PATH, githubBody('lost-reply-github'), githubHeaders('lost-reply-github')) },
        { ep: raw, marker: 'lost-reply-none', send: () => postRaw(ingest!.url, '/in/default/raw', 'lost-reply-none', { 'content-type': 'text/plain' }) },
      ];
      for (const c of cases) {
        proxy.dropReplyAfter(c.marker);
        const res = await c.send();
        expect(proxy.dropped(c.marker), `${c.marker}: the reply was dropped`).to.equal(true);
        expect(res.status, `${c.marker}: ${JSON.stringify(res.json)}`).to.equal(202);
        expect(res.json?.duplicate, c.marker).to.equal(false);
        const k = keys.endpoint(c.ep.id);
        const bodies = await client!.xrange(k.events, '-', '+');
        expect(bodies.filter(([, f]) => f.some((v) => v.includes(c.marker))), `${c.marker}: events stored`).to.have.length(1);
        const queued = (await streamFields(client!, k.queue(0), ['d'])).map((e) => e.d);
        expect(new Set(queued).size, `${c.marker}: a delivery queued twice`).to.equal(queued.length);
      }
    });
  });
});
