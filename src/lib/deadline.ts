// A deadline on a promise the caller cannot cancel (a Redis command already written): past `ms`
// the caller gets `onTimeout()`'s error and moves on; the work itself may still finish later,
// which is why every write behind a deadline is idempotent (ingest dedupes a retried event).
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_ok, fail) => {
    timer = setTimeout(() => fail(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
