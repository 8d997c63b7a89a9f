// Standalone mode's source of resources: a folder of the same YAML `kubectl apply` takes
// (WebhookEndpoint and v1 Secret documents, several per file allowed), read into the documents it
// holds. A file that does not parse keeps standing for what it last held (its last good
// documents), so a typo in a live endpoint's file never archives it; the error names the file and
// line. Validation is not done here: the documents go through the same observe → plan → apply as
// the controller's (folder-source.ts).
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';

export interface FolderProblem {
  file: string;
  line: number | undefined;
  message: string;
}

export interface FolderDoc {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  value: Record<string, unknown>;
  /** The line of a field (`spec.destination.url`), or of its nearest parent present in the file. */
  lineOf(field: string): number | undefined;
}

export interface FolderRead {
  docs: FolderDoc[];
  /** Files that do not parse now (their last good documents are in `docs`). */
  problems: FolderProblem[];
}

/** Reads the folder each time it is called, remembering each file's last good documents. */
export function createFolderReader(dir: string): () => Promise<FolderRead> {
  const lastGood = new Map<string, FolderDoc[]>();
  return async () => {
    const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    for (const f of [...lastGood.keys()]) if (!files.includes(f)) lastGood.delete(f);
    const docs: FolderDoc[] = [];
    const problems: FolderProblem[] = [];
    for (const file of files) {
      const parsed = await parseFile(dir, file);
      if ('problem' in parsed) {
        problems.push(parsed.problem);
        docs.push(...(lastGood.get(file) ?? []));
        continue;
      }
      lastGood.set(file, parsed.docs);
      docs.push(...parsed.docs);
    }
    return { docs, problems };
  };
}

async function parseFile(dir: string, file: string): Promise<{ docs: FolderDoc[] } | { problem: FolderProblem }> {
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (err) {
    // Removed between readdir and here, or unreadable: judged again at the next change.
    return { problem: { file, line: undefined, message: err instanceof Error ? err.message : String(err) } };
  }
  const lineCounter = new LineCounter();
  const list = parseAllDocuments(text, { lineCounter });
  const all = Array.isArray(list) ? list : [list];
  const error = all.flatMap((d) => d.errors)[0];
  if (error) return { problem: { file, line: error.linePos?.[0].line, message: error.message.split('\n')[0]! } };
  const docs: FolderDoc[] = [];
  all.forEach((doc, index) => {
    const value: unknown = doc.toJS();
    if (!value || typeof value !== 'object') return;
    const lineOf = (field: string) => {
      const path = field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) return lineCounter.linePos(node.range[0]).line;
      }
      const start = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
      return start === undefined ? undefined : lineCounter.linePos(start).line;
    };
    docs.push({ file, index, value: value as Record<string, unknown>, lineOf });
  });
  return { docs };
}

/** Secret documents as name → data (`data` base64-decoded, `stringData` over it), by `namespace/name`. */
export function secretTable(docs: FolderDoc[]): Map<string, Record<string, string>> {
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
