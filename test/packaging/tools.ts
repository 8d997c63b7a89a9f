// The real tools the packaging tests run: helm (unpacked by scripts/helm.sh from the npm package
// that ships it), promtool and prometheus (Debian's `prometheus` package), kubectl (Debian's
// kubernetes-client). Commands run to completion and never throw on a non-zero exit.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = 'charts/redeliver';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
  });
}

/** Runs and fails with the tool's own output when it exits non-zero. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`.slice(0, 8000));
  return r.stdout;
}

let helmPath: Promise<string> | undefined;
/** The helm binary (scripts/helm.sh finds it, or unpacks it once into a cache). */
export function helm(): Promise<string> {
  helmPath ??= runOk('bash', ['scripts/helm.sh'], { timeoutMs: 300_000 }).then((out) => {
    const m = out.match(/^HELM=(.+)$/m);
    if (!m) throw new Error(`scripts/helm.sh printed no path: ${out}`);
    return m[1]!;
  });
  return helmPath;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every non-empty document of a multi-document YAML stream. */
export function parseObjects(text: string): K8sObject[] {
  // YAML 1.1, as kubectl and helm read it: `defaultMode: 0440` is octal there.
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => {
      if (d.errors.length) throw new Error(`invalid YAML: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart with `--set`-style values; the rendered objects. */
export async function helmTemplate(sets: Record<string, string | number | boolean>, extra: string[] = []): Promise<K8sObject[]> {
  const args = ['template', 'redeliver', CHART, '--namespace', 'redeliver-system', ...extra];
  for (const [k, v] of Object.entries(sets)) args.push(typeof v === 'string' ? '--set-string' : '--set', `${k}=${String(v)}`);
  return parseObjects(await runOk(await helm(), args));
}

export const objectId = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
