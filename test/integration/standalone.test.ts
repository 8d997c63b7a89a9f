// Standalone mode end to end through the real CLI: `node src/main.ts standalone --endpoints DIR`
// with no REDIS_URL starts its own redis-server child with a data dir, loads a folder of YAML
// (a bad document is reported with its file and field, the others keep working), follows edits to
// the folder, and on SIGTERM stops cleanly, its redis-server included. Without redis-server on
// PATH it refuses to start and says how to install it.
//
// The tests of the main describe share one process and run in order: each changes the folder and
// checks the effect.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import Stripe from 'stripe';
import { parseAllDocuments } from 'yaml';
import { freePort, INSTALL_HINT } from '../../src/lib/redis-server.ts';
import { createKeys } from '../../src/store/keys.ts';
import { createRedis } from '../../src/store/redis.ts';
import { createRegistry } from '../../src/store/registry.ts';
import { startReceiver } from '../support/receiver.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples/endpoints');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const POLL_DEADLINE_MS = 10_000;
const POLL_INTERVAL_MS = 50;

type LogLine = Record<string, unknown>;

interface Cli {
  proc: ChildProcess;
  lines: LogLine[];
  /** Emits 'line' with each parsed stdout line. */
  events: EventEmitter;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Runs `node src/main.ts …args` with exactly `env` (no inherited REDIS_URL), JSON lines collected. */
function runCli(args: string[], env: Record<string, string>): Cli {
  const proc = spawn(process.execPath, [join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    events.emit('line', line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      ok({ code, signal });
    }),
  );
  return { proc, lines, events, stderr: () => stderr, exited };
}

/** Resolves with the first log line that satisfies `match`; fails if the process exits first or on timeout. */
function waitForLine(cli: Cli, match: (l: LogLine) => boolean, ms = START_TIMEOUT_MS): Promise<LogLine> {
  const found = cli.lines.find(match);
  if (found) return Promise.resolve(found);
  return new Promise((ok, fail) => {
    const onLine = (line: LogLine) => {
      if (match(line)) done(undefined, line);
    };
    const timer = setTimeout(() => done(new Error(`no matching log line within ${ms} ms: ${cli.stderr()}`)), ms);
    cli.events.on('line', onLine);
    void cli.exited.then(({ code, signal }) =>
      done(new Error(`CLI exited (${code ?? signal}): ${cli.stderr()} ${JSON.stringify(cli.lines.slice(-5))}`)));
    function done(err?: Error, line?: LogLine) {
      clearTimeout(timer);
      cli.events.off('line', onLine);
      if (err) fail(err);
      else ok(line!);
    }
  });
}

/** Stops the CLI with `signal`; SIGKILL if it is still running after STOP_TIMEOUT_MS. */
async function stopCli(cli: Cli | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!cli || cli.proc.exitCode !== null || cli.proc.signalCode !== null) return cli?.exited;
  cli.proc.kill(signal);
  const timer = setTimeout(() => cli.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const result = await cli.exited;
  clearTimeout(timer);
  return result;
}

/** Child processes of `pid` named `name` (ps works on Linux and macOS alike). */
function childrenNamed(pid: number, name: string): number[] {
  const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, comm]) => Number(ppid) === pid && comm !== undefined && comm.endsWith(name))
    .map(([p]) => Number(p));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `probe` until it returns true. The folder watch is asynchronous and has no event the test
 * can hook from outside the process, so this is bounded polling with a small interval.
 */
async function pollUntil(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${POLL_DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

function secretFromExamples(name: string, key: string): string {
  for (const doc of parseAllDocuments(readFileSync(join(EXAMPLES, 'secrets.yaml'), 'utf8'))) {
    const v = doc.toJS() as { metadata?: { name?: string }; stringData?: Record<string, string> };
    const secret = v.metadata?.name === name ? v.stringData?.[key] : undefined;
    if (secret) return secret;
  }
  throw new Error(`no secret ${name}/${key} in examples/endpoints/secrets.yaml`);
}

const endpointYaml = (name: string, spec: string) => `apiVersion: redeliver.io/v1alpha1
kind: WebhookEndpoint
metadata:
  name: ${name}
  namespace: default
spec:
  source:
    provider: none
  destination:
    url: http://127.0.0.1:4000/webhooks/${name}
${spec}`;

const stripe = new Stripe('sk_test_unused');

async function expectRejected(p: Promise<unknown>, pattern: RegExp) {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'rejected').to.be.instanceOf(Error);
  expect((err as Error).message).to.match(pattern);
}

const BAD_KEY = endpointYaml('keyed', '  ordering:\n    mode: key\n');
const FIXED_KEY = endpointYaml('keyed', '  ordering:\n    mode: key\n    key: /id\n    partitions: 2\n');
const BAD_TYPE = endpointYaml('slow', '    timeoutSeconds: "soon"\n');

describe('standalone mode (real CLI, own redis-server)', function () {
  this.timeout(120_000);
  let tmp: string;
  let endpointsDir: string;
  let cli: Cli | undefined;
  let base: string;
  /** redis-server children of the CLI, seen right after it started. */
  let redisPids: number[] = [];

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const get = async (path: string) => {
    const res = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  };

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'redeliver-standalone-'));
    endpointsDir = join(tmp, 'endpoints');
    cpSync(EXAMPLES, endpointsDir, { recursive: true });
    writeFileSync(join(endpointsDir, 'bad.yaml'), BAD_KEY);
    writeFileSync(join(endpointsDir, 'bad-type.yaml'), BAD_TYPE);
    const port = await freePort();
    cli = runCli(['standalone', '--endpoints', endpointsDir], {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      REDELIVER_DATA_DIR: join(tmp, 'data'),
      REDELIVER_PORT: String(port),
      REDELIVER_HOST: '127.0.0.1',
      REDELIVER_LOG_LEVEL: 'info',
      REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8',
    });
    const started = await waitForLine(cli, (l) => l.msg === 'redeliver started');
    base = started.url as string;
    expect(base).to.equal(`http://127.0.0.1:${port}`);
    redisPids = childrenNamed(cli.proc.pid!, 'redis-server');
  });

  after(async function () {
    // After a failure the CLI may still run: stop it gracefully (it stops its redis-server), and
    // kill any redis-server child left behind should it have needed a SIGKILL.
    const alive = cli && cli.proc.exitCode === null && cli.proc.signalCode === null;
    const leftovers = alive ? [...redisPids, ...childrenNamed(cli!.proc.pid!, 'redis-server')] : redisPids;
    await stopCli(cli, 'SIGTERM');
    for (const pid of leftovers) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('starts its own redis-server child, with its data dir', function () {
    const line = cli!.lines.find((l) => l.msg === 'started redis-server');
    expect(line, 'log line "started redis-server"').to.not.equal(undefined);
    expect(line!.dataDir).to.equal(join(tmp, 'data', 'redis'));
    expect(redisPids, 'redis-server children of the CLI').to.have.length(1);
    expect(line!.url).to.be.a('string');
    expect(existsSync(join(tmp, 'data', 'redis')), 'redis data dir').to.equal(true);
    expect(existsSync(join(tmp, 'data', 'secret-key')), 'generated secret key').to.equal(true);
  });

  it('keeps its data dir private (0700, files 0600) and its redis-server behind a generated password', async function () {
    const data = join(tmp, 'data');
    const modes: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        const mode = statSync(p).mode & 0o777;
        if (e.isDirectory()) {
          if (mode !== 0o700) modes.push(`${p} ${mode.toString(8)}`);
          walk(p);
        } else if (mode !== 0o600) modes.push(`${p} ${mode.toString(8)}`);
      }
    };
    expect((statSync(data).mode & 0o777).toString(8)).to.equal('700');
    walk(data);
    expect(readdirSync(join(data, 'redis'), { recursive: true }).some((f) => String(f).endsWith('.aof')), 'an AOF file').to.equal(true);
    expect(modes, 'files and folders open to others').to.deep.equal([]);
    const password = readFileSync(join(data, 'redis-password'), 'utf8').trim();
    expect(password).to.have.length.above(20);
    const url = cli!.lines.find((l) => l.msg === 'started redis-server')!.url as string;
    expect(JSON.stringify(cli!.lines), 'the password in a log line').to.not.include(password);
    const anonymous = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false, retryStrategy: () => null });
    anonymous.on('error', () => undefined);
    try {
      await anonymous.connect();
      await expectRejected(anonymous.get('x'), /NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
    const authed = new Redis(url, { password, lazyConnect: true });
    try {
      await authed.connect();
      expect(await authed.ping()).to.equal('PONG');
    } finally {
      authed.disconnect();
    }
  });

  it('refuses a second instance on the same data dir, naming the first one', async function () {
    const second = runCli(['standalone', '--endpoints', endpointsDir], {
      PATH: process.env.PATH ?? '', HOME: tmp, REDELIVER_DATA_DIR: join(tmp, 'data'),
      REDELIVER_PORT: String(await freePort()), REDELIVER_HOST: '127.0.0.1', REDELIVER_LOG_LEVEL: 'info',
    });
    const { code } = await second.exited;
    expect(code).to.equal(1);
    expect(second.stderr()).to.include(`in use by another Redeliver (pid ${cli!.proc.pid})`);
    expect(childrenNamed(second.proc.pid!, 'redis-server')).to.deep.equal([]);
    expect(childrenNamed(cli!.proc.pid!, 'redis-server'), 'the first one keeps its redis-server').to.deep.equal(redisPids);
  });

  it('logs each malformed endpoint with its file and the field, and loads the others', function () {
    const errors = cli!.lines.filter((l) => l.level === 50 && l.msg !== undefined);
    const about = (file: string) => errors.find((l) => l.file === join(endpointsDir, file));
    expect(about('bad.yaml')?.field, JSON.stringify(errors)).to.include('spec.ordering.key');
    expect(about('bad.yaml')?.msg).to.include('spec.ordering.key');
    expect(about('bad-type.yaml')?.field, JSON.stringify(errors)).to.include('spec.destination.timeoutSeconds');
    const loaded = cli!.lines.find((l) => l.msg === 'endpoints loaded');
    expect(loaded?.endpoints).to.have.members(['default/github-events', 'default/shopify-orders', 'default/stripe-billing']);
  });

  it('accepts a Stripe-signed event on a good endpoint; unknown and malformed endpoints get 404', async function () {
    const payload = JSON.stringify({ id: 'evt_standalone_1', object: 'event', type: 'invoice.paid', data: { object: {} } });
    const secret = secretFromExamples('stripe-billing-secret', 'signing-secret');
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const ok = await post('/in/default/stripe-billing', payload, { 'stripe-signature': signature });
    expect(ok.status, JSON.stringify(ok.json)).to.equal(202);
    expect(ok.json.event_id).to.be.a('string');
    const forgedSignature = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' });
    const forged = await post('/in/default/stripe-billing', payload, { 'stripe-signature': forgedSignature });
    expect(forged.status).to.equal(401);
    expect((await post('/in/default/nope', '{}')).status).to.equal(404);
    expect((await post('/in/default/keyed', '{"id":1}')).status).to.equal(404);
  });

  it('serves /healthz, /readyz and /metrics', async function () {
    expect((await get('/healthz')).status).to.equal(200);
    const ready = await get('/readyz');
    expect(ready.status, ready.text).to.equal(200);
    const metrics = await get('/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.text).to.match(/redeliver_ingest_requests_total\{endpoint="default\/stripe-billing",outcome="accepted"\} 1/);
  });

  it('starts serving an endpoint once its file is fixed', async function () {
    writeFileSync(join(endpointsDir, 'bad.yaml'), FIXED_KEY);
    await pollUntil('default/keyed answers 202', async () => (await post('/in/default/keyed', '{"id":1}')).status === 202);
  });

  it('answers 410 for an endpoint whose file was deleted', async function () {
    unlinkSync(join(endpointsDir, 'stripe-billing.yaml'));
    let last = 0;
    await pollUntil('default/stripe-billing answers 410', async () => {
      last = (await post('/in/default/stripe-billing', '{}')).status;
      return last === 410;
    });
    expect(last).to.equal(410);
  });

  /** The registry as the CLI wrote it, read with the data dir's password and secret key. */
  const registryEntry = async (id: string) => {
    const data = join(tmp, 'data');
    const url = cli!.lines.find((l) => l.msg === 'started redis-server')!.url as string;
    const client = createRedis(url, { password: readFileSync(join(data, 'redis-password'), 'utf8').trim() });
    try {
      return await createRegistry(client, createKeys('rd'), Buffer.from(readFileSync(join(data, 'secret-key'), 'utf8').trim(), 'base64')).get(id);
    } finally {
      client.disconnect();
    }
  };

  it('keeps a live endpoint delivering through a YAML typo in its file, and names the file and line', async function () {
    const r = await startReceiver();
    try {
      const live = endpointYaml('live', '').replace('http://127.0.0.1:4000/webhooks/live', `${r.url}/live`);
      writeFileSync(join(endpointsDir, 'live.yaml'), live);
      await pollUntil('default/live answers 202', async () => (await post('/in/default/live', '{"n":0}')).status === 202);
      await r.until((rs) => rs.length >= 1);
      // Line 4 breaks the YAML (an unclosed flow sequence).
      writeFileSync(join(endpointsDir, 'live.yaml'), live.replace('  name: live\n', '  name: [live\n'));
      const error = await waitForLine(cli!, (l) => l.level === 50 && l.file === join(endpointsDir, 'live.yaml'), POLL_DEADLINE_MS);
      expect(error.line, JSON.stringify(error)).to.be.a('number');
      expect(String(error.msg)).to.include(`${join(endpointsDir, 'live.yaml')}:${error.line}:`);
      expect(String(error.msg)).to.include('last good version stays in effect');
      const res = await post('/in/default/live', '{"n":1}');
      expect(res.status, 'a typo does not archive the endpoint').to.equal(202);
      await r.until((rs) => rs.length >= 2);
      expect((await registryEntry('default/live'))?.spec.state).to.equal('active');
      // An invalid (but parseable) spec keeps the last good version too.
      writeFileSync(join(endpointsDir, 'live.yaml'), live.replace('    provider: none\n', '    provider: none\n    maxBodyBytes: "big"\n'));
      const invalid = await waitForLine(cli!, (l) => l.level === 50 && l.endpoint === 'default/live' && String(l.field).includes('maxBodyBytes'), POLL_DEADLINE_MS);
      expect(invalid.line, 'the line of the bad field').to.equal(9);
      expect((await post('/in/default/live', '{"n":2}')).status).to.equal(202);
      await r.until((rs) => rs.length >= 3);
      writeFileSync(join(endpointsDir, 'live.yaml'), live);
    } finally {
      await r.close();
    }
  });

  it('refuses to change the ordering layout of a live endpoint, as the controller does', async function () {
    const before = await registryEntry('default/live');
    expect(before?.spec.ordering.mode).to.equal('strict');
    const live = readFileSync(join(endpointsDir, 'live.yaml'), 'utf8');
    writeFileSync(join(endpointsDir, 'live.yaml'), live + '  ordering:\n    mode: key\n    key: /n\n    partitions: 4\n  paused: true\n');
    const refused = await waitForLine(cli!, (l) => l.endpoint === 'default/live' && l.reason === 'OrderingChangeRefused', POLL_DEADLINE_MS);
    expect(refused.level).to.equal(40);
    expect(String(refused.msg)).to.include('old layout stays in effect');
    const after = await registryEntry('default/live');
    expect(after?.spec.ordering.mode, 'the stored layout').to.equal('strict');
    expect(after?.spec.paused, 'the rest of the spec is applied').to.equal(true);
    writeFileSync(join(endpointsDir, 'live.yaml'), live);
    await pollUntil('default/live unpaused', async () => (await registryEntry('default/live'))?.spec.paused === false);
  });

  it('writes nothing to the registry for files that did not change', async function () {
    const ids = ['default/github-events', 'default/shopify-orders', 'default/live'];
    const before = await Promise.all(ids.map(registryEntry));
    // Rewrite every file as it is, plus a new one: once the new endpoint answers, the folder was synced.
    for (const f of readdirSync(endpointsDir)) writeFileSync(join(endpointsDir, f), readFileSync(join(endpointsDir, f)));
    writeFileSync(join(endpointsDir, 'fresh.yaml'), endpointYaml('fresh', ''));
    await pollUntil('default/fresh answers 202', async () => (await post('/in/default/fresh', '{}')).status === 202);
    const after = await Promise.all(ids.map(registryEntry));
    expect(after.map((e) => e?.updatedAt)).to.deep.equal(before.map((e) => e?.updatedAt));
  });

  it('stops on SIGTERM, its redis-server with it', async function () {
    expect(redisPids, 'redis-server children of the CLI').to.have.length(1);
    const { code, signal } = (await stopCli(cli, 'SIGTERM'))!;
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(redisPids.filter(isRunning), 'redis-server still running').to.deep.equal([]);
    expect(cli!.lines.some((l) => l.msg === 'shutting down')).to.equal(true);
  });
});

describe('standalone mode without redis-server on PATH', function () {
  this.timeout(60_000);
  let tmp: string;
  let cli: Cli | undefined;
  after(async function () {
    await stopCli(cli, 'SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('exits non-zero and says how to install redis-server', async function () {
    tmp = mkdtempSync(join(tmpdir(), 'redeliver-noredis-'));
    // A PATH holding only node: the Node binary's own folder might also hold redis-server.
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    cli = runCli(['standalone', '--endpoints', EXAMPLES], {
      PATH: bin,
      HOME: tmp,
      REDELIVER_DATA_DIR: join(tmp, 'data'),
      REDELIVER_PORT: String(await freePort()),
      REDELIVER_HOST: '127.0.0.1',
    });
    const { code } = await cli.exited;
    expect(code).to.not.equal(0);
    expect(cli.stderr()).to.include(INSTALL_HINT);
    expect(cli.stderr()).to.match(/apt-get install -y redis-server/);
  });
});

describe('standalone mode restarted with a YAML typo in a live endpoint\'s file', function () {
  this.timeout(120_000);
  let tmp: string;
  let cli: Cli | undefined;
  after(async function () {
    await stopCli(cli, 'SIGTERM');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps the endpoint (no 410): a file that does not parse archives nothing, even with no last good version in memory', async function () {
    tmp = mkdtempSync(join(tmpdir(), 'redeliver-typo-restart-'));
    const endpointsDir = join(tmp, 'endpoints');
    mkdirSync(endpointsDir);
    const live = endpointYaml('live', '');
    writeFileSync(join(endpointsDir, 'live.yaml'), live);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '', HOME: tmp, REDELIVER_DATA_DIR: join(tmp, 'data'), REDELIVER_PORT: String(port),
      REDELIVER_HOST: '127.0.0.1', REDELIVER_LOG_LEVEL: 'info', REDELIVER_ALLOWED_DESTINATIONS: '127.0.0.0/8',
    };
    const post = async (url: string) => (await fetch(`${url}/in/default/live`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) })).status;
    cli = runCli(['standalone', '--endpoints', endpointsDir], env);
    let url = (await waitForLine(cli, (l) => l.msg === 'redeliver started')).url as string;
    expect(await post(url)).to.equal(202);
    await stopCli(cli, 'SIGTERM');

    writeFileSync(join(endpointsDir, 'live.yaml'), live.replace('  name: live\n', '  name: [live\n'));
    cli = runCli(['standalone', '--endpoints', endpointsDir], env);
    url = (await waitForLine(cli, (l) => l.msg === 'redeliver started')).url as string;
    expect(await post(url), 'the endpoint of a file with a typo is not archived').to.equal(202);
  });
});
