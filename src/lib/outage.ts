// One log line when a dependency starts failing and one when it is back, instead of a line per
// request or per retry: during a Redis outage ingest may fail thousands of requests and every
// dispatcher loop retries, and the operator needs to know when it began, how many calls it cost
// and when it ended.
import type { Log } from './log.ts';

export interface OutageLog {
  /** `fields` (what was being done, for whom) go on the first line of an outage only. */
  failed(err: unknown, fields?: Record<string, unknown>): void;
  succeeded(): void;
  readonly down: boolean;
}

/** `effect`: what the process does meanwhile, for the first line ("answering 503 until it is back"). */
export function createOutageLog(log: Log, what: string, now: () => number = Date.now, effect = 'answering 503 until it is back'): OutageLog {
  let since: number | undefined;
  let failures = 0;
  return {
    failed(err, fields = {}) {
      failures++;
      if (since !== undefined) return;
      since = now();
      log.warn({ ...fields, dependency: what, err: err instanceof Error ? err.message : String(err) }, `${what} unavailable: ${effect}`);
    },
    succeeded() {
      if (since === undefined) return;
      log.info({ dependency: what, downMs: now() - since, failedRequests: failures }, `${what} available again`);
      since = undefined;
      failures = 0;
    },
    get down() {
      return since !== undefined;
    },
  };
}
