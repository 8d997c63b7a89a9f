// docs/providers.md is generated from the catalogue: it must be up to date, have a row and an
// example per provider, and every example must be a valid WebhookEndpoint for the CRD schema.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { PROVIDERS } from '../../../src/domain/providers/index.ts';
import { crossFieldProblems } from '../../../src/domain/resolve.ts';
import type { EndpointResource } from '../../../src/domain/endpoint.ts';
import { createValidator } from '../../../src/k8s/schema.ts';
import { render } from '../../../scripts/providers-doc.ts';

const doc = readFileSync(new URL('../../../docs/providers.md', import.meta.url), 'utf8');

describe('docs/providers.md', () => {
  it('is what scripts/providers-doc.ts generates from the catalogue', () => {
    expect(doc === render(), 'docs/providers.md is out of date: run node scripts/providers-doc.ts').to.equal(true);
  });

  it('has one table row and one valid YAML example per provider', () => {
    const validator = createValidator('webhookendpoints.yaml', 'WebhookEndpoint');
    const examples = [...doc.matchAll(/```yaml\n([\s\S]+?)```/g)].map((m) => parseYaml(m[1]!) as EndpointResource);
    expect(examples.map((e) => e.spec.source.provider)).to.deep.equal(PROVIDERS);
    for (const e of examples) {
      expect(validator.validate(e), e.spec.source.provider).to.deep.equal([]);
      expect(crossFieldProblems(e), e.spec.source.provider).to.deep.equal([]);
      expect(doc).to.include(`| \`${e.spec.source.provider}\` |`);
    }
  });
});
