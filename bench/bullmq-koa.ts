// The peer for bench/ingest.ts: the webhook receiver a Node team would build by hand with BullMQ —
// a Koa server that reads the raw body, checks GitHub's signature (HMAC-SHA256, constant-time),
// and answers 202 once `queue.add` has stored the job, with the delivery id as the job id (BullMQ
// then ignores a repeat: its dedupe). Run by the bench as a child process:
//   REDIS_URL=redis://… PORT=… SECRET=… [WAIT_REPLICAS=1] node bench/bullmq-koa.ts
// With WAIT_REPLICAS, each add is followed by WAIT (the replicated acknowledgement).
// It prints one JSON line `{"msg":"listening","url":…}` once it accepts requests, and stops on
// SIGTERM.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { serveIngest } from './serve.ts';

const redisUrl = process.env.REDIS_URL;
const secret = process.env.SECRET;
if (!redisUrl || !secret) throw new Error('REDIS_URL and SECRET are required');
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const QUEUE = 'ingest-peer';
const queue = new Queue(QUEUE, { connection });

const signed = (body: Buffer, header: string | undefined) => {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'));
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
};

serveIngest({
  redis: connection,
  async store(body, ctx) {
    if (!signed(body, ctx.get('x-hub-signature-256') || undefined)) {
      ctx.status = 401;
      return undefined;
    }
    const headers = { 'content-type': ctx.get('content-type'), 'x-github-event': ctx.get('x-github-event'), 'x-github-delivery': ctx.get('x-github-delivery') };
    const job = await queue.add('webhook', { headers, body: body.toString('utf8') }, { jobId: ctx.get('x-github-delivery') || undefined });
    return job.id ?? '';
  },
  close: () => queue.close().then(() => connection.quit()),
});
