// Standard Webhooks signing (https://www.standardwebhooks.com): the dispatcher signs outbound
// requests with it, and the ingest verifies inbound ones against the same definition.
import { createHmac } from 'node:crypto';

/** The key of a `whsec_…` secret: the base64 after the prefix (a bare secret is base64 too). */
export function standardWebhooksKey(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length === 0) throw new Error('the signing secret is not valid base64');
  return Buffer.from(b64, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function signStandardWebhook(secret: string, msgId: string, timestampSeconds: number, body: Buffer | string): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret))
    .update(`${msgId}.${timestampSeconds}.`)
    .update(body)
    .digest('base64');
  return `v1,${mac}`;
}
