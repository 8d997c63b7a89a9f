// A real redis-server child process: standalone mode runs one when no REDIS_URL is given, and the
// tests run one per suite (own port, own data dir) so they can kill and restart it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { AppError } from '../errors/index.ts';

export interface RedisServerOptions {
  dataDir: string;
  port?: number;
  fsync?: 'everysec' | 'always';
  binary?: string;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
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
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', opts.fsync ?? 'everysec', '--appendfilename', 'redeliver.aof',
    '--protected-mode', 'yes', '--loglevel', 'notice', '--daemonize', 'no'];
  let child: ChildProcess | undefined;

  const launch = async () => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    url: `redis://127.0.0.1:${port}`,
    port,
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
