// The few lines a person needs once Redeliver has started: where to send webhooks, where the API
// is, which keys to use, how to run the demo receiver. Pure: the entry point logs it (one record:
// readable at a terminal, one JSON line with the same facts as fields in a container).
import { ingestPath, type ResolvedEndpoint } from '../domain/endpoint.ts';

export interface SummaryInput {
  url: string;
  roles: readonly string[];
  standalone: boolean;
  endpoints: readonly ResolvedEndpoint[];
  /** `scope:key` entries from the configuration: shown in standalone mode only (demo keys). */
  apiKeys: readonly string[];
}

export interface Summary {
  text: string;
  fields: Record<string, unknown>;
}

export function startupSummary(s: SummaryInput): Summary {
  const active = s.endpoints.filter((e) => e.spec.state === 'active').sort((a, b) => a.id.localeCompare(b.id));
  const ingest = active.map((e) => ({ endpoint: e.id, url: s.url + ingestPath(e.id), provider: e.spec.source.provider }));
  const api = s.roles.includes('api') ? `${s.url}/api/v1` : undefined;
  const keys = s.standalone ? s.apiKeys : [];
  const receiver = s.standalone ? 'PORT=4000 npm run example:receiver' : undefined;
  const lines = [`Redeliver is running${s.standalone ? ' (standalone)' : ''} at ${s.url}`];
  if (s.roles.includes('ingest')) {
    lines.push(ingest.length ? 'Webhooks in:' : 'Webhooks in: no active endpoint yet (add a WebhookEndpoint)');
    for (const i of ingest) lines.push(`  ${i.url}  (${i.provider})`);
  }
  if (api) lines.push(`API: ${api}  (OpenAPI: ${api}/openapi.json)`);
  if (keys.length) lines.push(`API keys (demo): ${keys.join(', ')}  (header X-API-Key: <key>)`);
  if (receiver) lines.push(`Demo receiver: ${receiver}`);
  lines.push('Stop: Ctrl-C');
  return {
    text: lines.join('\n'),
    fields: { url: s.url, ...(s.roles.includes('ingest') ? { ingest } : {}), ...(api ? { api } : {}), ...(keys.length ? { apiKeys: keys } : {}), ...(receiver ? { receiver } : {}) },
  };
}
