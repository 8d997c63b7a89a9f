// What the management API shows and hides (no I/O): seed-001 delivery fields, no internal fields,
// no secrets, no signature headers, no payload for the read scope (seed 002); API keys and
// cursors; the OpenAPI document's schemas.
import { expect } from 'chai';
import { loadConfig } from '../../src/config/index.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { matchKey, parseKeyEntry, parseKeyFile, presentedKey } from '../../src/api/auth.ts';
import { decodeCursor, encodeCursor } from '../../src/api/http.ts';
import { OPENAPI } from '../../src/api/openapi.ts';
import { checkResponse } from '../../src/api/schemas.ts';
import { deliveryView, endpointView, eventView, redactUrl, withoutSignatures } from '../../src/api/views.ts';
import { endpoint, secretRef } from '../support/fixtures.ts';

const record = {
  id: 'd1', endpoint_id: 'default/a', event_id: 'e1', event_type: 'invoice.paid', event_sid: '1-0', status: 'FAILED', attempts: '3', max_attempts: '8',
  resend_seq: '0', partition: '2', ordering_key: 'cus_1', created_at: '2026-01-15T10:30:00Z', updated_at: '2026-01-15T10:30:01Z', next_attempt_at: '',
  next_attempt_ms: '', last_attempt_at: '2026-01-15T10:30:01Z', last_attempt_ms: '1', send_token: 'disp:4', last_response_status: '503',
  last_response_body: 'busy', last_error: '', last_failure_reason: 'consumer_5xx',
};

describe('management API views (unit)', function () {
  it('maps a delivery record to the seed-001 fields and drops internal ones', function () {
    const v = deliveryView(record, 'read');
    expect(v).to.deep.equal({
      id: 'd1', endpoint_id: 'default/a', event_id: 'e1', event_type: 'invoice.paid', status: 'FAILED', attempts: 3, max_attempts: 8, resend_seq: 0,
      origin: 'ingest', partition: 2, created_at: '2026-01-15T10:30:00Z', updated_at: '2026-01-15T10:30:01Z', last_attempt_at: '2026-01-15T10:30:01Z',
      response_status_code: 503, response_body: 'busy', failure_reason: 'consumer_5xx',
    });
    expect(checkResponse('GET', '/api/v1/deliveries', 200, { items: [v], next_cursor: null })).to.deep.equal([]);
  });

  it('never shows signature headers (provider ones and the endpoint\'s HMAC header), nor the body to the read scope', function () {
    const headers = { 'Stripe-Signature': 't=1,v1=x', 'x-hub-signature': 'sha1=x', 'x-hub-signature-256': 'sha256=x', 'x-shopify-hmac-sha256': 'x',
      'webhook-signature': 'v1,x', 'x-acme-mac': 'x', 'webhook-id': 'msg_1', 'content-type': 'application/json' };
    expect(withoutSignatures(headers, 'X-Acme-Mac')).to.deep.equal({ 'webhook-id': 'msg_1', 'content-type': 'application/json' });
    const stored = { sid: '1-0', endpointId: 'default/a', fields: { id: 'e1', type: 't', pid: '', at: '2026-01-15T10:30:00Z' }, headers, body: Buffer.from('{"card":"4242"}') };
    const read = eventView(stored, 'd1', 'read', 'x-acme-mac');
    expect(read).to.include({ body_redacted: true, body_size: 15 }).and.not.have.any.keys('body');
    expect(eventView(stored, 'd1', 'operator', undefined)).to.include({ body: '{"card":"4242"}', body_encoding: 'utf8' });
    expect(eventView({ ...stored, body: Buffer.from([0xc3, 0x28]) }, null, 'operator', undefined)).to.include({ body: 'wyg=', body_encoding: 'base64' });
  });

  it('shows endpoints without secrets: no header values, no URL credentials, the query string to operators only', function () {
    const ep = endpoint({ name: 'a', spec: { source: { provider: 'github', secretRef: secretRef() }, destination: { url: 'https://u:pw@svc.test/hook?token=t0k', headers: { authorization: 'Bearer s3cret' } } }, secrets: ['gh-s3cret'] });
    const health = { backlog: 0, held: 0, oldestPendingMs: undefined, blocked: {}, lastDeliveredAt: undefined, destination: { status: 'unknown' as const, lastClassification: undefined, lastAttemptAt: undefined }, counters: {} };
    const text = JSON.stringify(endpointView(ep, health, 'read'));
    for (const secret of ['s3cret', 'pw@', 't0k', 'gh-s3cret']) expect(text).to.not.include(secret);
    expect(JSON.stringify(endpointView(ep, health, 'operator'))).to.include('token=t0k').and.not.include('pw@');
    expect(redactUrl('not a url', 'operator')).to.equal('[invalid url]');
    expect(checkResponse('GET', '/api/v1/endpoints/default/a', 200, endpointView(ep, health, 'read'))).to.deep.equal([]);
  });

  it('parses API keys (scope:key, optionally team-scoped), hashes them, and finds them in constant time by hash', function () {
    const K1 = 'k1-0123456789abcdef0123456789abcdef';
    const K2 = 'k2-fedcba9876543210fedcba9876543210';
    const op = parseKeyEntry(`operator:${K1}`, 'apiKeys[0]');
    expect(op.scope).to.equal('operator');
    expect(op.id).to.match(/^key_[0-9a-f]{12}$/);
    expect(JSON.stringify(op)).to.not.include(K1);
    expect(() => parseKeyEntry(`admin:${K1}`, 'apiKeys[1]')).to.throw(/apiKeys\[1\]: must be "read:<key>"/);
    expect(() => parseKeyEntry('read:', 'apiKeys[2]')).to.throw(/apiKeys\[2\]/);
    const keys = parseKeyFile(`# comment\n\noperator:${K1}\n  read@team-a,team-b:${K2}  \r\n`, '/etc/keys');
    expect(keys.map((k) => k.scope)).to.deep.equal(['operator', 'read']);
    expect(keys[1]!.namespaces).to.deep.equal(['team-a', 'team-b']);
    expect(() => parseKeyFile(`operator:${K1}\nbogus\n`, '/etc/keys')).to.throw(/\/etc\/keys: line 2/);
    expect(() => parseKeyEntry(`read@Team_A:${K2}`, 'apiKeys[3]')).to.throw(/apiKeys\[3\]/);
    expect(matchKey(keys, K2)).to.deep.equal({ id: keys[1]!.id, scope: 'read', namespaces: ['team-a', 'team-b'] });
    expect(matchKey(keys, 'k3')).to.equal(undefined);
    expect(presentedKey({ 'x-api-key': 'k1' })).to.equal('k1');
    expect(presentedKey({ authorization: 'Bearer k2' })).to.equal('k2');
    expect(presentedKey({ authorization: 'Basic k2' })).to.equal(undefined);
  });

  it('refuses weak API keys at load, naming the entry, the key id and the rule, never the key', function () {
    for (const [entry, rule] of [['operator:Qz7', /at least 32 characters \(this one has 3\)/], [`read:${'ab'.repeat(20)}`, /at least 10 different characters/]] as const) {
      let err: Error | undefined;
      try {
        parseKeyEntry(entry, 'apiKeys[0]');
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).to.match(/^apiKeys\[0\]: key key_[0-9a-f]{12} is too weak/).and.match(rule);
      expect(err?.message).to.not.include(entry.split(':')[1]!);
    }
    expect(() => parseKeyFile('operator:short\n', '/etc/keys')).to.throw(/\/etc\/keys: line 1: key key_[0-9a-f]{12} is too weak/);
    // At config load, before anything starts (the config file or REDELIVER_API_KEYS).
    expect(() => loadConfig({ env: { REDELIVER_API_KEYS: `read:${'x'.repeat(40)},operator:a` } })).to.throw(/^apiKeys\[0\]: key key_[0-9a-f]{12} is too weak: an API key needs at least 10 different/);
  });

  it('round-trips cursors and refuses foreign or forged ones', function () {
    const c = encodeCursor('deliveries', { sid: '1700000000000-3', ep: 'default/a' });
    expect(decodeCursor('deliveries', c)).to.deep.equal({ sid: '1700000000000-3', ep: 'default/a' });
    for (const bad of ['%%%', encodeCursor('events', { sid: '1-0' }), Buffer.from('{"k":"deliveries","s":"+"}').toString('base64url')]) {
      expect(() => decodeCursor('deliveries', bad)).to.throw().with.property('code', 'invalid_cursor');
    }
  });

  it('has an OpenAPI document whose schemas all compile and whose refs all resolve', function () {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    ajv.addFormat('date-time', true);
    for (const [name, schema] of Object.entries(OPENAPI.components.schemas)) ajv.addSchema(JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', '')) as object, name);
    for (const name of Object.keys(OPENAPI.components.schemas)) expect(() => ajv.getSchema(name), name).to.not.throw();
    const refs = [...JSON.stringify(OPENAPI).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    for (const [, kind, name] of refs) expect((OPENAPI.components as Record<string, Record<string, unknown>>)[kind!]![name!], `${kind}/${name}`).to.not.equal(undefined);
    expect(checkResponse('GET', '/api/v1/deliveries/x', 418, {})).to.have.length(1);
    expect(checkResponse('PATCH', '/api/v1/deliveries/x', 200, {})).to.have.length(1);
  });
});
