// A first run as a new user makes it, through real processes: the README's start command in a
// fresh clone prints where to send webhooks, takes the README's example, stops on Ctrl-C (SIGINT
// to the PID it started) with its redis-server, and leaves `git status` clean; a port in use is
// one clear line and exit 1; the demo receiver says whether each request's Standard Webhooks
// signature verified.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../src/lib/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const NODE = join(ROOT, 'node_modules/.bin/node');
const DEMO_SIGNING = 'whsec_cmVkZWxpdmVyLWRlbW8tb3V0Ym91bmQtc2lnbmluZyE=';

/** The README's ```sh blocks. */
const shellBlocks = () => [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

interface Proc {
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  line(match: (l: string) => boolean, ms?: number): Promise<string>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

function start(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Proc {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  const lines: string[] = [];
  const waiters: Array<{ match: (l: string) => boolean; ok: (l: string) => void }> = [];
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) if (w.match(l)) { waiters.splice(waiters.indexOf(w), 1); w.ok(l); }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      ok({ code, signal });
    }));
  return {
    proc, lines, stderr: () => stderr, exited,
    line: (match, ms = 60_000) => {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no such line within ${ms} ms; stderr: ${stderr}; stdout: ${lines.slice(-5).join('\n')}`)), ms);
        waiters.push({ match, ok: (l) => { clearTimeout(t); ok(l); } });
        void exited.then(() => { clearTimeout(t); fail(new Error(`exited first; stderr: ${stderr}; stdout: ${lines.slice(-5).join('\n')}`)); });
      });
    },
  };
}

function childrenOf(pid: number): number[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number)).filter(([, ppid]) => ppid === pid).map(([p]) => p!);
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('first run (real CLI in a fresh clone, real redis-server)', function () {
  this.timeout(180_000);
  let tmp: string;
  const cleanups: Array<() => void | Promise<void>> = [];
  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'redeliver-first-run-'));
  });
  after(async function () {
    for (const c of cleanups.reverse()) await c();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("runs the README's start command in a fresh clone, takes the README's example, stops on SIGINT, leaves git status clean", async function () {
    const clone = join(tmp, 'clone');
    execFileSync('git', ['clone', '-q', ROOT, clone]);
    // The packages are this checkout's (installing them again would only take time).
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const startLine = shellBlocks()[0]!.split('\n')[0]!.replace(/#.*$/, '').trim();
    expect(startLine).to.equal('bash scripts/dev.sh');
    const port = await freePort();
    const app = start('bash', startLine.split(' ').slice(1), {
      cwd: clone, env: { PATH: process.env.PATH ?? '', HOME: tmp, REDELIVER_PORT: String(port) },
    });
    cleanups.push(() => void app.proc.kill('SIGKILL'));
    const summary = JSON.parse(await app.line((l) => l.includes('Redeliver is running'))) as { msg: string; ingest: Array<{ endpoint: string; url: string }>; api: string };
    const base = `http://127.0.0.1:${port}`;
    expect(summary.ingest.map((i) => i.url)).to.include(`${base}/in/default/stripe-billing`);
    expect(summary.api).to.equal(`${base}/api/v1`);
    // The demo keys of the config the README's command uses, to sign in with.
    const demoKeys = (parseYaml(readFileSync(join(ROOT, 'examples/redeliver.yaml'), 'utf8')) as { apiKeys: string[] }).apiKeys;
    expect(demoKeys).to.not.be.empty;
    expect(summary.msg).to.include(`${base}/in/default/stripe-billing`).and.include(`Dashboard: ${base}/`).and.include('npm run example:receiver');
    for (const k of demoKeys) expect(summary.msg).to.include(k);
    const redis = childrenOf(app.proc.pid!);
    expect(redis, 'its redis-server').to.have.length(1);

    // The README's example, as written, against this port.
    const example = shellBlocks().find((b) => b.includes('stripe-signature'))!.replaceAll('http://127.0.0.1:8080', base);
    const out = execFileSync('bash', ['-c', example], { cwd: clone, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).to.match(/HTTP\/1\.1 202/);
    const again = execFileSync('bash', ['-c', example], { cwd: clone, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(again).to.match(/HTTP\/1\.1 (200|202)/);

    app.proc.kill('SIGINT');
    expect(await app.exited).to.deep.equal({ code: 0, signal: null });
    expect(redis.filter(isRunning), 'redis-server still running').to.deep.equal([]);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).to.equal('');
  });

  it('says in one line which port is in use and which setting to change, and exits 1', async function () {
    const busy: Server = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    cleanups.push(() => void busy.close());
    const port = (busy.address() as { port: number }).port;
    const app = start(NODE, ['src/main.ts', 'standalone', '--config', 'examples/redeliver.yaml'], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tmp, REDELIVER_PORT: String(port), REDELIVER_DATA_DIR: join(tmp, 'busy-data') },
    });
    const { code } = await app.exited;
    expect(code).to.equal(1);
    const lines = app.stderr().trim().split('\n');
    expect(lines, app.stderr()).to.have.length(1);
    expect(lines[0]).to.include(`port ${port}`).and.include('REDELIVER_PORT');
    // Nothing left behind: the redis-server it had started is stopped, the data dir unlocked.
    expect(readFileSync(join(tmp, 'busy-data', 'redis-password'), 'utf8')).to.have.length.above(10);
    expect(() => readFileSync(join(tmp, 'busy-data', 'redeliver.pid'))).to.throw();
  });

  it('the demo receiver takes its port from PORT and says whether each signature verified', async function () {
    const port = await freePort();
    const receiver = start(NODE, ['examples/receiver.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: String(port) } });
    cleanups.push(() => void receiver.proc.kill('SIGKILL'));
    await receiver.line((l) => l.includes(`127.0.0.1:${port}`));
    const body = JSON.stringify({ hello: 'world' });
    const send = (secret: string) => {
      const now = new Date();
      const headers = { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign('msg_1', now, body) };
      return fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body, headers });
    };
    expect((await send(DEMO_SIGNING)).status).to.equal(200);
    expect((await send('whsec_' + Buffer.alloc(32, 1).toString('base64'))).status).to.equal(200);
    expect((await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body })).status).to.equal(200);
    const seen = receiver.lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { signature: string }).signature);
    expect(seen.map((s) => s.split(' ')[0])).to.deep.equal(['verified', 'INVALID', 'unsigned']);
  });
});
