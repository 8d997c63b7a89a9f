// The chart's external-Redis settings against a real redis-server with TLS and a password: the
// ingest Deployment that `helm template` renders (redis.external.url rediss://…, passwordSecret,
// tls.caSecret) has its env resolved the way the kubelet does it (Secret keys, mounted files,
// $(VAR) expansion from the entries before), and the role started with exactly that env reaches
// Redis (readiness ok). Without the CA it must not: the server certificate is really checked.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { TEST_SECRET_KEY } from '../support/app.ts';
import { startRole, type RoleProcess } from '../support/role-process.ts';
import { waitFor } from '../support/wait.ts';
import { freePort } from './prometheus.ts';
import { helmTemplate, runOk, type K8sObject } from './tools.ts';

interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }
interface PodSpec { containers: Array<{ env: EnvVar[]; volumeMounts?: Array<{ name: string; mountPath: string }> }>; volumes?: Array<{ name: string; secret?: { secretName: string } }> }

/**
 * The container's environment as the kubelet builds it: Secret keys from `secrets`, Secret
 * volumes as folders of files under `root`, and $(NAME) replaced by earlier entries.
 */
function resolveEnv(deployment: K8sObject, secrets: Record<string, Record<string, string>>, root: string): Record<string, string> {
  const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const c = pod.containers[0]!;
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    const secret = pod.volumes?.find((v) => v.name === m.name)?.secret?.secretName;
    if (!secret || !secrets[secret]) continue;
    for (const [key, value] of Object.entries(secrets[secret])) {
      writeFileSync(join(root, `${m.name}-${key}`), value);
      mounts.set(`${m.mountPath}/${key}`, join(root, `${m.name}-${key}`));
    }
  }
  const out: Record<string, string> = {};
  for (const e of c.env) {
    let v = e.value;
    if (e.valueFrom?.secretKeyRef) v = secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
    if (e.valueFrom?.fieldRef) v = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? 'ingest-0' : 'redeliver-system';
    if (v === undefined) throw new Error(`env ${e.name}: nothing to resolve it from`);
    v = v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => out[name] ?? m);
    out[e.name] = mounts.get(v) ?? v;
  }
  return out;
}

describe('external Redis with TLS and a password, configured by the chart (real redis-server)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'redeliver-tls-'));
  const password = randomBytes(16).toString('hex');
  let port = 0;
  let redis: ReturnType<typeof spawn> | undefined;
  let role: RoleProcess | undefined;
  let deployment: K8sObject;

  before(async function () {
    const o = (...args: string[]) => runOk('openssl', args, { cwd: dir });
    await o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=redeliver-test-redis-ca');
    await o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'redis.key', '-out', 'redis.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    await o('x509', '-req', '-in', 'redis.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'redis.crt', '-days', '1', '-extfile', 'ext');
    port = await freePort();
    redis = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'redis.crt',
      '--tls-key-file', 'redis.key', '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--requirepass', password,
      '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    await new Promise<void>((ok, fail) => {
      redis!.stdout!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Ready to accept connections')) ok();
      });
      redis!.once('exit', () => fail(new Error(`redis-server exited: ${log}`)));
    });
    const objs = await helmTemplate({
      'redis.external.url': `rediss://localhost:${port}/0`, 'redis.external.passwordSecret.name': 'redis-auth', 'redis.external.tls.caSecret.name': 'redis-ca',
    });
    deployment = objs.find((x) => x.kind === 'Deployment' && x.metadata.name === 'redeliver-ingest')!;
  });
  after(async function () {
    role?.proc.kill('SIGKILL');
    await role?.exited;
    redis?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const secrets = (withCa: boolean) => ({
    'redis-auth': { password },
    'redeliver-key': { key: TEST_SECRET_KEY },
    ...(withCa ? { 'redis-ca': { 'ca.crt': readFileSync(join(dir, 'ca.crt'), 'utf8') } } : {}),
  });
  const readyz = async (r: RoleProcess) => (await fetch(`${r.url}/readyz`)).json() as Promise<{ status: string }>;

  it('connects with the env the chart renders (password expanded into the URL, CA from the mounted Secret)', async function () {
    const env = resolveEnv(deployment, secrets(true), dir);
    expect(env.REDIS_URL).to.equal(`rediss://:${password}@localhost:${port}/0`);
    role = await startRole('ingest', { ...env, REDELIVER_HOST: '127.0.0.1', REDELIVER_PORT: '0' });
    await waitFor(async () => (await readyz(role!)).status === 'ready', 20_000, 'ingest ready on TLS Redis');
    const metrics = await (await fetch(`${role.url}/metrics`)).text();
    expect(metrics).to.match(/^redeliver_redis_connected 1$/m);
    role.proc.kill('SIGTERM');
    await role.exited;
  });

  it('does not connect when the CA is missing (the certificate is verified)', async function () {
    const env = resolveEnv(deployment, secrets(false), dir);
    // No CA Secret: the path names a file that does not exist, as an empty mount would.
    const started = startRole('ingest', { ...env, NODE_EXTRA_CA_CERTS: join(dir, 'absent-ca.crt'), REDELIVER_HOST: '127.0.0.1', REDELIVER_PORT: '0' });
    const err = await started.then((r) => {
      role = r;
      return undefined;
    }, (e: unknown) => e);
    // A role that cannot reach Redis at start exits with the reason.
    expect(String(err)).to.match(/ingest exited \(1\) before it started/);
  });
});
