// A keyed work queue in the manner of client-go's (and pepr's): keys, not events, are queued, so
// ten changes to one object while it waits cost one reconcile; one key is never reconciled by two
// workers at once (a key added while it is being processed runs again right after); failures are
// retried with a per-key exponential backoff, and a handler can ask to run again after a delay
// (the periodic status refresh).
//
// The queue can be paused (when this replica stops leading): keys still collect, nothing runs.
import type { Log } from '../lib/log.ts';

export interface ReconcileResult {
  /** Run this key again after this long (also after a success). */
  requeueAfterMs?: number;
  /** Not done yet (e.g. a Secret is missing): run again with the failure backoff, without a warning. */
  retry?: boolean;
}

export type Handler = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  /** Lets workers take keys (again). */
  resume(): void;
  /** Stops taking keys; resolves when the reconciles in flight have finished. */
  pause(): Promise<void>;
  /** Pause and drop every timer. Idempotent. */
  close(): Promise<void>;
  /** Keys waiting or running (for tests and metrics). */
  size(): number;
}

export interface WorkQueueOptions {
  name: string;
  handler: Handler;
  log: Log;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export function createWorkQueue(opts: WorkQueueOptions): WorkQueue {
  const concurrency = opts.concurrency ?? 4;
  const baseDelay = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const queue: string[] = [];
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let closed = false;

  const add = (key: string) => {
    if (closed) return;
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    pump();
  };

  const addAfter = (key: string, ms: number) => {
    if (closed) return;
    if (ms <= 0) return add(key);
    const at = Date.now() + ms;
    const existing = timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, ms);
    timer.unref();
    timers.set(key, { at, timer });
  };

  const backoff = (key: string) => {
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    const delay = Math.min(baseDelay * 2 ** (n - 1), maxDelay);
    addAfter(key, delay);
    return delay;
  };

  const finish = (key: string, result: ReconcileResult | void, err: unknown) => {
    processing.delete(key);
    if (err !== undefined) {
      const retryInMs = backoff(key);
      opts.log.warn({ queue: opts.name, key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed');
    } else if (result?.retry) {
      backoff(key);
    } else {
      failures.delete(key);
      if (result?.requeueAfterMs !== undefined) addAfter(key, result.requeueAfterMs);
    }
    if (dirty.delete(key)) add(key);
  };

  const run = (key: string) => {
    processing.add(key);
    const p: Promise<void> = opts.handler(key).then(
      (result) => finish(key, result, undefined),
      (err: unknown) => finish(key, undefined, err ?? new Error('unknown error')),
    ).finally(() => {
      inFlight.delete(p);
      pump();
    });
    inFlight.add(p);
  };

  function pump() {
    while (running && processing.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      queued.delete(key);
      run(key);
    }
  }

  const pause = async () => {
    running = false;
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  return {
    add,
    addAfter,
    resume() {
      if (closed) return;
      running = true;
      pump();
    },
    pause,
    async close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t.timer);
      timers.clear();
      await pause();
    },
    size: () => queued.size + processing.size,
  };
}
