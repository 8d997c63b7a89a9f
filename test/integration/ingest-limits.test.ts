// Ingest under Redis trouble and hostile clients, on a real redis-server and real sockets:
// a frozen or dead Redis gets a 503 within the deadline (never a hang, never 2xx) and one log
// line per outage; a client that stalls its body is cut with 408; the bytes of bodies not yet
// verified are bounded; aborted uploads leave one short JSON line each at most, never a stack
// trace on stderr.
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { endpoint } from '../support/fixtures.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

const dest = { url: 'http://127.0.0.1:9/hook' };
const RAW = endpoint({ name: 'raw', spec: { source: { provider: 'none', maxBodyBytes: 2048 }, destination: dest } });

/** Log lines as parsed JSON objects, with every line that is not one kept apart. */
function logCapture() {
  const stream = new PassThrough();
  const entries: Array<Record<string, unknown>> = [];
  const notJson: string[] = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      try {
        entries.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        notJson.push(line);
      }
    }
  });
  return { stream, entries, notJson, messages: () => entries.map((e) => e.msg as string) };
}

/** Opens a raw connection and sends the head of a POST with `declared` bytes of body, then `sent` bytes. */
async function stalledUpload(url: string, path: string, declared: number, sent: number): Promise<{ socket: Socket; answer: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const answer = new Promise<string>((ok) => socket.once('close', () => ok(text)));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: text/plain\r\nContent-Length: ${declared}\r\n\r\n`);
  socket.write('x'.repeat(sent));
  return { socket, answer };
}

async function timedPost(app: TestApp, body = 'hello'): Promise<{ status: number; code: unknown; ms: number; retryAfter: string | null }> {
  const t0 = performance.now();
  // A hang fails here (the abort), not at mocha's timeout.
  const res = await fetch(app.url + '/in/default/raw', { method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(8_000) });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, code: json.code, ms: performance.now() - t0, retryAfter: res.headers.get('retry-after') };
}

describe('ingest limits: Redis trouble, slow and hostile clients (real redis-server, real sockets)', function () {
  let redis: TestRedis;
  let client: Redis;
  const redisPid = async () => {
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    expect(pid).to.be.above(0);
    return pid;
  };

  before(async function () {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    client.on('error', () => undefined);
  });
  after(async function () {
    client?.disconnect();
    await redis?.stop();
  });

  describe('Redis frozen or down', function () {
    let app: TestApp;
    const log = logCapture();
    before(async function () {
      app = await startTestApp({ redisUrl: redis.url, config: { redisTimeoutMs: 400, logLevel: 'debug' }, logTo: log.stream });
      await app.putEndpoint(RAW);
    });
    after(async function () {
      await app?.close();
    });

    it('answers 503 within the deadline while Redis is frozen (SIGSTOP), logs the outage once, and recovers', async function () {
      expect((await timedPost(app)).status).to.equal(202);
      const pid = await redisPid();
      process.kill(pid, 'SIGSTOP');
      let answers;
      try {
        answers = await Promise.all(Array.from({ length: 10 }, () => timedPost(app)));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      for (const a of answers) {
        expect(a.status).to.equal(503);
        expect(a.code).to.equal('storage_unavailable');
        expect(a.retryAfter).to.equal('1');
        // The deadline is 400 ms; far below the provider timeouts (10 s and more) even on a busy machine.
        expect(a.ms).to.be.below(3_000);
      }
      await waitFor(async () => (await timedPost(app)).status === 202, 10_000, 'a 202 once Redis runs again');
      expect(log.messages().filter((m) => m === 'redis unavailable: answering 503 until it is back')).to.have.length(1);
      const back = log.entries.filter((e) => e.msg === 'redis available again');
      expect(back).to.have.length(1);
      expect(back[0]!.failedRequests).to.be.at.least(10);
      expect(log.entries.filter((e) => e.level === 50), 'no error line per request').to.deep.equal([]);
    });

    it('answers 503 at once while Redis refuses connections', async function () {
      // Killed from outside (the suite's own stop would also delete its data dir); restart() below.
      process.kill(await redisPid(), 'SIGKILL');
      await waitFor(async () => app.shared.redis.status !== 'ready', 5_000, 'the client to notice');
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await timedPost(app));
      expect(answers.map((a) => a.status)).to.deep.equal([503, 503, 503, 503, 503]);
      expect(Math.max(...answers.map((a) => a.ms))).to.be.below(1_000);
      await redis.restart();
      await waitFor(async () => (await timedPost(app)).status === 202, 15_000, 'a 202 once Redis is back');
    });
  });

  describe('slow clients', function () {
    let app: TestApp;
    before(async function () {
      app = await startTestApp({ redisUrl: redis.url, config: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
      await app.putEndpoint(RAW);
    });
    after(async function () {
      await app?.close();
    });

    it('cuts a client that stalls its body with 408 after requestTimeoutMs', async function () {
      const t0 = performance.now();
      const { answer } = await stalledUpload(app.url, '/in/default/raw', 2000, 10);
      const text = await answer;
      expect(text).to.match(/^HTTP\/1\.1 408 /);
      expect(performance.now() - t0).to.be.below(5_000);
    });

    it('cuts a client that never finishes its headers', async function () {
      const { hostname, port } = new URL(app.url);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
      socket.write('POST /in/default/raw HTTP/1.1\r\nHost: x\r\n');
      await closed;
      expect(text).to.match(/^HTTP\/1\.1 408 /);
    });
  });

  describe('bytes of unverified bodies', function () {
    let app: TestApp;
    before(async function () {
      app = await startTestApp({ redisUrl: redis.url, config: { maxPendingBodyBytes: 4096 } });
      await app.putEndpoint(RAW);
    });
    after(async function () {
      await app?.close();
    });

    it('refuses new bodies with 503 ingest_busy while stalled uploads hold the budget, and takes them again once those close', async function () {
      const stalled = [await stalledUpload(app.url, '/in/default/raw', 2048, 100), await stalledUpload(app.url, '/in/default/raw', 2048, 100)];
      let busy: Awaited<ReturnType<typeof timedPost>> | undefined;
      await waitFor(async () => {
        const a = await timedPost(app);
        if (a.status === 503) busy = a;
        return busy !== undefined;
      }, 10_000, 'a 503 once both stalled uploads hold their reservations');
      expect(busy).to.include({ code: 'ingest_busy', retryAfter: '1' });
      for (const s of stalled) s.socket.destroy();
      await waitFor(async () => (await timedPost(app)).status === 202, 10_000, 'a 202 once the stalled uploads are gone');
    });

    it('takes a chunked body (no Content-Length) on an endpoint whose limit exceeds the whole budget', async function () {
      await app.putEndpoint(endpoint({ name: 'big', spec: { source: { provider: 'none', maxBodyBytes: 65_536 }, destination: dest } }));
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('chunked '));
          c.enqueue(new TextEncoder().encode('body'));
          c.close();
        },
      });
      // A stream body goes out chunked: no Content-Length, so the endpoint's limit is reserved.
      const res = await fetch(app.url + '/in/default/big', { method: 'POST', body, headers: { 'content-type': 'text/plain' }, duplex: 'half', signal: AbortSignal.timeout(8_000) } as RequestInit);
      expect(res.status, await res.text()).to.equal(202);
    });
  });

  describe('aborted uploads', function () {
    let app: TestApp;
    const log = logCapture();
    before(async function () {
      app = await startTestApp({ redisUrl: redis.url, config: { logLevel: 'debug' }, logTo: log.stream });
      await app.putEndpoint(RAW);
    });
    after(async function () {
      await app?.close();
    });

    it('prints no stack trace outside the JSON log, and at most one short line each', async function () {
      const aborted = async () => (await app.shared.metrics.registry.getSingleMetric('redeliver_ingest_requests_total')!.get()).values
        .filter((v) => v.labels.outcome === 'request_aborted').reduce((n, v) => n + v.value, 0);
      const linesBefore = log.entries.length;
      const printed: unknown[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void printed.push(args);
      try {
        for (let i = 0; i < 50; i++) {
          const { socket, answer } = await stalledUpload(app.url, '/in/default/raw', 2000, 500);
          socket.destroy();
          await answer;
        }
        await waitFor(async () => (await aborted()) >= 50, 10_000, '50 aborted uploads counted');
      } finally {
        console.error = original;
      }
      expect(printed).to.deep.equal([]);
      expect(log.notJson).to.deep.equal([]);
      expect(log.entries.length - linesBefore).to.be.at.most(50);
      expect(log.entries.filter((e) => typeof e.err === 'object' && JSON.stringify(e.err).includes('\n    at '))).to.deep.equal([]);
    });
  });
});
