// The container image cannot be built here (no container engine), so this runs the Dockerfile's
// own steps without Docker and checks what the image would hold and do:
// - the deps stage's RUN (production install, `--omit=dev --ignore-scripts`, the `node` package
//   removed) in a clean folder with only package.json and package-lock.json;
// - the runtime stage's COPY lines into a fresh /app-like folder owned by root (read-only code);
// - as USER 10001:10001, with the Node of the machine standing for the base image's: the
//   ENTRYPOINT with `--help`, `bin/redeliver.js --help`, and the ingest role started against a real
//   redis-server, answering /healthz to the HEALTHCHECK's own command.
// Only `npm cache clean --force` is left out of the RUN: it would empty this machine's shared
// npm cache and has no effect on what the image holds.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { TEST_SECRET_KEY } from '../support/app.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { ROOT, run } from './tools.ts';

interface Dockerfile { depsRun: string; copies: Array<{ from?: string; src: string[]; dest: string }>; user: { uid: number; gid: number }; entrypoint: string[]; healthcheck: string[] }

/** The steps of our Dockerfile that matter here, read from the file itself. */
function readDockerfile(): Dockerfile {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim());
  const stages = lines.join('\n').split(/^FROM /m).slice(1);
  expect(stages, 'a deps stage and a runtime stage').to.have.length(2);
  const [deps, runtime] = stages.map((s) => s.split('\n')) as [string[], string[]];
  const runs = deps.filter((l) => l.startsWith('RUN '));
  expect(runs).to.have.length(1);
  const json = (l: string | undefined, what: string) => {
    expect(l, what).to.be.a('string');
    return JSON.parse(l!.replace(/^(ENTRYPOINT|HEALTHCHECK .*?CMD)\s+/, '')) as string[];
  };
  const [uid, gid] = runtime.find((l) => l.startsWith('USER '))!.slice(5).split(':').map(Number) as [number, number];
  return {
    depsRun: runs[0]!.slice(4),
    copies: runtime.filter((l) => l.startsWith('COPY ')).map((l) => {
      const parts = l.slice(5).split(/\s+/);
      const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice(7) : undefined;
      return { ...(from ? { from } : {}), dest: parts.pop()!, src: parts };
    }),
    user: { uid, gid },
    entrypoint: json(runtime.find((l) => l.startsWith('ENTRYPOINT ')), 'ENTRYPOINT'),
    healthcheck: json(runtime.find((l) => l.startsWith('HEALTHCHECK ')), 'HEALTHCHECK'),
  };
}

describe('the image, from the Dockerfile\'s steps without Docker', function () {
  this.timeout(300_000);
  const docker = readDockerfile();
  const work = mkdtempSync(join(tmpdir(), 'redeliver-image-'));
  const depsDir = join(work, 'deps');
  const app = join(work, 'app');
  let redis: TestRedis | undefined;
  const asUser = { uid: docker.user.uid, gid: docker.user.gid };
  // The base image's node, on PATH for the user (ENTRYPOINT and HEALTHCHECK call `node`).
  const env = { PATH: `${join(process.execPath, '..')}:/usr/bin:/bin`, NODE_ENV: 'production', HOME: '/tmp' };

  before(async function () {
    chmodSync(work, 0o755);
    cpSync(join(ROOT, 'package.json'), join(depsDir, 'package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(depsDir, 'package-lock.json'));
    const install = docker.depsRun.replace(/&&\s*npm cache clean --force/, '');
    expect(install).to.include('npm install --omit=dev --ignore-scripts');
    const r = await run('bash', ['-c', install], { cwd: depsDir, timeoutMs: 280_000 });
    expect(r.code, r.stderr).to.equal(0);
    for (const c of docker.copies) {
      for (const src of c.src) {
        const from = c.from === 'deps' ? join(depsDir, src.replace(/^\/app\//, '')) : join(ROOT, src);
        const dest = c.dest.endsWith('/') ? join(app, c.dest, src.split('/').pop()!) : join(app, c.dest);
        cpSync(from, dest, { recursive: true });
      }
    }
    redis = await startTestRedis();
  });
  after(async function () {
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds the production dependencies only, no dev tools and no bundled Node package', function () {
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies).filter((d) => d !== 'node')) expect(existsSync(join(app, 'node_modules', dep)), dep).to.equal(true);
    // Dev-only packages per the lock (a devDependency that a runtime one also needs, such as
    // @types/node for @kubernetes/client-node, is not dev-only and rightly stays).
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => p.dev && path.startsWith('node_modules/')).map(([path]) => path);
    expect(devOnly).to.include.members(Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev).map((d) => `node_modules/${d}`));
    expect(devOnly.length).to.be.greaterThan(10);
    for (const path of devOnly) expect(existsSync(join(app, path)), path).to.equal(false);
    expect(existsSync(join(app, 'node_modules/node'))).to.equal(false);
    for (const dir of ['src', 'bin', 'crds']) expect(statSync(join(app, dir)).isDirectory(), dir).to.equal(true);
    expect(existsSync(join(app, 'test'))).to.equal(false);
  });

  it(`answers --help as user ${docker.user.uid} (ENTRYPOINT and bin/redeliver.js)`, async function () {
    for (const args of [[...docker.entrypoint, '--help'], ['node', 'bin/redeliver.js', '--help']]) {
      const r = await run(args[0]!, args.slice(1), { cwd: app, env, ...asUser });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/^usage: redeliver <role…>/);
    }
  });

  it('starts the ingest role as that user, which answers /healthz to the HEALTHCHECK command', async function () {
    const child = spawn(docker.entrypoint[0]!, [...docker.entrypoint.slice(1), 'ingest'], {
      cwd: app, ...asUser, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, REDIS_URL: redis!.url, REDELIVER_SECRET_KEY: TEST_SECRET_KEY, REDELIVER_HOST: '127.0.0.1', REDELIVER_PORT: '0' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    try {
      const url = await new Promise<string>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`ingest did not start: ${stderr}`)), 30_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const m = /"msg":"redeliver started"/.test(line) ? /"url":"([^"]+)"/.exec(line) : null;
          if (m) {
            clearTimeout(timer);
            ok(m[1]!);
          }
        });
        void exited.then(() => fail(new Error(`ingest exited (${child.exitCode}): ${stderr}`)));
      });
      const port = new URL(url).port;
      const [cmd, ...args] = docker.healthcheck.map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
      const r = await run(cmd!, args, { cwd: app, env, ...asUser });
      expect(r.code, `HEALTHCHECK: ${r.stderr}`).to.equal(0);
      expect(await (await fetch(`${url}/healthz`)).json()).to.deep.equal({ status: 'ok' });
      // The code is read-only to the user: the image's files belong to root.
      const w = await run('node', ['-e', `require('fs').writeFileSync('src/x', '')`], { cwd: app, env, ...asUser });
      expect(w.code).to.not.equal(0);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
