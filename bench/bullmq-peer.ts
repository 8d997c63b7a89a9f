// The BullMQ peer for bench/dispatch.ts: the gateway one would write with BullMQ for ordered
// delivery — one queue per endpoint and one Worker with concurrency 1 per queue (so each queue is
// delivered in FIFO order), each job an HTTP POST of its body with undici (keep-alive), a non-2xx
// answer failing the job. Same receiver, same body, same machine as Redeliver.
//
// Run by the bench as a forked child (it needs the IPC channel):
//   REDIS_URL=redis://… TARGET_URL=http://… QUEUES=q0,q1,… AUTORUN=0|1 node bench/bullmq-peer.ts
// It sends { type: 'ready' } once every Worker is connected; with AUTORUN=0 the Workers start
// taking jobs only when the parent sends { type: 'run' } (so a pre-filled backlog is timed from
// that moment, not from process start). It stops on SIGTERM or { type: 'stop' }.
import { Worker, type Job } from 'bullmq';
import { Agent, request } from 'undici';

const redisUrl = process.env.REDIS_URL;
const targetUrl = process.env.TARGET_URL;
const queues = (process.env.QUEUES ?? '').split(',').filter(Boolean);
if (!redisUrl || !targetUrl || queues.length === 0 || !process.send) {
  throw new Error('bench/bullmq-peer.ts is forked by bench/dispatch.ts with REDIS_URL, TARGET_URL and QUEUES');
}
const send = process.send.bind(process);
const { hostname, port } = new URL(redisUrl);
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

export interface PeerJob {
  body: string;
  id: string;
}

/** The same request Redeliver makes: POST the body with the event id, fail on a non-2xx. */
async function deliver(job: Job<PeerJob>): Promise<void> {
  const res = await request(targetUrl!, {
    method: 'POST',
    body: job.data.body,
    headers: { 'content-type': 'application/json', 'user-agent': 'bullmq-peer', 'webhook-id': job.data.id, 'x-attempt': String(job.attemptsMade + 1) },
    dispatcher: agent,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
}

const workers = queues.map((name) => new Worker<PeerJob>(name, deliver, {
  connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
  concurrency: 1,
  autorun: process.env.AUTORUN === '1',
}));

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    await Promise.all(workers.map((w) => w.close()));
    await agent.close();
    process.exit(0);
  })());

process.on('SIGTERM', () => void stop());
process.on('message', (m: { type?: string }) => {
  if (m.type === 'run') for (const w of workers) void w.run();
  if (m.type === 'stop') void stop();
});

await Promise.all(workers.map((w) => w.waitUntilReady()));
send({ type: 'ready' });
