// Catalogue entries: developer tools, identity and generic schemes. See types.ts for the fields.
import { bodyHmac, standardWebhooks } from './shapes.ts';
import type { ProviderEntry } from './types.ts';

const svixForm = (name: string, docs: string): ProviderEntry => ({
  name, docs, scheme: standardWebhooks('svix'), secret: 'signing secret (whsec_…)', toleranceSeconds: 300,
  eventId: { header: 'svix-id' }, eventType: { jsonPointer: '/type' },
});

export const DEVELOPER = {
  github: {
    name: 'GitHub', docs: 'https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries',
    scheme: bodyHmac('X-Hub-Signature-256', 'sha256', 'hex', 'sha256='), secret: 'webhook secret',
    eventId: { header: 'X-GitHub-Delivery' }, eventType: { header: 'X-GitHub-Event' },
  },
  gitlab: {
    name: 'GitLab', docs: 'https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token',
    scheme: { kind: 'token', header: 'X-Gitlab-Token' }, secret: 'secret token',
    eventId: { header: 'Idempotency-Key' }, eventType: { header: 'X-Gitlab-Event' },
  },
  bitbucket: {
    name: 'Bitbucket Cloud', docs: 'https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/',
    scheme: bodyHmac('X-Hub-Signature', 'sha256', 'hex', 'sha256='), secret: 'webhook secret',
    eventId: { header: 'X-Request-UUID' }, eventType: { header: 'X-Event-Key' },
  },
  gitea: {
    name: 'Gitea / Forgejo', docs: 'https://docs.gitea.com/usage/webhooks',
    scheme: bodyHmac('X-Gitea-Signature', 'sha256', 'hex'), secret: 'webhook secret',
    eventId: { header: 'X-Gitea-Delivery' }, eventType: { header: 'X-Gitea-Event' },
  },
  linear: {
    name: 'Linear', docs: 'https://linear.app/developers/webhooks#securing-webhooks',
    scheme: {
      kind: 'hmac', algorithm: 'sha256', encoding: 'hex', signature: { header: 'Linear-Signature' },
      timestamp: { jsonPointer: '/webhookTimestamp', format: 'unix-ms' }, signed: ['body'],
    },
    secret: 'webhook signing secret', toleranceSeconds: 60, json: true,
    eventId: { header: 'Linear-Delivery' }, eventType: { header: 'Linear-Event' },
  },
  sentry: {
    name: 'Sentry', docs: 'https://docs.sentry.io/organization/integrations/integration-platform/webhooks/',
    scheme: bodyHmac('Sentry-Hook-Signature', 'sha256', 'hex'), secret: 'integration client secret',
    eventId: { header: 'Request-ID' }, eventType: { header: 'Sentry-Hook-Resource' },
  },
  pagerduty: {
    name: 'PagerDuty', docs: 'https://developer.pagerduty.com/docs/webhooks/webhook-signatures/',
    scheme: { kind: 'hmac', algorithm: 'sha256', encoding: 'hex', signature: { header: 'X-PagerDuty-Signature', pairs: { separator: ',', key: 'v1' } }, signed: ['body'] },
    secret: 'webhook subscription secret', eventId: { jsonPointer: '/event/id' }, eventType: { jsonPointer: '/event/event_type' },
  },
  vercel: {
    name: 'Vercel', docs: 'https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks',
    scheme: bodyHmac('X-Vercel-Signature', 'sha1', 'hex'), secret: 'webhook secret',
    eventId: { jsonPointer: '/id' }, eventType: { jsonPointer: '/type' },
  },
  'standard-webhooks': {
    name: 'Standard Webhooks', docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
    scheme: standardWebhooks('webhook'), secret: 'signing secret (whsec_…)', toleranceSeconds: 300,
    eventId: { header: 'webhook-id' }, eventType: { jsonPointer: '/type' },
  },
  svix: svixForm('Svix', 'https://docs.svix.com/receiving/verifying-payloads/how-manual'),
  clerk: svixForm('Clerk', 'https://clerk.com/docs/webhooks/sync-data'),
  resend: svixForm('Resend', 'https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests'),
  hmac: {
    name: 'Generic HMAC', docs: 'spec.source.hmac', scheme: { kind: 'configured-hmac' }, secret: 'shared secret',
    eventType: { jsonPointer: '/type' },
  },
  none: {
    name: 'No verification', docs: '-', scheme: { kind: 'none' }, secret: 'none', eventType: { jsonPointer: '/type' },
  },
} as const satisfies Record<string, ProviderEntry>;
