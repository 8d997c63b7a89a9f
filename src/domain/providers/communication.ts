// Catalogue entries: messaging, collaboration, CRM and business apps. See types.ts for the fields.
import { bodyHmac, timestampedHmac, v0Timestamped } from './shapes.ts';
import type { ProviderEntry } from './types.ts';

/** DocuSign numbers its signature headers, one per active HMAC key (up to 100). */
const DOCUSIGN_HEADERS = Array.from({ length: 100 }, (_, i) => `X-DocuSign-Signature-${i + 1}`);

export const COMMUNICATION = {
  slack: {
    name: 'Slack', docs: 'https://api.slack.com/authentication/verifying-requests-from-slack',
    scheme: v0Timestamped('X-Slack-Signature', 'X-Slack-Request-Timestamp'), secret: 'signing secret', toleranceSeconds: 300,
    eventId: { jsonPointer: '/event_id' }, eventType: { jsonPointer: '/event/type' }, handshake: 'slack-url-verification',
  },
  twilio: {
    name: 'Twilio', docs: 'https://www.twilio.com/docs/usage/webhooks/webhooks-security',
    scheme: { kind: 'twilio' }, secret: 'auth token',
    eventId: { header: 'I-Twilio-Idempotency-Token' },
  },
  sendgrid: {
    name: 'SendGrid Event Webhook', docs: 'https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features',
    scheme: {
      kind: 'public-key', algorithm: 'ecdsa-sha256', encoding: 'base64', signature: { header: 'X-Twilio-Email-Event-Webhook-Signature' },
      timestamp: { header: 'X-Twilio-Email-Event-Webhook-Timestamp', format: 'unix' }, signed: ['timestamp', 'body'],
    },
    secret: 'verification key (ECDSA public key, base64 or PEM)', toleranceSeconds: 300, eventType: { jsonPointer: '/0/event' },
  },
  mailgun: {
    name: 'Mailgun', docs: 'https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks',
    scheme: {
      kind: 'hmac', algorithm: 'sha256', encoding: 'hex', signature: { jsonPointer: '/signature/signature' },
      timestamp: { jsonPointer: '/signature/timestamp', format: 'unix' }, signed: ['timestamp', { jsonPointer: '/signature/token' }],
    },
    secret: 'HTTP webhook signing key', toleranceSeconds: 300, json: true,
    eventId: { jsonPointer: '/event-data/id' }, eventType: { jsonPointer: '/event-data/event' },
  },
  postmark: {
    name: 'Postmark', docs: 'https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook',
    scheme: { kind: 'basic-auth' }, secret: 'basic auth credentials user:password (as in the webhook URL)',
    eventType: { jsonPointer: '/RecordType' },
  },
  intercom: {
    name: 'Intercom', docs: 'https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications',
    scheme: bodyHmac('X-Hub-Signature', 'sha1', 'hex', 'sha1='), secret: "app's client secret",
    eventId: { jsonPointer: '/id' }, eventType: { jsonPointer: '/topic' },
  },
  hubspot: {
    name: 'HubSpot (v3 signature)', docs: 'https://developers.hubspot.com/docs/api/webhooks/validating-requests',
    scheme: timestampedHmac('X-HubSpot-Signature-v3', { header: 'X-HubSpot-Request-Timestamp', format: 'unix-ms' }, 'sha256', 'base64',
      ['method', 'url', 'body', 'timestamp']),
    secret: "app's client secret", toleranceSeconds: 300, eventType: { jsonPointer: '/0/subscriptionType' },
  },
  zoom: {
    name: 'Zoom', docs: 'https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events',
    scheme: v0Timestamped('X-Zm-Signature', 'X-Zm-Request-Timestamp'), secret: 'secret token', toleranceSeconds: 300,
    eventType: { jsonPointer: '/event' }, handshake: 'zoom-url-validation',
  },
  twitch: {
    name: 'Twitch EventSub', docs: 'https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message',
    scheme: {
      kind: 'hmac', algorithm: 'sha256', encoding: 'hex', signature: { header: 'Twitch-Eventsub-Message-Signature', prefix: 'sha256=' },
      timestamp: { header: 'Twitch-Eventsub-Message-Timestamp', format: 'iso' },
      signed: [{ header: 'Twitch-Eventsub-Message-Id' }, 'timestamp', 'body'],
    },
    secret: 'subscription secret', toleranceSeconds: 600, handshake: 'twitch-callback-verification',
    eventId: { header: 'Twitch-Eventsub-Message-Id' }, eventType: { header: 'Twitch-Eventsub-Subscription-Type' },
  },
  meta: {
    name: 'Meta (Facebook, Instagram, WhatsApp)', docs: 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started',
    scheme: bodyHmac('X-Hub-Signature-256', 'sha256', 'hex', 'sha256='), secret: 'app secret (verify token: source.verifyTokenKey)',
    eventType: { jsonPointer: '/object' }, handshake: 'meta-hub-challenge',
  },
  discord: {
    name: 'Discord', docs: 'https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers',
    scheme: {
      kind: 'public-key', algorithm: 'ed25519', encoding: 'hex', signature: { header: 'X-Signature-Ed25519' },
      timestamp: { header: 'X-Signature-Timestamp', format: 'unix' }, signed: ['timestamp', 'body'],
    },
    secret: "application's public key (hex)", toleranceSeconds: 300, eventType: { jsonPointer: '/type' }, handshake: 'discord-ping',
  },
  typeform: {
    name: 'Typeform', docs: 'https://www.typeform.com/developers/webhooks/secure-your-webhooks/',
    scheme: bodyHmac('Typeform-Signature', 'sha256', 'base64', 'sha256='), secret: 'webhook secret',
    eventId: { jsonPointer: '/event_id' }, eventType: { jsonPointer: '/event_type' },
  },
  zendesk: {
    name: 'Zendesk', docs: 'https://developer.zendesk.com/documentation/webhooks/verifying/',
    scheme: timestampedHmac('X-Zendesk-Webhook-Signature', { header: 'X-Zendesk-Webhook-Signature-Timestamp', format: 'iso' }, 'sha256', 'base64'),
    secret: 'webhook signing secret', toleranceSeconds: 300,
    eventId: { header: 'X-Zendesk-Webhook-Invocation-Id' }, eventType: { jsonPointer: '/type' },
  },
  docusign: {
    name: 'DocuSign Connect', docs: 'https://developers.docusign.com/platform/webhooks/connect/hmac/',
    scheme: { kind: 'hmac', algorithm: 'sha256', encoding: 'base64', signature: { headers: DOCUSIGN_HEADERS }, signed: ['body'] },
    secret: 'Connect HMAC key', eventType: { jsonPointer: '/event' },
  },
  xero: {
    name: 'Xero', docs: 'https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/',
    scheme: bodyHmac('X-Xero-Signature', 'sha256', 'base64'), secret: 'webhook key',
    eventType: { jsonPointer: '/events/0/eventType' },
  },
  trello: {
    name: 'Trello', docs: 'https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures',
    scheme: { kind: 'hmac', algorithm: 'sha1', encoding: 'base64', signature: { header: 'X-Trello-Webhook' }, signed: ['body', 'url'] },
    secret: "application's secret", eventType: { jsonPointer: '/action/type' }, handshake: 'trello-head',
  },
} as const satisfies Record<string, ProviderEntry>;
