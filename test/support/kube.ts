// A real kube-apiserver + etcd for operator tests (what kubebuilder's envtest
// does for Go). The binaries come from scripts/kube-assets.sh, which finds them
// or builds kube-apiserver v1.20.2 once into a cache outside the checkout.
//
// What this control plane is NOT: there is no controller-manager and no
// scheduler, so no garbage collection (ownerReference cascades never happen),
// no ServiceAccount/token controllers, no pods ever run. kube-apiserver 1.20
// has no CEL validation and no /openapi/v3.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export type KubectlResult = { stdout: string; stderr: string; code: number };

export type KubeTestEnv = {
  /** Path of a kubeconfig (CA embedded, bearer token of a system:masters user). */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** Bearer token of the admin user (group system:masters). */
  token: string;
  /** Temp dir holding certs, logs and the kubeconfig; removed by stop(). */
  dir: string;
  /** Runs the real kubectl with --kubeconfig; never throws on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Kills kube-apiserver and etcd and removes dir. Idempotent. */
  stop(): Promise<void>;
};

export type StartOptions = {
  /** --authorization-mode=RBAC instead of AlwaysAllow (the admin token stays in system:masters). */
  rbac?: boolean;
};

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const KUBECTL_TIMEOUT_MS = 120_000;

type Assets = { kubeApiserver: string; etcd: string };
let assetsPromise: Promise<Assets> | undefined;

/** Locates (or builds, the first time on a machine) the binaries; once per process. */
function findAssets(): Promise<Assets> {
  assetsPromise ??= locateAssets().catch((err: unknown) => {
    assetsPromise = undefined; // let a later call retry
    throw err;
  });
  return assetsPromise;
}

async function locateAssets(): Promise<Assets> {
  // stderr is inherited so a cold build's progress shows up in the test output.
  const { stdout, code } = await run('bash', [path.join(REPO_ROOT, 'scripts/kube-assets.sh')], {
    cwd: REPO_ROOT,
    stderr: 'inherit',
  });
  if (code !== 0) throw new Error(`scripts/kube-assets.sh failed with exit code ${code}`);
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map((l) => l.match(/^(KUBE_APISERVER|ETCD)=(.+)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  const kubeApiserver = vars['KUBE_APISERVER'];
  const etcd = vars['ETCD'];
  if (!kubeApiserver || !etcd) throw new Error(`scripts/kube-assets.sh printed no paths:\n${stdout}`);
  return { kubeApiserver, etcd };
}

type RunOptions = { cwd?: string; input?: string; stderr?: 'pipe' | 'inherit'; timeoutMs?: number };

/** Runs a command to completion, collecting output; resolves with the exit code. */
function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      // No input: no stdin pipe (writing to one whose process already exited fails with EPIPE).
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', opts.stderr ?? 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal) stderr += `\n[killed by ${signal}${opts.timeoutMs ? ` after ${opts.timeoutMs} ms` : ''}]`;
      resolve({ stdout, stderr, code: code ?? 1 });
    });
    // A process that exits without reading all of its input: its exit code says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
  });
}

async function runOk(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await run(cmd, args, { cwd });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A port that was free a moment ago (the OS picks it; tiny race accepted). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Self-made CA, an apiserver serving cert for 127.0.0.1/localhost, and a service-account key pair. */
async function makeCerts(dir: string): Promise<void> {
  const o = (...args: string[]) => runOk('openssl', args, dir);
  await o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=redeliver-test-ca');
  await o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr',
    '-subj', '/CN=kube-apiserver');
  await writeFile(path.join(dir, 'apiserver.ext'), [
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
    'extendedKeyUsage=serverAuth',
    'keyUsage=digitalSignature,keyEncipherment',
    '',
  ].join('\n'));
  await o('x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'apiserver.crt', '-days', '2', '-extfile', 'apiserver.ext');
  await o('genrsa', '-out', 'sa.key', '2048');
  await o('rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

// Every child still alive, so an exiting test process never leaves one behind.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
  // A signal would end Node without an 'exit' event: clean up, then re-raise
  // the signal with its default action so the exit status stays the same.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const c of liveChildren) c.kill('SIGKILL');
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

type Proc = { child: ChildProcess; log: string; exited: Promise<void> };

function startProcess(bin: string, args: string[], log: string): Proc {
  const out = createWriteStream(log);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  liveChildren.add(child);
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => {
      liveChildren.delete(child);
      resolve();
    });
    child.on('error', (err) => {
      out.write(`\n[spawn error: ${err.message}]\n`);
      liveChildren.delete(child);
      resolve();
    });
  });
  return { child, log, exited };
}

async function stopProcess(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), STOP_GRACE_MS);
  await p.exited;
  clearTimeout(timer);
}

async function logTail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

type Probe = (signal: AbortSignal) => Promise<boolean>;

/**
 * Polls until `probe` answers true. Waiting on an external process's readiness
 * has no event to hook, so this is bounded polling; a dead process fails fast.
 */
async function waitFor(what: string, proc: Proc, probe: Probe): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError = '';
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready; log tail:\n${await logTail(proc.log)}`);
    }
    try {
      if (await probe(AbortSignal.timeout(5_000))) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready after ${READY_DEADLINE_MS} ms (${lastError}); log tail:\n${await logTail(proc.log)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

type GetOptions = { ca?: string; token?: string; signal: AbortSignal };

/** GET that resolves with the status code and body (node:https, so the test CA is honoured). */
function get(url: string, opts: GetOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, {
      ca: opts.ca,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      signal: opts.signal,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  // JSON is valid YAML; the CA is embedded so the file works on its own.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'redeliver-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'redeliver-test', context: { cluster: 'redeliver-test', user: 'admin', namespace: 'default' } }],
    'current-context': 'redeliver-test',
  }, null, 2);
}

function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`,
    '--initial-cluster-state', 'new',
  ];
}

function apiserverArgs(dir: string, etcdPort: number, port: number, rbac: boolean): string[] {
  const f = (name: string) => path.join(dir, name);
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    // 1.20 still has the insecure port (default 8080); never open it.
    '--insecure-port=0',
    `--cert-dir=${f('certs')}`,
    `--tls-cert-file=${f('apiserver.crt')}`,
    `--tls-private-key-file=${f('apiserver.key')}`,
    `--client-ca-file=${f('ca.crt')}`,
    `--token-auth-file=${f('tokens.csv')}`,
    `--authorization-mode=${rbac ? 'RBAC' : 'AlwaysAllow'}`,
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.0.0.0/24',
    // No kubelets/real network: don't publish the apiserver's own endpoints.
    '--endpoint-reconciler-type=none',
    // No controller-manager creates the `default` ServiceAccount, so this
    // plugin would reject every pod; envtest disables it for the same reason.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

/** Starts etcd and kube-apiserver on free loopback ports; resolves once /readyz is ok. */
export async function startKubeApiServer(opts: StartOptions = {}): Promise<KubeTestEnv> {
  const assets = await findAssets();
  installExitHooks();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redeliver-kube-'));
  liveDirs.add(dir);
  let etcd: Proc | undefined;
  let apiserver: Proc | undefined;
  let etcdData: string | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await stopProcess(apiserver);
      await stopProcess(etcd);
      for (const d of [dir, etcdData]) {
        if (!d) continue;
        await rm(d, { recursive: true, force: true });
        liveDirs.delete(d);
      }
    })();
    return stopping;
  };

  try {
    await makeCerts(dir);
    const token = randomBytes(24).toString('hex');
    // Static token auth: token,user,uid,"groups". system:masters passes RBAC too.
    await writeFile(path.join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`);
    await mkdir(path.join(dir, 'certs'));

    const [etcdPort, peerPort, port] = await threeFreePorts();
    etcdData = await etcdDataDir(dir);
    liveDirs.add(etcdData);
    etcd = startProcess(assets.etcd, etcdArgs(etcdData, etcdPort, peerPort), path.join(dir, 'etcd.log'));
    await waitFor('etcd', etcd, async (signal) => {
      const r = await get(`http://127.0.0.1:${etcdPort}/health`, { signal });
      return r.status === 200 && r.body.includes('true');
    });

    apiserver = startProcess(assets.kubeApiserver, apiserverArgs(dir, etcdPort, port, opts.rbac === true), path.join(dir, 'apiserver.log'));
    const server = `https://127.0.0.1:${port}`;
    const ca = await readFile(path.join(dir, 'ca.crt'), 'utf8');
    // /readyz includes the bootstrap post-start hooks; the `default` namespace
    // is created asynchronously by the bootstrap controller, so wait for it too.
    await waitFor('kube-apiserver', apiserver, async (signal) => {
      const ready = await get(`${server}/readyz`, { ca, token, signal });
      if (ready.status !== 200) return false;
      return (await get(`${server}/api/v1/namespaces/default`, { ca, token, signal })).status === 200;
    });

    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(server, ca, token), { mode: 0o600 });
    const kubectlBin = process.env['KUBECTL'] ?? 'kubectl';
    const kubectl = (args: string[], input?: string) =>
      run(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { input, timeoutMs: KUBECTL_TIMEOUT_MS });
    return { kubeconfig, server, token, dir, kubectl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function threeFreePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [a, b, c] = [...ports] as [number, number, number];
  return [a, b, c];
}

/**
 * etcd fsyncs every write; on tmpfs that costs nothing, which keeps tests fast.
 * Falls back to a subdir of `dir` where there is no /dev/shm.
 */
async function etcdDataDir(dir: string): Promise<string> {
  if (!existsSync('/dev/shm')) return path.join(dir, 'etcd');
  return mkdtemp('/dev/shm/redeliver-etcd-');
}
