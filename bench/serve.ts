// What the bench's stand-in servers (bare-koa.ts, bullmq-koa.ts) share: listen on 127.0.0.1,
// print one JSON line `{"msg":"listening","url":…}` once requests are accepted, and on SIGTERM
// close every connection, run `close` (the server's Redis clients) and exit.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export function serve(handler: RequestListener, close: () => Promise<unknown>): void {
  const server = createServer(handler);
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` }));
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => {
      void close().finally(() => process.exit(0));
    });
  });
}
