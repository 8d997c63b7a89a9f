// The WebhookEndpoint CRD on a real kube-apiserver takes every provider of the catalogue (each
// example of docs/providers.md is created as written, defaults applied), and refuses an unknown
// provider id or bodyDedupe value naming the field.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { PROVIDERS } from '../../src/domain/providers/index.ts';
import type { KubeTestEnv } from '../support/kube.ts';
import { ok, startKubeWithCrds, SUITE_TIMEOUT_MS, webhookEndpoint, yamlDoc } from './support.ts';

describe('CRD: the provider catalogue on a real kube-apiserver', function () {
  this.timeout(SUITE_TIMEOUT_MS);
  let env: KubeTestEnv;

  before(async function () {
    env = await startKubeWithCrds();
  });
  after(async function () {
    await env?.stop();
  });

  it('creates the example of every provider from docs/providers.md, with the source defaults applied', async function () {
    const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
    const examples = [...doc.matchAll(/```yaml\n([\s\S]+?)```/g)].map((m) => m[1]!);
    expect(examples).to.have.length(PROVIDERS.length);
    ok(await env.kubectl(['apply', '-f', '-'], examples.join('---\n')));
    const list = JSON.parse(ok(await env.kubectl(['get', 'webhookendpoints', '-o', 'json']))) as {
      items: Array<{ spec: { source: { provider: string; bodyDedupe?: string; deliverHandshakes?: boolean; toleranceSeconds?: number } } }>;
    };
    expect(list.items.map((i) => i.spec.source.provider).sort()).to.deep.equal([...PROVIDERS].sort());
    for (const item of list.items) {
      expect(item.spec.source).to.include({ bodyDedupe: 'auto', deliverHandshakes: false });
      // No server default: the provider's own tolerance applies unless the resource sets one.
      expect(item.spec.source).to.not.have.property('toleranceSeconds');
    }
  });

  it('refuses an unknown provider id and an unknown bodyDedupe value, naming the field', async function () {
    const bad = (source: Record<string, unknown>) => env.kubectl(['apply', '-f', '-'], yamlDoc(webhookEndpoint('bad', { source, destination: { url: 'http://example.com/x' } })));
    const provider = await bad({ provider: 'acme-pay', secretRef: { name: 's', keys: ['k'] } });
    expect(provider.code).to.not.equal(0);
    expect(provider.stderr).to.include('spec.source.provider');
    const dedupe = await bad({ provider: 'github', secretRef: { name: 's', keys: ['k'] }, bodyDedupe: 'sometimes' });
    expect(dedupe.code).to.not.equal(0);
    expect(dedupe.stderr).to.include('spec.source.bodyDedupe');
  });
});
