// Structured JSON logs (pino). Secrets and payloads never reach a log line: callers log ids and
// outcomes only, and the redact list below is a second guard for fields that might slip in.
import { pino, type Logger } from 'pino';

export type Log = Logger;

export function createLog(opts: { level: string; name?: string; destination?: NodeJS.WritableStream }): Log {
  return pino(
    {
      level: opts.level,
      base: opts.name ? { role: opts.name } : {},
      redact: {
        paths: ['secret', '*.secret', 'secrets', '*.secrets', 'sourceSecrets', '*.sourceSecrets', 'signingSecret',
          '*.signingSecret', 'body', '*.body', 'headers', '*.headers', 'apiKey', '*.apiKey', 'authorization',
          // ioredis errors carry the command's arguments (event bodies, response bodies).
          'err.command', '*.err.command', 'err.args', '*.err.args'],
        censor: '[redacted]',
      },
    },
    opts.destination as pino.DestinationStream | undefined,
  );
}

/**
 * Trouble reaching a dependency (Redis), logged once when it starts and once when it ends, however
 * many calls fail in between: during an outage every loop retries, and a line per retry would
 * bury everything else.
 */
export interface OutageLog {
  /** A call failed: the first failure of an outage is logged at warn, later ones are counted. */
  fail(err: unknown, fields?: Record<string, unknown>): void;
  /** A call succeeded: ends the outage, if any, with one line at info. */
  ok(): void;
}

export function createOutageLog(log: Log, what: string, now: () => number = () => performance.now()): OutageLog {
  let since: number | undefined;
  let failures = 0;
  return {
    fail(err, fields = {}) {
      failures++;
      if (since !== undefined) return;
      since = now();
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ ...fields, err: message }, `${what}: Redis unreachable; retrying quietly until it answers`);
    },
    ok() {
      if (since === undefined) return;
      log.info({ downSeconds: Math.round((now() - since) / 100) / 10, failedCalls: failures }, `${what}: Redis answers again`);
      since = undefined;
      failures = 0;
    },
  };
}
