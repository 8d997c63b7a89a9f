// Turning a validated WebhookEndpoint resource into what the data plane needs, with its secrets
// looked up through a function the caller provides (Kubernetes Secrets in the controller, Secret
// documents in the YAML folder in standalone mode). Also the cross-field rules the CRD states in
// CEL, checked here too so that clusters without CEL (and standalone mode) refuse the same things.
import { endpointId, type EndpointResource, type ResolvedEndpoint } from './endpoint.ts';

export type SecretLookup = (namespace: string, name: string, key: string) => string | undefined;

export interface FieldProblem {
  field: string;
  message: string;
}

export function crossFieldProblems(res: EndpointResource): FieldProblem[] {
  const s = res.spec;
  const out: FieldProblem[] = [];
  if (s.ordering.mode === 'key' && !s.ordering.key) {
    out.push({ field: 'spec.ordering.key', message: 'is required when spec.ordering.mode is "key"' });
  }
  if (s.source.provider === 'hmac' && !s.source.hmac) {
    out.push({ field: 'spec.source.hmac', message: 'is required when spec.source.provider is "hmac"' });
  }
  if (s.source.provider !== 'none' && !s.source.secretRef) {
    out.push({ field: 'spec.source.secretRef', message: `is required for provider "${s.source.provider}"` });
  }
  if (s.source.verifyTokenKey && !s.source.secretRef) {
    out.push({ field: 'spec.source.verifyTokenKey', message: 'needs spec.source.secretRef' });
  }
  for (const f of ['eventIdFrom', 'eventTypeFrom'] as const) {
    const v = s.source[f];
    if (v && (v.header === undefined) === (v.jsonPointer === undefined)) {
      out.push({ field: `spec.source.${f}`, message: 'must set exactly one of header or jsonPointer' });
    }
  }
  if (s.retry.backoff.maxSeconds < s.retry.backoff.initialSeconds) {
    out.push({ field: 'spec.retry.backoff.maxSeconds', message: 'must be at least initialSeconds' });
  }
  return out;
}

export class ResolveError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function sourceSecrets(res: EndpointResource, namespace: string, lookup: SecretLookup): string[] {
  const ref = res.spec.source.secretRef;
  if (!ref) return [];
  const found = ref.keys.map((key) => lookup(namespace, ref.name, key)).filter((v): v is string => v !== undefined && v !== '');
  if (found.length === 0) {
    throw new ResolveError('spec.source.secretRef', `Secret "${namespace}/${ref.name}" has none of the keys ${ref.keys.join(', ')}`);
  }
  return found;
}

function signingSecret(res: EndpointResource, namespace: string, lookup: SecretLookup): string | undefined {
  const ref = res.spec.destination.signing?.secretRef;
  if (!ref) return undefined;
  const value = lookup(namespace, ref.name, ref.key);
  if (!value) throw new ResolveError('spec.destination.signing.secretRef', `Secret "${namespace}/${ref.name}" has no key "${ref.key}"`);
  return value;
}

/** The handshake token (spec.source.verifyTokenKey) from the secretRef Secret. */
function verifyToken(res: EndpointResource, namespace: string, lookup: SecretLookup): string | undefined {
  const key = res.spec.source.verifyTokenKey;
  const ref = res.spec.source.secretRef;
  if (!key || !ref) return undefined;
  const value = lookup(namespace, ref.name, key);
  if (!value) throw new ResolveError('spec.source.verifyTokenKey', `Secret "${namespace}/${ref.name}" has no key "${key}"`);
  return value;
}

export function resolveEndpoint(res: EndpointResource, lookup: SecretLookup, now = new Date()): ResolvedEndpoint {
  const namespace = res.metadata.namespace ?? 'default';
  const signing = signingSecret(res, namespace, lookup);
  const token = verifyToken(res, namespace, lookup);
  return {
    id: endpointId(namespace, res.metadata.name),
    namespace,
    name: res.metadata.name,
    generation: res.metadata.generation ?? 1,
    spec: res.spec,
    sourceSecrets: sourceSecrets(res, namespace, lookup),
    ...(signing ? { signingSecret: signing } : {}),
    ...(token ? { verifyToken: token } : {}),
    updatedAt: now.toISOString(),
  };
}
