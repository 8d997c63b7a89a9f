// A TCP proxy in front of a real redis-server that loses replies on purpose: Redis runs the
// command, then the connection is cut before its answer reaches the client — what a network blip
// does. ioredis then reconnects and sends the command again.
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ReplyDropper {
  url: string;
  /**
   * Drops the reply to a request that holds `marker`: the next one, or with `every` each n-th one
   * (`times` of them at most).
   */
  dropReplyAfter(marker: string, opts?: { every?: number; times?: number }): void;
  /** Whether a reply to a request holding `marker` was dropped. */
  dropped(marker: string): boolean;
  /** How many replies were dropped. */
  droppedCount(): number;
  close(): void;
}

export async function startReplyDropper(redisPort: number): Promise<ReplyDropper> {
  let rule: { marker: string; every: number; left: number; seen: number } | undefined;
  const done = new Set<string>();
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(redisPort, '127.0.0.1');
    let dropNext: string | undefined;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    client.on('data', (chunk: Buffer) => {
      if (rule && rule.left > 0 && chunk.includes(rule.marker) && ++rule.seen % rule.every === 0) {
        dropNext = rule.marker;
        rule.left--;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropNext === undefined) return void client.write(chunk);
      // Redis has run the command; its answer never reaches the client.
      done.add(dropNext);
      count++;
      client.destroy();
      upstream.destroy();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropReplyAfter: (marker, opts = {}) => void (rule = { marker, every: opts.every ?? 1, left: opts.times ?? 1, seen: 0 }),
    dropped: (marker) => done.has(marker),
    droppedCount: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
