// A real HTTP receiver on port 0 whose answers the test scripts, recording every request.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Receipt {
  headers: IncomingMessage['headers'];
  body: Buffer;
  status: number;
  at: number;
}

/** What to do with one request: answer with a status (after a delay), or drop the connection. */
export type Answer = { status: number; delayMs?: number; headers?: Record<string, string>; body?: string } | { drop: true };

export interface Receiver {
  url: string;
  receipts: Receipt[];
  /** Resolves when `predicate` holds for the receipts so far (checked on every request). */
  until(predicate: (r: Receipt[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(answer: (req: IncomingMessage, body: Buffer, n: number) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const receipts: Receipt[] = [];
  const waiters: Array<{ p: (r: Receipt[]) => boolean; ok: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) if (w.p(receipts)) { waiters.splice(waiters.indexOf(w), 1); w.ok(); }
  };
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const a = answer(req, body, n++);
      if ('drop' in a) {
        req.socket.destroy();
        return;
      }
      const reply = () => {
        receipts.push({ headers: req.headers, body, status: a.status, at: Date.now() });
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
        check();
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    receipts,
    until(p, timeoutMs = 30_000) {
      if (p(receipts)) return Promise.resolve();
      return new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`receiver: condition not met within ${timeoutMs} ms (${receipts.length} receipts)`)), timeoutMs);
        waiters.push({ p, ok: () => { clearTimeout(t); ok(); } });
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** Receivers started for a suite, closed together in its `after` hook. */
export function receiverPool(): { start: typeof startReceiver; closeAll(): Promise<void> } {
  const started: Receiver[] = [];
  return {
    async start(...a) {
      const r = await startReceiver(...a);
      started.push(r);
      return r;
    },
    closeAll: async () => void (await Promise.all(started.splice(0).map((r) => r.close()))),
  };
}
