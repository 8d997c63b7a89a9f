// One log line when a dependency starts failing and one when it is back, instead of a line per
// request: during a Redis outage ingest may fail thousands of requests, and the operator needs
// to know when it began, how many requests it cost and when it ended.
import type { Log } from './log.ts';

export interface OutageLog {
  failed(err: unknown): void;
  succeeded(): void;
  readonly down: boolean;
}

export function createOutageLog(log: Log, what: string, now: () => number = Date.now): OutageLog {
  let since: number | undefined;
  let failures = 0;
  return {
    failed(err) {
      failures++;
      if (since !== undefined) return;
      since = now();
      log.warn({ dependency: what, err: err instanceof Error ? err.message : String(err) }, `${what} unavailable: answering 503 until it is back`);
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
