// Structured logs (pino): JSON lines in containers and pipes, pino's own pretty printer at a
// terminal. Secrets and payloads never reach a log line: callers log ids and outcomes only, and
// the redact list below is a second guard for fields that might slip in. Warnings and errors that
// repeat identically (same message, error and subject) are rate-limited: the first goes out, the
// repeats within a window are counted and reported with the next one that goes out.
import { pino, type Logger } from 'pino';

export type Log = Logger;
export type LogFormat = 'json' | 'pretty';

const REPEAT_WINDOW_MS = 10_000;

export function createLog(opts: {
  level: string; name?: string; destination?: NodeJS.WritableStream; format?: LogFormat; repeatWindowMs?: number; now?: () => number;
}): Log {
  const windowMs = opts.repeatWindowMs ?? REPEAT_WINDOW_MS;
  const clock = opts.now ?? Date.now;
  const repeats = new Map<string, { at: number; count: number }>();
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
      hooks: {
        logMethod(args, method, level) {
          if (level < 40) return method.apply(this, args);
          const key = repeatKey(level, args);
          const now = clock();
          const seen = repeats.get(key);
          if (seen && now - seen.at < windowMs) {
            seen.count++;
            return undefined;
          }
          if (repeats.size > 1000) repeats.clear();
          repeats.set(key, { at: now, count: 0 });
          if (seen?.count && args[0] && typeof args[0] === 'object') {
            args[0] = { ...(args[0] as object), repeatedSinceLastLine: seen.count };
          }
          return method.apply(this, args);
        },
      },
      ...(opts.format === 'pretty' && !opts.destination
        ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } }
        : {}),
    },
    opts.destination as pino.DestinationStream | undefined,
  );
}

/** What makes two lines "the same": level, message, error, and the subject (endpoint, delivery, file). */
function repeatKey(level: number, args: unknown[]): string {
  const [first, second] = args;
  const obj = first && typeof first === 'object' ? (first as Record<string, unknown>) : {};
  const msg = typeof first === 'string' ? first : String(second ?? '');
  const err = obj.err instanceof Error ? obj.err.message : String(obj.err ?? '');
  return [level, msg, err, obj.endpoint, obj.delivery, obj.file, obj.partition].join('|');
}
