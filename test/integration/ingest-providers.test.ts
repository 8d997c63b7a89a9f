// Every catalogue provider through the real ingest (HTTP on port 0, a real redis-server): a request
// signed with the provider's own library or documented formula (test/support/providers/cases.ts)
// is stored (202); a tampered body, a wrong secret, a stale timestamp and a missing signature get
// 401 with the precise code and leave Redis unchanged; a re-sent copy is deduplicated by the
// provider's own id (or by the body digest where the scheme has no id and no signed timestamp).
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { endpoint, secretRef } from '../support/fixtures.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { CASES, type ProviderCase } from '../support/providers/cases.ts';
import { signedRequest, staleSeconds, tampered, withoutSignature, type Signed } from '../support/providers/run.ts';

const dest = { url: 'http://127.0.0.1:9/hook' };

describe('ingest: every provider of the catalogue (real redis-server)', function () {
  let redis: TestRedis;
  let app: TestApp;
  let client: Redis;

  before(async function () {
    redis = await startTestRedis();
    app = await startTestApp({ redisUrl: redis.url });
    client = new Redis(redis.url);
    for (const c of CASES) {
      await app.putEndpoint(endpoint({ name: c.provider, spec: { source: { provider: c.provider, secretRef: secretRef(2), ...c.spec }, destination: dest }, secrets: [c.secrets[1], c.secrets[0]] }));
    }
  });
  after(async function () {
    await client?.quit();
    await app?.close();
    await redis?.stop();
  });

  const k = (c: ProviderCase) => app.shared.keys.endpoint(`default/${c.provider}`);
  const post = (c: ProviderCase, req: Signed) => app.post(`/in/default/${c.provider}`, req.body, { 'content-type': 'application/json', ...req.headers });
  const snapshot = async () => {
    const keys = (await client.keys(`${app.shared.keys.prefix}:{*`)).sort();
    const lens = await Promise.all(keys.filter((key) => key.endsWith(':events') || key.includes(':q:')).map((key) => client.xlen(key)));
    return { keys, lens };
  };

  for (const c of CASES) {
    describe(c.provider, function () {
      it('stores a valid request (202) with its event type, recording which headers were verification material', async function () {
        const req = await signedRequest(c, { id: `ok-${c.provider}` });
        const res = await post(c, req);
        expect(res.status, JSON.stringify(res.json)).to.equal(202);
        const entries = await client.xrange(k(c).events, '-', '+');
        const raw = entries.at(-1)![1];
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]!] = raw[i + 1]!;
        expect(fields.id).to.equal(res.json.event_id);
        expect(fields.type).to.equal(c.eventType);
        if (c.signatureHeader && c.signatureHeader !== 'authorization') {
          const recorded = fields.vh!.split(',');
          expect(recorded.some((h) => h.startsWith(c.signatureHeader))).to.equal(true);
        }
      });

      it('refuses tampered, wrongly signed, stale and unsigned requests with 401 and the precise code, storing nothing', async function () {
        const before = await snapshot();
        const req = await signedRequest(c, { id: `bad-${c.provider}` });
        const cases: Array<[string, Signed, string]> = [
          ['wrong secret', await signedRequest(c, { id: `bad-${c.provider}`, secret: c.secrets[2] }), 'signature_invalid'],
          ['missing signature', withoutSignature(c, req), 'signature_missing'],
        ];
        const body = tampered(c, req.body);
        if (body !== undefined) cases.push(['tampered', { ...req, body }, 'signature_invalid']);
        if (c.timestamped) cases.push(['stale', await signedRequest(c, { id: `bad-${c.provider}`, now: staleSeconds() }), 'timestamp_out_of_tolerance']);
        for (const [name, r, code] of cases) {
          const res = await post(c, r);
          expect(res.status, `${name}: ${JSON.stringify(res.json)}`).to.equal(401);
          expect(res.json.code, name).to.equal(code);
        }
        expect(await snapshot()).to.deep.equal(before);
      });

      it(`deduplicates a re-sent copy (${c.dedupe})`, async function () {
        const req = await signedRequest(c, { id: `dup-${c.provider}` });
        const first = await post(c, req);
        const second = await post(c, req);
        expect(first.status).to.equal(202);
        if (c.dedupe === 'none') {
          expect(second.status).to.equal(202);
        } else {
          expect(second.status).to.equal(200);
          expect(second.json).to.deep.equal({ event_id: first.json.event_id, duplicate: true });
        }
      });
    });
  }
});
