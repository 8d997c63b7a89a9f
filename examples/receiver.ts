// A demo receiver for standalone mode: listens on 127.0.0.1:4000, prints every delivery it gets
// (event type, webhook-id, attempt) and answers 200. `npm run example:receiver`.
// FAIL_EVERY=3 makes every third request answer 500, to watch retries keep the order.
import { createServer } from 'node:http';

const failEvery = Number(process.env.FAIL_EVERY ?? 0);
let n = 0;
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    n++;
    const fail = failEvery > 0 && n % failEvery === 0;
    console.log(JSON.stringify({
      path: req.url, status: fail ? 500 : 200, type: req.headers['x-redeliver-event-type'], webhookId: req.headers['webhook-id'],
      attempt: req.headers['x-redeliver-attempt'], resendSeq: req.headers['x-redeliver-resend-seq'], bytes: Buffer.concat(chunks).length,
    }));
    res.writeHead(fail ? 500 : 200).end();
  });
}).listen(4000, '127.0.0.1', () => console.log('receiver listening on http://127.0.0.1:4000'));
