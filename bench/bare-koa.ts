// The ceiling for bench/ingest.ts: the least an ingest can do — a Koa server that reads the raw
// body and does one XADD of it per request, answering 202 once Redis has it. No signature check,
// no dedupe, no delivery record. Run by the bench as a child process:
//   REDIS_URL=redis://… PORT=… [WAIT_REPLICAS=1] node bench/bare-koa.ts
// With WAIT_REPLICAS, each XADD is followed by WAIT (the replicated acknowledgement's ceiling).
// It prints one JSON line `{"msg":"listening","url":…}` once it accepts requests, and stops on
// SIGTERM.
import { Redis } from 'ioredis';
import { serveIngest } from './serve.ts';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error('REDIS_URL is required');
// Same client settings as Redeliver's (src/store/redis.ts), so only the work per request differs.
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
const stream = `bare:${process.pid}:events`;

serveIngest({
  redis,
  store: async (body) => (await redis.xadd(stream, '*', 'b', body)) ?? '',
  close: () => redis.quit(),
});
