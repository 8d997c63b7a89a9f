// Validation of resources against the CRDs' own OpenAPI v3 schemas (crds/*.yaml), with the
// defaults they declare applied — what the API server does — so standalone mode and the
// controller accept and refuse exactly what a cluster would. Errors name the field.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

const CRD_DIR = new URL('../../crds/', import.meta.url);

export interface SchemaProblem {
  field: string;
  message: string;
}

export interface ResourceValidator {
  /** Validates in place (fills defaults). Returns the problems, empty when valid. */
  validate(resource: unknown): SchemaProblem[];
}

function loadSchema(file: string): object {
  const crd = parseYaml(readFileSync(new URL(file, CRD_DIR), 'utf8')) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> };
  };
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1') ?? crd.spec.versions[0];
  if (!version) throw new Error(`${file} has no versions`);
  return version.schema.openAPIV3Schema;
}

function fieldOf(err: ErrorObject): string {
  const path = err.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  const missing = err.keyword === 'required' ? (err.params as { missingProperty: string }).missingProperty : undefined;
  return [path, missing].filter(Boolean).join('.') || '(root)';
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface ResourceHeader {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
}

function headerProblems(r: ResourceHeader, kind: string): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  if (r.apiVersion !== 'redeliver.io/v1alpha1') problems.push({ field: 'apiVersion', message: 'must be redeliver.io/v1alpha1' });
  if (r.kind !== kind) problems.push({ field: 'kind', message: `must be ${kind}` });
  const name = r.metadata?.name;
  if (typeof name !== 'string' || name.length > 63 || !NAME.test(name)) {
    problems.push({ field: 'metadata.name', message: 'must be a DNS label (lower-case letters, digits and "-", at most 63)' });
  }
  const ns = r.metadata?.namespace;
  if (ns !== undefined && (typeof ns !== 'string' || !NAME.test(ns))) {
    problems.push({ field: 'metadata.namespace', message: 'must be a DNS label' });
  }
  return problems;
}

export function createValidator(file: 'webhookendpoints.yaml' | 'replayrequests.yaml', kind: string): ResourceValidator {
  const ajv = new Ajv({ strict: false, useDefaults: true, allErrors: true });
  // The formats Kubernetes schemas use; the API server checks them the same way.
  ajv.addFormat('int64', true);
  ajv.addFormat('int32', true);
  ajv.addFormat('date-time', (v: string) => /^\d{4}-\d\d-\d\dT/.test(v) && !Number.isNaN(Date.parse(v)));
  const check: ValidateFunction = ajv.compile(loadSchema(file));
  return {
    validate(resource) {
      if (!resource || typeof resource !== 'object') return [{ field: '(root)', message: 'must be a mapping' }];
      const problems = headerProblems(resource as ResourceHeader, kind);
      if (!check(resource)) {
        for (const err of check.errors ?? []) problems.push({ field: fieldOf(err), message: err.message ?? 'is invalid' });
      }
      return problems;
    },
  };
}
