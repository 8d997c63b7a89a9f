// The YAML folder as a source of WebhookEndpoint resources, fed through the same observe → plan →
// apply as the controller's informers (the EndpointSync the composition root hands in): so the
// ordering-layout guard holds here too, an invalid document keeps the last good version of its
// endpoint running, and an unchanged document writes nothing. Only deleting an endpoint's document
// (or `state: archived`) archives it. What the controller writes to the API server — status and
// Events — is kept in memory and logged here: an invalid document is one error naming its file and
// line, logged when it becomes invalid, not at every sync.
import type { Log } from '../lib/log.ts';
import { ingestPath } from '../domain/endpoint.ts';
import type { EndpointSync, EndpointTarget } from '../k8s/endpoint-source.ts';
import { FINALIZER, type EndpointStatus, type WebhookEndpointObject } from '../k8s/resources.ts';
import type { ResourceValidator } from '../k8s/schema.ts';
import type { SecretRead } from '../k8s/secrets.ts';
import type { Registry } from '../store/registry.ts';
import { createFolderReader, secretTable, watchFolder, type FolderDoc } from './endpoint-folder.ts';

export interface FolderSourceDeps {
  dir: string;
  registry: Registry;
  validator: ResourceValidator;
  log: Log;
  /** Builds the shared observe → plan → apply for a target (src/controller/endpoint-sync.ts). */
  createSync(target: EndpointTarget): EndpointSync;
  /** How often the folder is synced without a change (status, a waiting layout change). */
  refreshMs?: number;
}

export interface FolderSource {
  /** Syncs the folder now (calls are queued, never run at once). */
  sync(): Promise<void>;
  /** Endpoints of the folder the registry serves (valid, active), by id. */
  loaded(): string[];
  close(): void;
}

const SERVING_REASONS = new Set(['Registered', 'OrderingChangeRefused']);

export async function startFolderSource(deps: FolderSourceDeps): Promise<FolderSource> {
  const { log } = deps;
  const read = createFolderReader(deps.dir);
  const statuses = new Map<string, EndpointStatus>();
  const docOf = new Map<string, FolderDoc>();
  const generations = new Map<string, { json: string; generation: number }>();
  const reported = new Map<string, string>();
  let secrets = new Map<string, Record<string, string>>();

  const where = (obj: WebhookEndpointObject, field?: string) => {
    const doc = docOf.get(`${obj.metadata.namespace}/${obj.metadata.name}`);
    return doc ? { file: path(doc.file), line: field ? doc.lineOf(field) : doc.lineOf('metadata.name') } : { file: undefined, line: undefined };
  };

  const target: EndpointTarget = {
    async secrets(res) {
      const out = new Map<string, SecretRead>();
      for (const n of [res.spec.source.secretRef?.name, res.spec.destination.signing?.secretRef.name]) {
        const data = n ? secrets.get(`${res.metadata.namespace}/${n}`) : undefined;
        if (n && data) out.set(n, { data });
      }
      return out;
    },
    addFinalizer: async (obj) => obj,
    removeFinalizer: async () => undefined,
    async event(obj, eventType, reason, message) {
      const endpoint = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (reason === 'InvalidSpec') {
        // "field: message; …" — the first field locates the line.
        const field = message.split(':')[0]!;
        const at = where(obj, field);
        log.error({ endpoint, ...at, field }, `${at.file}:${at.line ?? '?'}: invalid endpoint ${endpoint}: ${message}`);
      } else if (eventType === 'Warning' && reason !== 'Blocked' && reason !== 'DestinationUnhealthy') {
        log.warn({ endpoint, reason, ...where(obj) }, message);
      } else {
        // Blocked and destination health are the dispatcher's to log (it sees them first).
        log.debug({ endpoint, reason }, message);
      }
    },
    async status(obj, status) {
      statuses.set(`${obj.metadata.namespace}/${obj.metadata.name}`, status);
    },
  };
  const syncOne = deps.createSync(target);

  /**
   * The document's generation: a new one when it changed; on its first read, the stored one if it
   * still says what the registry holds (so a restart writes nothing).
   */
  const generationOf = async (doc: FolderDoc, id: string): Promise<number> => {
    const json = JSON.stringify(doc.value.spec ?? null);
    const seen = generations.get(id);
    if (seen && seen.json === json) return seen.generation;
    let generation = (seen?.generation ?? 0) + 1;
    if (!seen) {
      const stored = await deps.registry.get(id).catch(() => undefined);
      const copy = structuredClone(doc.value) as { spec?: unknown };
      const same = stored !== undefined && deps.validator.validate(copy).length === 0 && JSON.stringify(copy.spec) === JSON.stringify(stored.spec);
      generation = same ? stored.generation : (stored?.generation ?? 0) + 1;
    }
    generations.set(id, { json, generation });
    return generation;
  };

  /** The resource as the controller would get it from the API server. */
  const objectOf = async (doc: FolderDoc, id: string, namespace: string, name: string): Promise<WebhookEndpointObject> => {
    const generation = await generationOf(doc, id);
    const status = statuses.get(id);
    return {
      apiVersion: String(doc.value.apiVersion ?? ''), kind: 'WebhookEndpoint',
      metadata: { name, namespace, uid: id, generation, finalizers: [FINALIZER] },
      spec: doc.value.spec as WebhookEndpointObject['spec'],
      ...(status ? { status } : {}),
    };
  };

  const path = (file: string) => `${deps.dir.replace(/\/$/, '')}/${file}`;

  /** A file that does not parse: one error line, again only when the error changes. */
  const report = (problems: Array<{ file: string; line: number | undefined; message: string }>) => {
    for (const p of problems) {
      const text = `${path(p.file)}:${p.line ?? '?'}: ${p.message}; the file's last good version stays in effect`;
      if (reported.get(p.file) !== text) log.error({ file: path(p.file), line: p.line }, text);
      reported.set(p.file, text);
    }
    for (const f of [...reported.keys()]) if (!problems.some((p) => p.file === f)) reported.delete(f);
  };

  const index = (docs: FolderDoc[]) => {
    docOf.clear();
    for (const doc of docs.filter((d) => d.value.kind === 'WebhookEndpoint')) {
      const meta = (doc.value.metadata ?? {}) as { name?: unknown; namespace?: unknown };
      if (typeof meta.name !== 'string' || !meta.name) {
        log.error({ file: path(doc.file), line: doc.lineOf('metadata') }, `${path(doc.file)}: document ${doc.index + 1}: metadata.name is required`);
        continue;
      }
      const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
      docOf.set(`${namespace}/${meta.name}`, doc);
    }
  };

  /** Gone from the folder: archived, as the controller's finalizer does for a deleted resource. */
  const archiveGone = async () => {
    for (const ep of await deps.registry.list()) {
      if (docOf.has(ep.id) || ep.spec.state === 'archived') continue;
      generations.delete(ep.id);
      statuses.delete(ep.id);
      await syncOne({
        apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', spec: ep.spec,
        metadata: { name: ep.name, namespace: ep.namespace, uid: ep.id, deletionTimestamp: new Date().toISOString(), finalizers: [FINALIZER] },
      });
      log.info({ endpoint: ep.id }, `endpoint removed from the folder: archived (${ingestPath(ep.id)} answers 410)`);
    }
  };

  let lastLoaded = '';
  const syncFolder = async () => {
    const { docs, problems } = await read();
    report(problems);
    secrets = secretTable(docs);
    index(docs);
    for (const [id, doc] of docOf) {
      const [namespace, name] = [id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1)];
      await syncOne(await objectOf(doc, id, namespace, name)).catch((err: unknown) => log.error({ endpoint: id, err }, 'endpoint sync failed'));
    }
    // A file that does not parse may hold endpoints whose last good version is not known (a
    // restart forgets it): archiving what is "missing" then would answer 410 for a typo. Only a
    // folder that reads cleanly archives what left it.
    if (problems.length === 0) await archiveGone();
    const now = loaded().join(',');
    if (now !== lastLoaded) log.info({ dir: deps.dir, endpoints: loaded(), problems: problems.length }, 'endpoints loaded');
    lastLoaded = now;
  };

  const loaded = () => [...docOf.keys()].filter((id) => {
    const ready = statuses.get(id)?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && SERVING_REASONS.has(ready.reason);
  }).sort();

  let chain: Promise<void> = Promise.resolve();
  const sync = () => (chain = chain.then(syncFolder).catch((err: unknown) => log.error({ err, dir: deps.dir }, 'endpoint folder sync failed')));
  await sync();
  const stopWatch = watchFolder(deps.dir, () => void sync());
  const timer = setInterval(() => void sync(), deps.refreshMs ?? 30_000);
  return {
    sync,
    loaded,
    close() {
      clearInterval(timer);
      stopWatch();
    },
  };
}
