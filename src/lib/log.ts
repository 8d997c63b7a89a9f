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
          '*.signingSecret', 'verifyToken', '*.verifyToken', 'body', '*.body', 'headers', '*.headers', 'apiKey', '*.apiKey', 'authorization',
          // ioredis errors carry the command's arguments (event bodies, response bodies).
          'err.command', '*.err.command', 'err.args', '*.err.args'],
        censor: '[redacted]',
      },
    },
    opts.destination as pino.DestinationStream | undefined,
  );
}
