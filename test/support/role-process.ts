// A Redeliver role as a real child process (`node src/main.ts <role>`), for tests that kill -9,
// freeze or restart it. Resolves once the process logs 'redeliver started' (an event, not a sleep).
// Every child is tracked so that none outlives the test run, whatever failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TAIL_LINES = 60;

// Process-wide on purpose: the 'exit' hook must reach children of every suite in this run.
const children = new Set<ChildProcess>();
process.once('exit', killAllRoles);

export interface RoleProcess {
  readonly role: string;
  readonly url: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  /** The last lines of its output, for failure messages. */
  tail(): string;
}

export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** SIGKILLs every child still running (for `after` hooks and process exit). */
export function killAllRoles(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** kill -9 and wait until it is gone. */
export async function kill9(p: RoleProcess | undefined): Promise<void> {
  if (!p || !alive(p.proc)) return;
  p.proc.kill('SIGKILL');
  await p.exited;
}

/**
 * Spawns `node src/main.ts <role>` with only PATH and `env` in its environment.
 * `keep` filters which output lines are kept for `tail()` (all by default).
 */
export function startRole(
  role: string, env: Record<string, string>, opts: { timeoutMs?: number; keep?: (line: string) => boolean } = {},
): Promise<RoleProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'src/main.ts'), role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  void exited.then(() => children.delete(proc));
  const lines: string[] = [];
  const keep = (line: string) => {
    if (opts.keep && !opts.keep(line)) return;
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  };
  const tail = () => lines.join('\n');
  createInterface({ input: proc.stderr! }).on('line', keep);
  // A bound to fail on, not a wait: generous, since a loaded 2-core machine starts Node slowly.
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${role} did not start within ${timeoutMs} ms:\n${tail()}`)), timeoutMs);
    // Reading every line also keeps the pipe drained, so the child never blocks on a full stdout.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      const entry = parseJson(line);
      if (entry?.msg === 'redeliver started' && typeof entry.url === 'string') {
        clearTimeout(timer);
        ok({ role, url: entry.url, proc, exited, tail });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`${role} exited (${proc.exitCode ?? proc.signalCode}) before it started:\n${tail()}`));
    });
  });
}
