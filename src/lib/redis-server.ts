// A real redis-server child process: standalone mode runs one when no REDIS_URL is given, and the
// tests run one per suite (own port, own data dir) so they can kill and restart it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { AppError } from '../errors/index.ts';

export interface RedisServerOptions {
  dataDir: string;
  port?: number;
  fsync?: 'everysec' | 'always';
  binary?: string;
  /** Clients must AUTH with it (kept in a 0600 config file, never on the command line). */
  password?: string;
  /** More redis-server arguments, after the defaults (a later one wins): cluster, TLS, ACL users. */
  args?: string[];
}

export interface RedisServer {
  /** With the password, when there is one: for clients only, never for a log line. */
  readonly url: string;
  readonly port: number;
  /** The child's process id (undefined while it is not running). */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, or SIGKILL to simulate a crash). Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it (SIGKILL by default) and starts it again on the same port and data dir. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting for anything (tests freeze it with SIGSTOP, thaw it with SIGCONT). */
  signal(signal: NodeJS.Signals): void;
}

export const INSTALL_HINT = 'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; ' +
  'macOS: `brew install redis`) or set REDIS_URL to an existing Redis.';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

export function hasRedisServer(binary = 'redis-server'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedisServer(opts: RedisServerOptions): Promise<RedisServer> {
  const binary = opts.binary ?? 'redis-server';
  if (!hasRedisServer(binary)) throw new AppError('redis_server_missing', INSTALL_HINT, 500);
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  makePrivate(dir);
  const port = opts.port ?? (await freePort());
  // The password goes in a config file only this user can read (a command-line argument would be
  // visible to every user of the host through ps).
  const conf = join(dir, 'redis-auth.conf');
  if (opts.password !== undefined) writeFileSync(conf, `requirepass "${opts.password.replace(/["\\]/g, '')}"\n`, { mode: 0o600 });
  const args = [...(opts.password !== undefined ? [conf] : []), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', opts.fsync ?? 'everysec', '--appendfilename', 'redeliver.aof',
    '--protected-mode', 'yes', '--loglevel', 'notice', '--daemonize', 'no', ...(opts.args ?? [])];
  let child: ChildProcess | undefined;

  const launch = async () => {
    // umask 077: the AOF files and folder it creates are readable by this user only. `exec` keeps
    // the process id (the shell becomes redis-server), so signals reach it directly.
    const proc = spawn('/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await waitReady(proc, port);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((ok) => proc.once('exit', ok));
    proc.kill(signal);
    await exited;
  };
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);

  await launch();
  return {
    url: opts.password !== undefined ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async stop(signal = 'SIGTERM') {
      process.off('exit', onExit);
      await kill(signal);
    },
    async restart(signal = 'SIGKILL') {
      await kill(signal);
      await launch();
    },
    signal(signal) {
      child?.kill(signal);
    },
  };
}

/** Ready when redis-server logs that it accepts connections (or loaded its AOF). */
function waitReady(proc: ChildProcess, port: number): Promise<void> {
  return new Promise((ok, fail) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        proc.stderr?.resume();
        ok();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    proc.once('exit', (code) => fail(new Error(`redis-server on port ${port} exited (${code}): ${output.slice(-500)}`)));
  });
}

/** Data dir 0700 and what it holds 0600 (files left by an older version included). */
function makePrivate(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makePrivate(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}
