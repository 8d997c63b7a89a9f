// PayPal (https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod): the
// transmission signature is SHA256withRSA over `transmission id|time|webhook id|CRC32(body)` with
// the key of the certificate at PAYPAL-CERT-URL. PayPal has no npm library that verifies locally,
// so the request is built as that page documents. The certificates come from a test CA made here
// with openssl (root → intermediate → leaf issued to messageverificationcerts.paypal.com), trusted
// through the certificate store's test-only `trustedRoots`; the fetch is injected so no request
// leaves the machine, and the ingest itself runs on a real redis-server.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { expect } from 'chai';
import type { Server } from 'node:http';
import { createIngestApp } from '../../src/ingest/app.ts';
import { createPaypalCertificates } from '../../src/ingest/providers/paypal-certs.ts';
import { verifySignature, type VerifyResult } from '../../src/ingest/verify.ts';
import { createLog } from '../../src/lib/log.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { createKeys } from '../../src/store/keys.ts';
import { createRedis, type RedisClient } from '../../src/store/redis.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { randomPrefix, startTestRedis, type TestRedis } from '../support/redis.ts';

const CERT_URL = 'https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-test';
const WEBHOOK_ID = '8PT597110X687430LKGECATA';
const BODY = JSON.stringify({ id: 'WH-2WR32451HC0233532-67976317FL4543714', event_type: 'PAYMENT.CAPTURE.COMPLETED', resource: { id: 'cap-1' } });

function makeCerts(dir: string) {
  const sh = (script: string) => execFileSync('bash', ['-c', script], { cwd: dir, stdio: 'pipe' });
  sh(`set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Test Root CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/CN=Test Intermediate CA"
printf "basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n" > int.ext
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out int.pem -days 3650 -extfile int.ext
for name in leaf:messageverificationcerts.sandbox.paypal.com rogue:webhooks.example.com; do
  file=\${name%%:*}; host=\${name#*:}
  openssl req -newkey rsa:2048 -nodes -keyout $file.key -out $file.csr -subj "/CN=$host"
  printf "subjectAltName=DNS:$host\\n" > $file.ext
  openssl x509 -req -in $file.csr -CA int.pem -CAkey int.key -CAcreateserial -out $file.pem -days 365 -extfile $file.ext
done`);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { ca: read('ca.pem'), chain: read('leaf.pem') + read('int.pem'), rogue: read('rogue.pem') + read('int.pem'), key: createPrivateKey(read('leaf.key')) };
}

describe('PayPal: certificate-signed webhooks (test CA, real redis-server)', function () {
  this.timeout(30_000);
  let dir: string;
  let certs: ReturnType<typeof makeCerts>;
  const fetched: string[] = [];
  let served = () => certs.chain;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'rd-paypal-'));
    certs = makeCerts(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fetchPem = async (url: string) => {
    fetched.push(url);
    return served();
  };
  const headersFor = (opts: { body?: string; webhookId?: string; time?: string; certUrl?: string } = {}) => {
    const id = 'b2384410-f8d2-11ec-8f6a-4f6ea2f8fc76';
    const time = opts.time ?? new Date().toISOString();
    const message = `${id}|${time}|${opts.webhookId ?? WEBHOOK_ID}|${crc32(opts.body ?? BODY)}`;
    return {
      'paypal-transmission-id': id, 'paypal-transmission-time': time, 'paypal-cert-url': opts.certUrl ?? CERT_URL, 'paypal-auth-algo': 'SHA256withRSA',
      'paypal-transmission-sig': sign('sha256', Buffer.from(message), certs.key).toString('base64'),
    } as Record<string, string>;
  };
  const source = () => endpoint({ name: 'pp', spec: { source: { provider: 'paypal', secretRef: secretRef() }, destination: { url: 'http://127.0.0.1:9/' } }, secrets: [WEBHOOK_ID] }).spec.source;
  const verify = (headers: Record<string, string>, opts: { body?: string; secrets?: string[]; roots?: string[] } = {}): Promise<VerifyResult> =>
    Promise.resolve(verifySignature({
      headers, body: Buffer.from(opts.body ?? BODY), secrets: opts.secrets ?? [WEBHOOK_ID], source: source(), nowMs: Date.now(),
      certificates: createPaypalCertificates({ fetchPem, trustedRoots: opts.roots ?? [certs.ca] }),
    }));
  const reason = async (p: Promise<VerifyResult>) => {
    const r = await p;
    return r.ok ? 'ok' : r.reason;
  };

  it('accepts a transmission signed with the certificate, and the second webhook id during a move', async function () {
    expect(await verify(headersFor())).to.deep.equal({ ok: true, secretIndex: 0 });
    expect(await verify(headersFor(), { secrets: ['OLD-WEBHOOK-ID', WEBHOOK_ID] })).to.deep.equal({ ok: true, secretIndex: 1 });
  });

  it('refuses a tampered body, another webhook id, a stale transmission and each missing header', async function () {
    expect(await reason(verify(headersFor(), { body: BODY.replace('cap-1', 'cap-2') }))).to.equal('signature_invalid');
    expect(await reason(verify(headersFor({ webhookId: 'SOMEONE-ELSES-WEBHOOK' })))).to.equal('signature_invalid');
    expect(await reason(verify(headersFor({ time: new Date(Date.now() - 3_600_000).toISOString() })))).to.equal('timestamp_out_of_tolerance');
    for (const name of Object.keys(headersFor())) {
      const headers = headersFor();
      delete headers[name];
      expect(await reason(verify(headers)), name).to.equal('signature_missing');
    }
  });

  it('fetches certificates only from PayPal API hosts over HTTPS', async function () {
    const before = fetched.length;
    for (const url of ['https://evil.example/v1/notifications/certs/CERT-1', 'http://api.paypal.com/v1/notifications/certs/CERT-1',
      'https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1', 'https://api.paypal.com:8443/v1/notifications/certs/CERT-1',
      'https://user@api.paypal.com/v1/notifications/certs/CERT-1', 'https://api.paypal.com/v1/oauth2/token']) {
      expect(await reason(verify(headersFor({ certUrl: url }))), url).to.equal('certificate_invalid');
    }
    expect(fetched.length).to.equal(before);
  });

  it('refuses a chain that does not end at a trusted root, or a certificate issued to another host', async function () {
    // Node's bundled roots (the default) do not include the test CA.
    expect(await reason(Promise.resolve(verifySignature({
      headers: headersFor(), body: Buffer.from(BODY), secrets: [WEBHOOK_ID], source: source(), nowMs: Date.now(), certificates: createPaypalCertificates({ fetchPem }),
    })))).to.equal('certificate_invalid');
    served = () => certs.rogue;
    try {
      expect(await reason(verify(headersFor()))).to.equal('certificate_invalid');
    } finally {
      served = () => certs.chain;
    }
  });

  it('caches a certificate: a burst of webhooks costs one fetch', async function () {
    const loader = createPaypalCertificates({ fetchPem, trustedRoots: [certs.ca] });
    const before = fetched.length;
    const results = await Promise.all(Array.from({ length: 5 }, () => Promise.resolve(verifySignature({
      headers: headersFor(), body: Buffer.from(BODY), secrets: [WEBHOOK_ID], source: source(), nowMs: Date.now(), certificates: loader,
    }))));
    expect(results.every((r) => r.ok)).to.equal(true);
    expect(fetched.length - before).to.equal(1);
  });

  describe('through the ingest', function () {
    let redis: TestRedis;
    let client: RedisClient;
    let server: Server;
    let base: string;
    let fetchFails = false;
    const keys = createKeys(randomPrefix());

    before(async function () {
      redis = await startTestRedis();
      client = createRedis(redis.url);
      const ep = endpoint({ name: 'paypal', spec: { source: { provider: 'paypal', secretRef: secretRef() }, destination: { url: 'http://127.0.0.1:9/' } }, secrets: [WEBHOOK_ID] });
      const app = createIngestApp({
        redis: client, keys, endpoints: { get: (id) => (id === ep.id ? ep : undefined) }, metrics: createMetrics({ defaults: false }), log: createLog({ level: 'silent' }),
        config: { redisTimeoutMs: 1_000, maxPendingBodyBytes: 1 << 20 },
        certificates: createPaypalCertificates({ trustedRoots: [certs.ca], fetchPem: async (url) => (fetchFails ? Promise.reject(new Error('down')) : fetchPem(url)) }),
      });
      server = app.listen(0, '127.0.0.1');
      await new Promise((ok) => server.once('listening', ok));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(async function () {
      await new Promise((ok) => server?.close(ok));
      await client?.quit();
      await redis?.stop();
    });

    const post = (headers: Record<string, string>, body = BODY) =>
      fetch(`${base}/in/default/paypal`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    const stored = () => client.xlen(keys.endpoint('default/paypal').events);

    it('stores a valid webhook (202) and dedupes its resend by the PayPal event id', async function () {
      const first = await post(headersFor());
      expect(first.status).to.equal(202);
      const again = await post(headersFor());
      expect(again).to.deep.equal({ status: 200, json: { event_id: first.json.event_id, duplicate: true } });
      expect(await stored()).to.equal(1);
    });

    it('answers 401 to a forged webhook and 503 while the certificate cannot be fetched, storing nothing', async function () {
      const forged = await post(headersFor({ webhookId: 'OTHER' }));
      expect([forged.status, forged.json.code]).to.deep.equal([401, 'signature_invalid']);
      fetchFails = true;
      const otherCert = headersFor({ certUrl: CERT_URL.replace('test', 'rotated') });
      const down = await post(otherCert);
      fetchFails = false;
      expect([down.status, down.json.code]).to.deep.equal([503, 'certificate_unavailable']);
      expect(await stored()).to.equal(1);
    });
  });
});
