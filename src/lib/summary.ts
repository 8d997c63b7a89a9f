// The few lines a person needs once Redeliver has started: where to send webhooks, where the
// dashboard and the API are, which keys to use, how to run the demo receiver. Pure: the entry point logs it (one record:
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

interface Facts {
  ingest?: Array<{ endpoint: string; url: string; provider: string }>;
  dashboard?: string;
  api?: string;
  apiKeys?: readonly string[];
  receiver?: string;
}

/**
 * Only the demo keys (marked "change-me", as in examples/redeliver.yaml) are printed, to sign in
 * with on a first run; any other key is a real credential and stays out of the log.
 */
const shown = (entry: string) => {
  const i = entry.indexOf(':');
  return entry.includes('change-me') ? entry : `${entry.slice(0, Math.max(i, 0))}:(configured, not shown)`;
};

/** What is true of this start; a field is absent when it does not apply. */
function facts(s: SummaryInput): Facts {
  const f: Facts = {};
  if (s.roles.includes('ingest')) {
    const active = s.endpoints.filter((e) => e.spec.state === 'active').sort((a, b) => a.id.localeCompare(b.id));
    f.ingest = active.map((e) => ({ endpoint: e.id, url: s.url + ingestPath(e.id), provider: e.spec.source.provider }));
  }
  if (s.roles.includes('api')) {
    f.dashboard = `${s.url}/`;
    f.api = `${s.url}/api/v1`;
  }
  if (s.standalone && s.apiKeys.length) f.apiKeys = s.apiKeys.map(shown);
  if (s.standalone) f.receiver = 'PORT=4000 npm run example:receiver';
  return f;
}

export function startupSummary(s: SummaryInput): Summary {
  const f = facts(s);
  const lines = [`Redeliver is running${s.standalone ? ' (standalone)' : ''} at ${s.url}`];
  if (f.ingest) {
    lines.push(f.ingest.length ? 'Webhooks in:' : 'Webhooks in: no active endpoint yet (add a WebhookEndpoint)');
    for (const i of f.ingest) lines.push(`  ${i.url}  (${i.provider})`);
  }
  if (f.dashboard) lines.push(`Dashboard: ${f.dashboard}${f.apiKeys ? '  (sign in with a demo key below)' : ''}`);
  if (f.api) lines.push(`API: ${f.api}  (OpenAPI: ${f.api}/openapi.json)`);
  if (f.apiKeys) lines.push(`API keys (demo): ${f.apiKeys.join(', ')}  (header X-API-Key: <key>, or sign in to the dashboard)`);
  if (f.receiver) lines.push(`Demo receiver: ${f.receiver}`);
  lines.push('Stop: Ctrl-C');
  return { text: lines.join('\n'), fields: { url: s.url, ...f } };
}
