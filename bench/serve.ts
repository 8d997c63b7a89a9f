// What the bench's stand-in servers (bare-koa.ts, bullmq-koa.ts) share: a Koa app that takes POSTs
// only, reads the raw body, stores it, waits for replicas with WAIT_REPLICAS and answers 202 with
// the stored id; it listens on 127.0.0.1, prints one JSON line `{"msg":"listening","url":…}` once
// requests are accepted, and on SIGTERM closes every connection, runs `close` (the server's Redis
// clients) and exits.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';
import type { Redis } from 'ioredis';

export interface IngestStandIn {
  /** Stores one request's raw body; answers its id, or undefined once it set a refusal status. */
  store(body: Buffer, ctx: Koa.Context): Promise<string | undefined>;
  /** The connection that WAITs for WAIT_REPLICAS replicas after each store. */
  redis: Redis;
  close(): Promise<unknown>;
}

export function serveIngest(s: IngestStandIn): void {
  const waitReplicas = Number(process.env.WAIT_REPLICAS ?? 0);
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const body = await getRawBody(ctx.req, { limit: 1024 * 1024 });
    const id = await s.store(body, ctx);
    if (id === undefined) return;
    if (waitReplicas > 0 && (await s.redis.wait(waitReplicas, 1000)) < waitReplicas) throw new Error('not replicated in time');
    ctx.status = 202;
    ctx.body = { id };
  });
  serve(app.callback(), s.close);
}

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
