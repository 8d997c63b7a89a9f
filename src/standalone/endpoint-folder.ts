// Standalone mode's source of resources: a folder of the same YAML `kubectl apply` takes
// (WebhookEndpoint and v1 Secret documents, several per file allowed). A bad file or document is
// reported with the file and field it concerns and skipped; every other endpoint keeps working,
// and an endpoint whose document is broken keeps its last good configuration in the registry.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { endpointId, type EndpointResource, type ResolvedEndpoint } from '../domain/endpoint.ts';
import { crossFieldProblems, resolveEndpoint, ResolveError } from '../domain/resolve.ts';
import type { ResourceValidator } from '../k8s/schema.ts';

export interface FolderProblem {
  file: string;
  field: string;
  message: string;
}

export interface FolderLoad {
  endpoints: ResolvedEndpoint[];
  /** Ids named by documents in the folder, valid or not (they must not be archived). */
  named: Set<string>;
  problems: FolderProblem[];
}

interface Doc {
  file: string;
  index: number;
  value: Record<string, unknown>;
}

async function readDocs(dir: string, problems: FolderProblem[]): Promise<Doc[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const docs: Doc[] = [];
  for (const file of files) {
    const parsed = parseAllDocuments(await readFile(join(dir, file), 'utf8'));
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        problems.push({ file, field: `document ${index + 1}`, message: doc.errors[0]?.message ?? 'invalid YAML' });
        return;
      }
      const value: unknown = doc.toJS();
      if (value && typeof value === 'object') docs.push({ file, index, value: value as Record<string, unknown> });
    });
  }
  return docs;
}

function secretTable(docs: Doc[]): Map<string, Record<string, string>> {
  const secrets = new Map<string, Record<string, string>>();
  for (const { value } of docs.filter((d) => d.value.kind === 'Secret')) {
    const meta = (value.metadata ?? {}) as { name?: string; namespace?: string };
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries((value.data ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, 'base64').toString('utf8');
    Object.assign(data, (value.stringData ?? {}) as Record<string, string>);
    secrets.set(`${meta.namespace ?? 'default'}/${meta.name}`, data);
  }
  return secrets;
}

export async function loadEndpointFolder(dir: string, validator: ResourceValidator): Promise<FolderLoad> {
  const problems: FolderProblem[] = [];
  const docs = await readDocs(dir, problems);
  const secrets = secretTable(docs);
  const lookup = (ns: string, name: string, key: string) => secrets.get(`${ns}/${name}`)?.[key];
  const endpoints: ResolvedEndpoint[] = [];
  const named = new Set<string>();
  for (const doc of docs.filter((d) => d.value.kind === 'WebhookEndpoint')) {
    const meta = (doc.value.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    if (typeof meta.name === 'string') named.add(endpointId(typeof meta.namespace === 'string' ? meta.namespace : 'default', meta.name));
    const report = (field: string, message: string) =>
      problems.push({ file: doc.file, field: `${meta.name ?? `document ${doc.index + 1}`}: ${field}`, message });
    const schemaProblems = validator.validate(doc.value);
    if (schemaProblems.length > 0) {
      for (const p of schemaProblems) report(p.field, p.message);
      continue;
    }
    const resource = doc.value as unknown as EndpointResource;
    const rules = crossFieldProblems(resource);
    if (rules.length > 0) {
      for (const p of rules) report(p.field, p.message);
      continue;
    }
    try {
      endpoints.push(resolveEndpoint(resource, lookup));
    } catch (err) {
      if (err instanceof ResolveError) report(err.field, err.message.slice(err.field.length + 2));
      else throw err;
    }
  }
  return { endpoints, named, problems };
}

/** Calls `onChange` (debounced) when anything in the folder changes. Returns a close function. */
export function watchFolder(dir: string, onChange: () => void, debounceMs = 200): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
