// Waiting for a state the test cannot subscribe to (a Redis hash field, a process' side effect):
// bounded, fast polling, and an error that says what was awaited.
export async function waitFor(cond: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
