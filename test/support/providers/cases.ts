// One signed request per catalogue provider, made with the provider's OWN library where the npm
// registry has one that signs (stripe, @octokit/webhooks-methods, standardwebhooks, svix, twilio,
// @hubspot/api-client, starkbank-ecdsa under @sendgrid/eventwebhook), otherwise with the formula
// of the provider's documentation, cited in `source`, and cross-checked with the provider's own
// verifier where one exists (`libraryAccepts`). The unit and integration suites run every case
// through the same checks: valid, rotation, tampered, wrong secret, missing header, stale time.
import { createHmac, sign as signAsymmetric } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Signature as HubSpotSignature } from '@hubspot/api-client';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import twilio from 'twilio';
import type { Provider } from '../../../src/domain/endpoint.ts';
import { verifiers } from './verifiers.ts';
import { ecdsaKeys, ed25519Keys, sendgridSign } from './keys.ts';

export interface SignInput {
  body: string;
  secret: string;
  /** Unix seconds to sign with. */
  now: number;
  /** The public URL the provider calls (URL-signing schemes). */
  url: string;
  /** A unique id for this event (providers whose id travels in a header). */
  id: string;
}

export interface ProviderCase {
  provider: Provider;
  /** The library that signs, or the documentation page whose formula is used. */
  source: string;
  /** [the configured secret, a second one (rotation), one no endpoint has]. Public-key schemes: public keys. */
  secrets: readonly [string, string, string];
  body(id: string): string;
  /** Puts what the provider writes into the body itself before signing (Mailgun, Linear). */
  prepare?: (body: string, secret: string, now: number) => string;
  /** Removes the signature from a body-carried scheme (Mailgun), for the missing case. */
  strip?: (body: string) => string;
  sign(input: SignInput): Record<string, string> | Promise<Record<string, string>>;
  /** Header whose absence is signature_missing (lower case; every header starting with it is removed). */
  signatureHeader: string;
  /** Signs a timestamp: a stale one is timestamp_out_of_tolerance. */
  timestamped: boolean;
  /** Tampers with the signed content (default: a changed body). */
  tamper?: (body: string) => string;
  /** The event type the ingest must read from `body('x')` + headers. */
  eventType: string;
  /** How a re-sent copy is deduplicated: by the provider's id, by the body digest, or not at all. */
  dedupe: 'id' | 'digest' | 'none';
  contentType?: string;
  /** Extra spec.source fields. */
  spec?: Record<string, unknown>;
  /** The provider's own verifier accepts the request (where its library has one). */
  libraryAccepts?: (req: { body: string; headers: Record<string, string>; secret: string; url: string }) => Promise<boolean> | boolean;
}

const hmac = (alg: string, key: string | Buffer, enc: 'hex' | 'base64', ...parts: string[]) => {
  const mac = createHmac(alg, key);
  for (const p of parts) mac.update(p);
  return mac.digest(enc);
};
const json = (o: unknown) => JSON.stringify(o);
const whsec = (label: string) => `whsec_${Buffer.from(label.padEnd(32, '.')).toString('base64')}`;

/** Body-only HMAC providers, signed as their documentation says. */
function bodyCase(c: {
  provider: Provider; source: string; header: string; alg: string; enc: 'hex' | 'base64'; prefix?: string;
  body: (id: string) => string; eventType: string; idHeader?: string; typeHeader?: [string, string]; dedupe: ProviderCase['dedupe'];
  libraryAccepts?: ProviderCase['libraryAccepts'];
}): ProviderCase {
  return {
    provider: c.provider, source: c.source, secrets: [`${c.provider}-secret`, `${c.provider}-other`, `${c.provider}-unknown`], body: c.body,
    sign: ({ body, secret, id }) => ({
      [c.header]: `${c.prefix ?? ''}${hmac(c.alg, secret, c.enc, body)}`,
      ...(c.idHeader ? { [c.idHeader]: id } : {}),
      ...(c.typeHeader ? { [c.typeHeader[0]]: c.typeHeader[1] } : {}),
    }),
    signatureHeader: c.header.toLowerCase(), timestamped: false, eventType: c.eventType, dedupe: c.dedupe, libraryAccepts: c.libraryAccepts,
  };
}

const svixCase = (provider: Provider, source: string): ProviderCase => ({
  provider, source, secrets: [whsec(`${provider}-secret`), whsec(`${provider}-other`), whsec(`${provider}-unknown`)],
  body: (id) => json({ type: 'user.created', data: { id } }),
  sign: ({ body, secret, now, id }) => ({ 'svix-id': `msg_${id}`, 'svix-timestamp': String(now), 'svix-signature': new SvixWebhook(secret).sign(`msg_${id}`, new Date(now * 1000), body) }),
  signatureHeader: 'svix-signature', timestamped: true, eventType: 'user.created', dedupe: 'id',
  libraryAccepts: ({ body, headers, secret }) => new SvixWebhook(secret).verify(body, headers) !== undefined,
});

const stripeLike = (provider: Provider, header: string, source: string, body: (id: string) => string, eventType: string, dedupe: ProviderCase['dedupe']): ProviderCase => ({
  provider, source, secrets: [`${provider}_secret`, `${provider}_other`, `${provider}_unknown`], body,
  sign: ({ body, secret, now }) => ({ [header]: `t=${now},v1=${hmac('sha256', secret, 'hex', `${now}.`, body)}` }),
  signatureHeader: header.toLowerCase(), timestamped: true, eventType, dedupe,
});

const ecdsa = ecdsaKeys();
const ed = ed25519Keys();

export const CASES: ProviderCase[] = [
  {
    provider: 'stripe', source: 'stripe (Stripe.webhooks.generateTestHeaderString)', secrets: ['whsec_stripe_secret', 'whsec_stripe_other', 'whsec_stripe_secret-unknown'],
    body: (id) => json({ id: `evt_${id}`, object: 'event', type: 'invoice.paid' }),
    sign: ({ body, secret, now }) => ({ 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: now }) }),
    signatureHeader: 'stripe-signature', timestamped: true, eventType: 'invoice.paid', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => Stripe.webhooks.constructEvent(body, headers['stripe-signature']!, secret).type === 'invoice.paid',
  },
  {
    provider: 'github', source: '@octokit/webhooks-methods sign()', secrets: ['github-secret', 'github-other', 'github-secret-unknown'],
    body: (id) => json({ action: 'opened', number: id }),
    sign: async ({ body, secret, id }) => ({ 'x-hub-signature-256': await githubSign(secret, body), 'x-github-delivery': id, 'x-github-event': 'pull_request' }),
    signatureHeader: 'x-hub-signature-256', timestamped: false, eventType: 'pull_request', dedupe: 'id',
  },
  {
    provider: 'shopify', source: 'https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook (base64 HMAC-SHA256 of the body); @shopify/shopify-api webhooks.validate accepts it',
    secrets: ['shopify-secret', 'shopify-other', 'shopify-unknown'], body: (id) => json({ id, total: '10.00' }),
    sign: ({ body, secret, id }) => ({
      'x-shopify-hmac-sha256': hmac('sha256', secret, 'base64', body), 'x-shopify-topic': 'orders/create', 'x-shopify-webhook-id': id,
      'x-shopify-shop-domain': 'example.myshopify.com', 'x-shopify-api-version': '2025-01',
    }),
    signatureHeader: 'x-shopify-hmac-sha256', timestamped: false, eventType: 'orders/create', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => verifiers.shopify(body, headers, secret),
  },
  {
    provider: 'standard-webhooks', source: 'standardwebhooks Webhook.sign()', secrets: [whsec('sw-secret'), whsec('sw-other'), whsec('sw-unknown')],
    body: (id) => json({ type: 'invoice.created', data: { id } }),
    sign: ({ body, secret, now, id }) => ({ 'webhook-id': `msg_${id}`, 'webhook-timestamp': String(now), 'webhook-signature': new StandardWebhook(secret).sign(`msg_${id}`, new Date(now * 1000), body) }),
    signatureHeader: 'webhook-signature', timestamped: true, eventType: 'invoice.created', dedupe: 'id',
  },
  svixCase('svix', 'svix Webhook.sign()'),
  svixCase('clerk', 'svix Webhook.sign() (Clerk signs with Svix)'),
  svixCase('resend', 'svix Webhook.sign() (Resend signs with Svix)'),
  bodyCase({
    provider: 'woocommerce', source: 'https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks (base64 HMAC-SHA256 of the body)',
    header: 'X-WC-Webhook-Signature', alg: 'sha256', enc: 'base64', body: (id) => json({ id, status: 'processing' }), eventType: 'order.created',
    idHeader: 'X-WC-Webhook-Delivery-ID', typeHeader: ['X-WC-Webhook-Topic', 'order.created'], dedupe: 'id',
  }),
  {
    provider: 'slack', source: 'https://api.slack.com/authentication/verifying-requests-from-slack; @slack/bolt isValidSlackRequest accepts it',
    secrets: ['8f742231b10e8888abcd99yyyzzz85a5', 'slack-other-secret', '8f742231b10e8888abcd99yyyzzz85a5-unknown'],
    body: (id) => json({ type: 'event_callback', event_id: `Ev${id}`, event: { type: 'app_mention' } }),
    sign: ({ body, secret, now }) => ({ 'x-slack-request-timestamp': String(now), 'x-slack-signature': `v0=${hmac('sha256', secret, 'hex', `v0:${now}:`, body)}` }),
    signatureHeader: 'x-slack-signature', timestamped: true, eventType: 'app_mention', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => verifiers.slack(body, headers, secret),
  },
  {
    provider: 'twilio', source: 'twilio getExpectedTwilioSignature() (form parameters)', secrets: ['twilio-auth-token', 'twilio-other-token', 'twilio-auth-token-unknown'],
    contentType: 'application/x-www-form-urlencoded',
    body: (id) => new URLSearchParams({ MessageSid: `SM${id}`, From: '+15550001111', Body: 'hello & bye', To: '+15552223333' }).toString(),
    sign: ({ body, secret, url, id }) => ({
      'x-twilio-signature': twilio.getExpectedTwilioSignature(secret, url, Object.fromEntries(new URLSearchParams(body))),
      'i-twilio-idempotency-token': id,
    }),
    signatureHeader: 'x-twilio-signature', timestamped: false, eventType: 'unknown', dedupe: 'id',
    spec: { publicUrl: 'https://hooks.example.com/twilio/sms' },
    libraryAccepts: ({ body, headers, secret, url }) => twilio.validateRequest(secret, headers['x-twilio-signature']!, url, Object.fromEntries(new URLSearchParams(body))),
  },
  {
    provider: 'square', source: 'https://developer.squareup.com/docs/webhooks/step3validate (URL + body); square WebhooksHelper accepts it',
    secrets: ['square-signature-key', 'square-other-key', 'square-signature-key-unknown'],
    body: (id) => json({ merchant_id: 'M1', type: 'payment.updated', event_id: `sq-${id}`, data: {} }),
    sign: ({ body, secret, url }) => ({ 'x-square-hmacsha256-signature': hmac('sha256', secret, 'base64', url, body) }),
    signatureHeader: 'x-square-hmacsha256-signature', timestamped: false, eventType: 'payment.updated', dedupe: 'id',
    spec: { publicUrl: 'https://hooks.example.com/square' },
    libraryAccepts: ({ body, headers, secret, url }) => verifiers.square(body, headers, secret, url),
  },
  {
    provider: 'paddle', source: 'https://developer.paddle.com/webhooks/signature-verification; @paddle/paddle-node-sdk accepts it',
    secrets: ['pdl_ntfset_secret', 'pdl_ntfset_other', 'pdl_ntfset_secret-unknown'],
    body: (id) => json({ event_id: `evt_${id}`, event_type: 'transaction.completed', data: {} }),
    sign: ({ body, secret, now }) => ({ 'paddle-signature': `ts=${now};h1=${hmac('sha256', secret, 'hex', `${now}:`, body)}` }),
    signatureHeader: 'paddle-signature', timestamped: true, eventType: 'transaction.completed', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => verifiers.paddle(body, headers, secret),
  },
  {
    provider: 'linear', source: 'https://linear.app/developers/webhooks#securing-webhooks; @linear/sdk LinearWebhookClient accepts it',
    secrets: ['lin_wh_secret', 'lin_wh_other', 'lin_wh_secret-unknown'],
    body: (id) => json({ action: 'create', type: 'Issue', data: { id }, webhookTimestamp: 0 }),
    prepare: (body, _secret, now) => body.replace('"webhookTimestamp":0', `"webhookTimestamp":${now * 1000}`),
    sign: ({ body, secret, id }) => ({ 'linear-signature': hmac('sha256', secret, 'hex', body), 'linear-delivery': id, 'linear-event': 'Issue' }),
    signatureHeader: 'linear-signature', timestamped: true, eventType: 'Issue', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => verifiers.linear(body, headers, secret),
  },
  {
    provider: 'sendgrid', source: 'starkbank-ecdsa (the signer behind @sendgrid/eventwebhook); EventWebhook.verifySignature accepts it',
    secrets: [ecdsa.publicKeys[0], ecdsa.publicKeys[1], ecdsa.publicKeys[2]],
    body: (id) => json([{ email: 'a@example.com', event: 'delivered', sg_event_id: id }]),
    sign: ({ body, secret, now }) => ({
      'x-twilio-email-event-webhook-timestamp': String(now),
      'x-twilio-email-event-webhook-signature': sendgridSign(ecdsa.privateFor(secret), `${now}${body}`),
    }),
    signatureHeader: 'x-twilio-email-event-webhook-signature', timestamped: true, eventType: 'delivered', dedupe: 'none',
    libraryAccepts: ({ body, headers, secret }) => verifiers.sendgrid(body, headers, secret),
  },
  {
    provider: 'mailgun', source: 'https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks (HMAC-SHA256 of timestamp + token)',
    secrets: ['mailgun-signing-key', 'mailgun-other-key', 'mailgun-signing-key-unknown'],
    body: (id) => json({ signature: { timestamp: '0', token: `tok${id}`, signature: '' }, 'event-data': { id: `mg-${id}`, event: 'delivered' } }),
    prepare: (body, secret, now) => mailgunSigned(body, secret, now),
    strip: (body) => body.replace(/"signature":"[0-9a-f]+"/, '"signature":""'),
    sign: () => ({}),
    signatureHeader: '', timestamped: true, eventType: 'delivered', dedupe: 'id',
    // Mailgun signs timestamp + token only; tampering means changing the token.
    tamper: (body) => body.replace('"token":"tok', '"token":"tak'),
  },
  {
    provider: 'gitlab', source: 'https://docs.gitlab.com/user/project/integrations/webhooks/ (X-Gitlab-Token is the secret token)',
    secrets: ['gitlab-token', 'gitlab-other', 'gitlab-token-unknown'], body: (id) => json({ object_kind: 'push', checkout_sha: id }),
    sign: ({ secret, id }) => ({ 'x-gitlab-token': secret, 'idempotency-key': id, 'x-gitlab-event': 'Push Hook' }),
    signatureHeader: 'x-gitlab-token', timestamped: false, eventType: 'Push Hook', dedupe: 'id',
    // The token does not cover the body: a changed body with the right token is accepted (documented).
    tamper: undefined,
  },
  {
    provider: 'hubspot', source: '@hubspot/api-client Signature.getSignature (v3)', secrets: ['hubspot-client-secret', 'hubspot-other', 'hubspot-client-secret-unknown'],
    body: (id) => json([{ eventId: id, subscriptionType: 'contact.creation', objectId: 1 }]),
    sign: ({ body, secret, now, url }) => ({
      'x-hubspot-request-timestamp': String(now * 1000),
      'x-hubspot-signature-v3': HubSpotSignature.getSignature('POST', 'v3', { signature: '', clientSecret: secret, requestBody: body, url, timestamp: now * 1000 }),
    }),
    signatureHeader: 'x-hubspot-signature-v3', timestamped: true, eventType: 'contact.creation', dedupe: 'none',
    spec: { publicUrl: 'https://hooks.example.com/hubspot' },
  },
  bodyCase({
    provider: 'intercom', source: 'https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications (sha1= hex HMAC-SHA1)',
    header: 'X-Hub-Signature', alg: 'sha1', enc: 'hex', prefix: 'sha1=', body: (id) => json({ type: 'notification_event', id: `notif_${id}`, topic: 'conversation.user.created' }),
    eventType: 'conversation.user.created', dedupe: 'id',
  }),
  {
    provider: 'zoom', source: 'https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events (v0= HMAC-SHA256 of v0:timestamp:body)',
    secrets: ['zoom-secret-token', 'zoom-other-token', 'zoom-secret-token-unknown'], body: (id) => json({ event: 'meeting.started', event_ts: Number(id.replace(/\D/g, '') || 1), payload: {} }),
    sign: ({ body, secret, now }) => ({ 'x-zm-request-timestamp': String(now), 'x-zm-signature': `v0=${hmac('sha256', secret, 'hex', `v0:${now}:`, body)}` }),
    signatureHeader: 'x-zm-signature', timestamped: true, eventType: 'meeting.started', dedupe: 'none',
  },
  bodyCase({
    provider: 'typeform', source: 'https://www.typeform.com/developers/webhooks/secure-your-webhooks/ (sha256= base64 HMAC-SHA256)',
    header: 'Typeform-Signature', alg: 'sha256', enc: 'base64', prefix: 'sha256=', body: (id) => json({ event_id: id, event_type: 'form_response' }),
    eventType: 'form_response', dedupe: 'id',
  }),
  stripeLike('calendly', 'Calendly-Webhook-Signature', 'https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures (t=…,v1= HMAC-SHA256 of t.body)',
    (id) => json({ event: 'invitee.created', payload: { uri: id } }), 'invitee.created', 'none'),
  {
    ...stripeLike('mux', 'Mux-Signature', 'https://docs.mux.com/core/verify-webhook-signatures; @mux/mux-node webhooks.verifySignature accepts it',
      (id) => json({ type: 'video.asset.ready', id: `mux-${id}` }), 'video.asset.ready', 'id'),
    libraryAccepts: ({ body, headers, secret }) => verifiers.mux(body, headers, secret),
  },
  {
    provider: 'twitch', source: 'https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message (HMAC-SHA256 of id + timestamp + body)',
    secrets: ['twitch-secret-1', 'twitch-secret-2', 'twitch-secret-1-unknown'], body: (id) => json({ subscription: { type: 'channel.follow' }, event: { user_id: id } }),
    sign: ({ body, secret, now, id }) => {
      const ts = new Date(now * 1000).toISOString();
      return {
        'twitch-eventsub-message-id': id, 'twitch-eventsub-message-timestamp': ts, 'twitch-eventsub-message-type': 'notification',
        'twitch-eventsub-subscription-type': 'channel.follow', 'twitch-eventsub-message-signature': `sha256=${hmac('sha256', secret, 'hex', id, ts, body)}`,
      };
    },
    signatureHeader: 'twitch-eventsub-message-signature', timestamped: true, eventType: 'channel.follow', dedupe: 'id',
  },
  bodyCase({
    provider: 'lemonsqueezy', source: 'https://docs.lemonsqueezy.com/help/webhooks/signing-requests (hex HMAC-SHA256 of the body)',
    header: 'X-Signature', alg: 'sha256', enc: 'hex', body: (id) => json({ meta: { event_name: 'order_created' }, data: { id } }),
    typeHeader: ['X-Event-Name', 'order_created'], eventType: 'order_created', dedupe: 'digest',
  }),
  bodyCase({
    provider: 'meta', source: 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started (sha256= hex HMAC-SHA256 with the app secret)',
    header: 'X-Hub-Signature-256', alg: 'sha256', enc: 'hex', prefix: 'sha256=', body: (id) => json({ object: 'whatsapp_business_account', entry: [{ id }] }),
    eventType: 'whatsapp_business_account', dedupe: 'digest',
  }),
  bodyCase({
    provider: 'bitbucket', source: 'https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/ (sha256= hex HMAC-SHA256)',
    header: 'X-Hub-Signature', alg: 'sha256', enc: 'hex', prefix: 'sha256=', body: (id) => json({ push: { changes: [id] } }),
    idHeader: 'X-Request-UUID', typeHeader: ['X-Event-Key', 'repo:push'], eventType: 'repo:push', dedupe: 'id',
  }),
  bodyCase({
    provider: 'gitea', source: 'https://docs.gitea.com/usage/webhooks (hex HMAC-SHA256, X-Gitea-Signature)',
    header: 'X-Gitea-Signature', alg: 'sha256', enc: 'hex', body: (id) => json({ ref: 'refs/heads/main', after: id }),
    idHeader: 'X-Gitea-Delivery', typeHeader: ['X-Gitea-Event', 'push'], eventType: 'push', dedupe: 'id',
  }),
  bodyCase({
    provider: 'sentry', source: 'https://docs.sentry.io/organization/integrations/integration-platform/webhooks/ (hex HMAC-SHA256, Sentry-Hook-Signature)',
    header: 'Sentry-Hook-Signature', alg: 'sha256', enc: 'hex', body: (id) => json({ action: 'created', data: { issue: { id } } }),
    idHeader: 'Request-ID', typeHeader: ['Sentry-Hook-Resource', 'issue'], eventType: 'issue', dedupe: 'id',
  }),
  bodyCase({
    provider: 'pagerduty', source: 'https://developer.pagerduty.com/docs/webhooks/webhook-signatures/ (v1= hex HMAC-SHA256)',
    header: 'X-PagerDuty-Signature', alg: 'sha256', enc: 'hex', prefix: 'v1=', body: (id) => json({ event: { id: `pd-${id}`, event_type: 'incident.triggered' } }),
    eventType: 'incident.triggered', dedupe: 'id',
  }),
  bodyCase({
    provider: 'vercel', source: 'https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks (hex HMAC-SHA1)',
    header: 'X-Vercel-Signature', alg: 'sha1', enc: 'hex', body: (id) => json({ id: `vc-${id}`, type: 'deployment.succeeded' }),
    eventType: 'deployment.succeeded', dedupe: 'id',
  }),
  bodyCase({
    provider: 'razorpay', source: 'https://razorpay.com/docs/webhooks/validate-test/; razorpay validateWebhookSignature accepts it',
    header: 'X-Razorpay-Signature', alg: 'sha256', enc: 'hex', body: (id) => json({ event: 'payment.captured', payload: { id } }),
    idHeader: 'X-Razorpay-Event-Id', eventType: 'payment.captured', dedupe: 'id',
    libraryAccepts: ({ body, headers, secret }) => verifiers.razorpay(body, headers['x-razorpay-signature']!, secret),
  }),
  bodyCase({
    provider: 'paystack', source: 'https://paystack.com/docs/payments/webhooks/#verify-event-origin (hex HMAC-SHA512)',
    header: 'X-Paystack-Signature', alg: 'sha512', enc: 'hex', body: (id) => json({ event: 'charge.success', data: { id } }),
    eventType: 'charge.success', dedupe: 'digest',
  }),
  {
    provider: 'zendesk', source: 'https://developer.zendesk.com/documentation/webhooks/verifying/ (base64 HMAC-SHA256 of timestamp + body)',
    secrets: ['zendesk-signing-secret', 'zendesk-other', 'zendesk-signing-secret-unknown'], body: (id) => json({ type: 'zen:event-type:ticket.created', id }),
    sign: ({ body, secret, now, id }) => {
      const ts = new Date(now * 1000).toISOString().replace('.000', '');
      return { 'x-zendesk-webhook-signature-timestamp': ts, 'x-zendesk-webhook-signature': hmac('sha256', secret, 'base64', ts, body), 'x-zendesk-webhook-invocation-id': id };
    },
    signatureHeader: 'x-zendesk-webhook-signature', timestamped: true, eventType: 'zen:event-type:ticket.created', dedupe: 'id',
  },
  {
    provider: 'docusign', source: 'https://developers.docusign.com/platform/webhooks/connect/hmac/ (base64 HMAC-SHA256, X-DocuSign-Signature-N per key)',
    secrets: ['docusign-key-1', 'docusign-key-2', 'docusign-key-1-unknown'], body: (id) => json({ event: 'envelope-completed', data: { envelopeId: id } }),
    // DocuSign sends one header per active key; the second carries a signature of another key.
    sign: ({ body, secret }) => ({ 'x-docusign-signature-1': hmac('sha256', 'some-retired-key', 'base64', body), 'x-docusign-signature-2': hmac('sha256', secret, 'base64', body) }),
    signatureHeader: 'x-docusign-signature-', timestamped: false, eventType: 'envelope-completed', dedupe: 'digest',
  },
  bodyCase({
    provider: 'xero', source: 'https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/ (base64 HMAC-SHA256)',
    header: 'X-Xero-Signature', alg: 'sha256', enc: 'base64', body: (id) => json({ events: [{ eventType: 'UPDATE', resourceId: id }] }),
    eventType: 'UPDATE', dedupe: 'digest',
  }),
  {
    provider: 'trello', source: 'https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures (base64 HMAC-SHA1 of body + callback URL)',
    secrets: ['trello-app-secret', 'trello-other', 'trello-app-secret-unknown'], body: (id) => json({ action: { type: 'updateCard', id } }),
    sign: ({ body, secret, url }) => ({ 'x-trello-webhook': hmac('sha1', secret, 'base64', body, url) }),
    signatureHeader: 'x-trello-webhook', timestamped: false, eventType: 'updateCard', dedupe: 'digest',
    spec: { publicUrl: 'https://hooks.example.com/trello' },
  },
  {
    provider: 'postmark', source: 'https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook (Basic auth in the webhook URL)',
    secrets: ['hook-user:hook-pass', 'hook-user:other-pass', 'hook-user:hook-pass-unknown'], body: (id) => json({ RecordType: 'Delivery', MessageID: id }),
    sign: ({ secret }) => ({ authorization: `Basic ${Buffer.from(secret).toString('base64')}` }),
    signatureHeader: 'authorization', timestamped: false, eventType: 'Delivery', dedupe: 'digest', tamper: undefined,
  },
  {
    provider: 'discord', source: 'node:crypto Ed25519 per https://discord.com/developers/docs/interactions/overview; discord-interactions verifyKey accepts it',
    secrets: [ed.publicKeys[0], ed.publicKeys[1], ed.publicKeys[2]], body: (id) => json({ type: 2, id, data: { name: 'hello' } }),
    sign: ({ body, secret, now }) => ({
      'x-signature-timestamp': String(now),
      'x-signature-ed25519': signAsymmetric(null, Buffer.from(`${now}${body}`), ed.privateFor(secret)).toString('hex'),
    }),
    signatureHeader: 'x-signature-ed25519', timestamped: true, eventType: '2', dedupe: 'none',
    libraryAccepts: ({ body, headers, secret }) => verifiers.discord(body, headers, secret),
  },
];

/** Mailgun carries its signature in the body: the case signs by rewriting it. */
export function mailgunSigned(body: string, secret: string, now: number): string {
  const parsed = JSON.parse(body) as { signature: { timestamp: string; token: string; signature: string } };
  parsed.signature.timestamp = String(now);
  parsed.signature.signature = hmac('sha256', secret, 'hex', String(now), parsed.signature.token);
  return JSON.stringify(parsed);
}
