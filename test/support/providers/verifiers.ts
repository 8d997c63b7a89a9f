// The providers' own verifiers, used to show that what the tests sign is what the providers
// accept (for the providers whose libraries verify but do not sign).
import '@shopify/shopify-api/adapters/node';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { isValidSlackRequest } from '@slack/bolt';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import Mux from '@mux/mux-node';
import { NodeRuntime, Webhooks as PaddleWebhooks } from '@paddle/paddle-node-sdk';
import eventwebhook from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import Razorpay from 'razorpay';
import { WebhooksHelper } from 'square';

type Headers = Record<string, string>;

// Paddle's SDK picks its crypto provider when a client is made; the webhook helper alone needs this.
NodeRuntime.initialize();

export const verifiers = {
  slack: (body: string, headers: Headers, secret: string) =>
    isValidSlackRequest({ signingSecret: secret, body, headers: {
      'x-slack-signature': headers['x-slack-signature']!, 'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
    } }),
  square: (body: string, headers: Headers, secret: string, url: string) =>
    WebhooksHelper.verifySignature({ requestBody: body, signatureHeader: headers['x-square-hmacsha256-signature']!, signatureKey: secret, notificationUrl: url }),
  paddle: (body: string, headers: Headers, secret: string) => new PaddleWebhooks().isSignatureValid(body, secret, headers['paddle-signature']!),
  linear: (body: string, headers: Headers, secret: string) => new LinearWebhookClient(secret).verify(Buffer.from(body), headers['linear-signature']!),
  sendgrid: (body: string, headers: Headers, secret: string) => {
    const ew = new eventwebhook.EventWebhook();
    const key = ew.convertPublicKeyToECDSA(`-----BEGIN PUBLIC KEY-----\n${secret}\n-----END PUBLIC KEY-----`);
    return ew.verifySignature(key, body, headers['x-twilio-email-event-webhook-signature']!, headers['x-twilio-email-event-webhook-timestamp']!);
  },
  mux: async (body: string, headers: Headers, secret: string) => {
    await new Mux({ tokenId: 'unused', tokenSecret: 'unused' }).webhooks.verifySignature(body, headers, secret);
    return true;
  },
  shopify: async (body: string, headers: Headers, secret: string) => {
    const shopify = shopifyApi({ apiKey: 'unused', apiSecretKey: secret, scopes: [], hostName: 'localhost', apiVersion: ApiVersion.January25, isEmbeddedApp: false, logger: { level: LogSeverity.Error } });
    const result = await shopify.webhooks.validate({ rawBody: body, rawRequest: { headers, method: 'POST', url: '/' } as never, rawResponse: {} as never });
    return result.valid;
  },
  razorpay: (body: string, signature: string, secret: string) => Razorpay.validateWebhookSignature(body, signature, secret),
  discord: (body: string, headers: Headers, secret: string) => verifyKey(body, headers['x-signature-ed25519']!, headers['x-signature-timestamp']!, secret),
};
