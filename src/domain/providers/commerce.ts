// Catalogue entries: payments and commerce. See types.ts for the fields.
import { bodyHmac, stripeLike } from './shapes.ts';
import type { ProviderEntry } from './types.ts';

export const COMMERCE = {
  stripe: {
    name: 'Stripe', docs: 'https://docs.stripe.com/webhooks#verify-manually',
    scheme: stripeLike('Stripe-Signature'), secret: 'endpoint signing secret (whsec_…), used as is',
    toleranceSeconds: 300, eventId: { jsonPointer: '/id' }, eventType: { jsonPointer: '/type' }, json: true,
  },
  shopify: {
    name: 'Shopify', docs: 'https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook',
    // Shopify's newer "events" deliveries drop the X- prefix (Shopify-Hmac-Sha256, Shopify-Webhook-Id).
    scheme: { kind: 'hmac', algorithm: 'sha256', encoding: 'base64', signature: { headers: ['X-Shopify-Hmac-Sha256', 'Shopify-Hmac-Sha256'] }, signed: ['body'] },
    secret: "app's client secret",
    eventId: { header: 'X-Shopify-Webhook-Id' }, eventType: { header: 'X-Shopify-Topic' },
  },
  paypal: {
    name: 'PayPal', docs: 'https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod',
    scheme: { kind: 'paypal' }, secret: 'webhook id (from the PayPal app; several for rotation)',
    toleranceSeconds: 300, eventId: { jsonPointer: '/id' }, eventType: { jsonPointer: '/event_type' },
  },
  woocommerce: {
    name: 'WooCommerce', docs: 'https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks',
    scheme: bodyHmac('X-WC-Webhook-Signature', 'sha256', 'base64'), secret: 'webhook secret',
    eventId: { header: 'X-WC-Webhook-Delivery-ID' }, eventType: { header: 'X-WC-Webhook-Topic' }, handshake: 'woocommerce-ping',
  },
  square: {
    name: 'Square', docs: 'https://developer.squareup.com/docs/webhooks/step3validate',
    scheme: { kind: 'hmac', algorithm: 'sha256', encoding: 'base64', signature: { header: 'X-Square-Hmacsha256-Signature' }, signed: ['url', 'body'] },
    secret: 'subscription signature key', eventId: { jsonPointer: '/event_id' }, eventType: { jsonPointer: '/type' },
  },
  paddle: {
    name: 'Paddle Billing', docs: 'https://developer.paddle.com/webhooks/signature-verification',
    scheme: {
      kind: 'hmac', algorithm: 'sha256', encoding: 'hex', signature: { header: 'Paddle-Signature', pairs: { separator: ';', key: 'h1' } },
      timestamp: { pair: 'ts' }, signed: ['timestamp', { text: ':' }, 'body'],
    },
    // Paddle's SDK allows 5 s; the docs suggest a few seconds.
    secret: 'notification destination secret key (pdl_ntfset_…)', toleranceSeconds: 5,
    eventId: { jsonPointer: '/event_id' }, eventType: { jsonPointer: '/event_type' },
  },
  lemonsqueezy: {
    name: 'Lemon Squeezy', docs: 'https://docs.lemonsqueezy.com/help/webhooks/signing-requests',
    scheme: bodyHmac('X-Signature', 'sha256', 'hex'), secret: 'webhook signing secret',
    eventType: { header: 'X-Event-Name' },
  },
  razorpay: {
    name: 'Razorpay', docs: 'https://razorpay.com/docs/webhooks/validate-test/',
    scheme: bodyHmac('X-Razorpay-Signature', 'sha256', 'hex'), secret: 'webhook secret',
    eventId: { header: 'X-Razorpay-Event-Id' }, eventType: { jsonPointer: '/event' },
  },
  paystack: {
    name: 'Paystack', docs: 'https://paystack.com/docs/payments/webhooks/#verify-event-origin',
    scheme: bodyHmac('X-Paystack-Signature', 'sha512', 'hex'), secret: 'secret key',
    eventType: { jsonPointer: '/event' },
  },
  mux: {
    name: 'Mux', docs: 'https://docs.mux.com/core/verify-webhook-signatures',
    scheme: stripeLike('Mux-Signature'), secret: 'webhook signing secret', toleranceSeconds: 300,
    eventId: { jsonPointer: '/id' }, eventType: { jsonPointer: '/type' },
  },
  calendly: {
    name: 'Calendly', docs: 'https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures',
    scheme: stripeLike('Calendly-Webhook-Signature'), secret: 'webhook signing key', toleranceSeconds: 180,
    eventType: { jsonPointer: '/event' },
  },
} as const satisfies Record<string, ProviderEntry>;
