// A TCP proxy in front of the test API server, so a test can make it unreachable for one client
// (a controller) while kubectl, talking to it directly, keeps changing things. TLS passes through
// untouched (the serving certificate is for 127.0.0.1, which the proxy also is).
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export interface ApiProxy {
  /** A kubeconfig file that reaches the API server through the proxy. */
  kubeconfig: string;
  /** Drops every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Connections refused since the last cut() (the client noticed and tried again). */
  refused(): number;
  close(): Promise<void>;
}

export async function startApiProxy(opts: { kubeconfig: string; server: string; dir: string; name: string }): Promise<ApiProxy> {
  const target = new URL(opts.server);
  const sockets = new Set<net.Socket>();
  let cut = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (cut) {
      refused++;
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as net.AddressInfo;
  const config = JSON.parse(readFileSync(opts.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(opts.dir, `kubeconfig-${opts.name}`);
  writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  return {
    kubeconfig,
    cut() {
      cut = true;
      refused = 0;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    refused: () => refused,
    async close() {
      cut = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
