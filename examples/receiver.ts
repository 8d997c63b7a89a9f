// A demo receiver for standalone mode: prints every delivery it gets (event type, webhook-id,
// attempt) and whether its Standard Webhooks signature verified, and answers 200.
//   PORT=4000 npm run example:receiver
// PORT (default 4000) is where it listens; WEBHOOK_SECRET (default: the demo secret of
// examples/endpoints/secrets.yaml, `redeliver-outbound-signing`) is the endpoint's
// spec.destination.signing secret. FAIL_EVERY=3 makes every third request answer 500, to watch
// retries keep the order.
//
// Checking the signature is how a service knows a request came from Redeliver: the same three
// lines work in any service (`npm install standardwebhooks`).
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const DEMO_SECRET = 'whsec_cmVkZWxpdmVyLWRlbW8tb3V0Ym91bmQtc2lnbmluZyE=';
const port = Number(process.env.PORT ?? 4000);
const failEvery = Number(process.env.FAIL_EVERY ?? 0);
const webhook = new Webhook(process.env.WEBHOOK_SECRET ?? DEMO_SECRET);

/** 'verified', 'INVALID (reason)', or 'unsigned' (the endpoint has no spec.destination.signing). */
function signature(headers: Record<string, string | string[] | undefined>, body: string): string {
  if (!headers['webhook-signature']) return 'unsigned';
  try {
    webhook.verify(body, headers as Record<string, string>); // checks webhook-id, -timestamp (±5 min), -signature
    return 'verified';
  } catch (err) {
    return `INVALID (${err instanceof Error ? err.message : String(err)})`;
  }
}

let n = 0;
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    n++;
    const body = Buffer.concat(chunks).toString('utf8');
    const fail = failEvery > 0 && n % failEvery === 0;
    console.log(JSON.stringify({
      path: req.url, status: fail ? 500 : 200, signature: signature(req.headers, body), type: req.headers['x-redeliver-event-type'],
      webhookId: req.headers['webhook-id'], attempt: req.headers['x-redeliver-attempt'], resendSeq: req.headers['x-redeliver-resend-seq'],
      bytes: Buffer.byteLength(body),
    }));
    res.writeHead(fail ? 500 : 200).end();
  });
}).listen(port, '127.0.0.1', () => console.log(`receiver listening on http://127.0.0.1:${port} (checking Standard Webhooks signatures)`));
