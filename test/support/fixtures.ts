// Endpoint fixtures: resources validated and defaulted by the real CRD schema, then resolved.
import { type EndpointResource, type ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import { resolveEndpoint } from '../../src/domain/resolve.ts';
import { createValidator } from '../../src/k8s/schema.ts';

const validator = createValidator('webhookendpoints.yaml', 'WebhookEndpoint');

export interface EndpointFixture {
  name: string;
  namespace?: string;
  spec: Record<string, unknown>;
  secrets?: string[];
  signingSecret?: string;
}

/** Builds a ResolvedEndpoint exactly as the loader would, defaults from the CRD included. */
export function endpoint(f: EndpointFixture): ResolvedEndpoint {
  const res = {
    apiVersion: 'redeliver.io/v1alpha1',
    kind: 'WebhookEndpoint',
    metadata: { name: f.name, namespace: f.namespace ?? 'default' },
    spec: structuredClone(f.spec),
  };
  const problems = validator.validate(res);
  if (problems.length > 0) throw new Error(`fixture ${f.name}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
  const secrets = f.secrets ?? [];
  return resolveEndpoint(res as unknown as EndpointResource, (_ns, _name, key) => {
    if (key === 'signing') return f.signingSecret;
    const i = Number(key.replace('k', ''));
    return secrets[i];
  });
}

/** secretRef for fixtures: keys k0, k1, … map to `secrets[0]`, `secrets[1]`, … */
export const secretRef = (n = 1) => ({ name: 'fixture', keys: Array.from({ length: n }, (_, i) => `k${i}`) });
