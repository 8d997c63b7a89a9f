// Redis over TLS with AUTH: a real redis-server that listens only on a TLS port, asks clients for
// a certificate signed by the test's own CA (made here with openssl, thrown away after), and whose
// default user is off, so only the ACL user with its password gets in. Ingest and dispatch run
// through it; a wrong password, an unknown CA and unreadable files are refused at start.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { freePort, startRedisServer, type RedisServer } from '../../src/lib/redis-server.ts';
import { endpoint } from '../support/fixtures.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const run = promisify(execFile);
const PASSWORD = 'tls-test-password-1f9c';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it. */
async function makeCerts(dir: string, name: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '1', '-subj', `/CN=${name}-ca`);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-${who}.key`, '-out', `${name}-${who}.csr`, '-subj', `/CN=${who}`);
    await ssl('x509', '-req', '-in', `${name}-${who}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial',
      '-out', `${name}-${who}.crt`, '-days', '1', '-extfile', 'san.ext');
  }
}

describe('Redis over TLS with ACL auth (real redis-server)', function () {
  this.timeout(60_000);
  let dir: string;
  let server: RedisServer;
  let url: string;
  let receiver: Receiver;
  const apps: TestApp[] = [];
  const file = (name: string) => join(dir, name);
  const tlsConfig = () => ({
    redisTlsCaFile: file('test-ca.crt'), redisTlsCertFile: file('test-client.crt'), redisTlsKeyFile: file('test-client.key'),
    redisUsername: 'redeliver', redisPasswordFile: file('password'),
  });

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'redeliver-tls-'));
    await makeCerts(dir, 'test');
    await makeCerts(dir, 'other');
    writeFileSync(file('password'), PASSWORD + '\n'); // as a mounted Secret holds it
    writeFileSync(file('wrong-password'), 'not-the-password\n');
    const tlsPort = await freePort();
    server = await startRedisServer({
      dataDir: join(dir, 'data'),
      args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', file('test-server.crt'), '--tls-key-file', file('test-server.key'),
        '--tls-ca-cert-file', file('test-ca.crt'), '--tls-auth-clients', 'yes',
        '--user', 'redeliver', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'],
    });
    url = `rediss://127.0.0.1:${tlsPort}`;
    receiver = await startReceiver();
  });
  after(async function () {
    for (const a of apps.splice(0)) await a.close();
    await receiver?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests and delivers through TLS with a client certificate, as the ACL user from a password file', async function () {
    // A stale password in the URL: the configured password file wins.
    const app = await startTestApp({ redisUrl: url.replace('rediss://', 'rediss://redeliver:stale-password@'), roles: ['ingest', 'dispatcher'], config: tlsConfig() });
    apps.push(app);
    const ep = endpoint({ name: 'tls', spec: { source: { provider: 'none' }, destination: { url: `${receiver.url}/tls` } } });
    await app.putEndpoint(ep);
    for (let n = 0; n < 3; n++) expect((await app.post(`/in/${ep.id}`, JSON.stringify({ n }))).status).to.equal(202);
    await receiver.until((r) => r.length === 3, 20_000);
    expect(receiver.receipts.map((r) => JSON.parse(r.body.toString()).n)).to.deep.equal([0, 1, 2]);
    expect(await app.shared.redis.call('ACL', 'WHOAMI')).to.equal('redeliver');
  });

  it('refuses to start with a wrong password or a server certificate from an unknown CA', async function () {
    const wrongPassword = await startTestApp({ redisUrl: url, config: { ...tlsConfig(), redisPasswordFile: file('wrong-password') } })
      .then((a) => apps.push(a) && 'started', (err: Error) => err.message);
    expect(wrongPassword).to.match(/WRONGPASS|invalid username-password/);
    const unknownCa = await startTestApp({ redisUrl: url, config: { ...tlsConfig(), redisTlsCaFile: file('other-ca.crt') } })
      .then((a) => apps.push(a) && 'started', (err: Error) => err.message);
    // Node's TLS check, passed on with the start-up error.
    expect(unknownCa).to.match(/certificate|self[- ]signed/i);
  });

  it('names the field of a file that cannot be read or is not PEM', async function () {
    const failure = (config: Record<string, unknown>) =>
      startTestApp({ redisUrl: url, config: { ...tlsConfig(), ...config } }).then((a) => apps.push(a) && 'started', (err: Error) => err.message);
    expect(await failure({ redisTlsCaFile: file('missing-ca.crt') })).to.match(/^redisTlsCaFile: cannot read/);
    expect(await failure({ redisPasswordFile: file('missing') })).to.match(/^redisPasswordFile: cannot read/);
    expect(await failure({ redisTlsKeyFile: file('password') })).to.match(/^redisTlsKeyFile: is not a PEM file/);
  });
});
