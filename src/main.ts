#!/usr/bin/env node
// Entry point: `redeliver <role…>` with roles ingest, dispatcher, api, controller, `all`
// (every role, endpoints from Kubernetes) or `standalone` (every role but the controller,
// endpoints from a YAML folder, and a redis-server child when REDIS_URL is not set).
// Only this file reads argv and the environment, wires the parts together, and listens.
import { parseArgs } from 'node:util';
import { loadConfig } from './config/index.ts';
import { errorMessage, isAppError } from './errors/index.ts';
import { createLog } from './lib/log.ts';
import { startupSummary } from './lib/summary.ts';
import { ROLES, startProcess, type Role } from './process.ts';

const USAGE = `usage: redeliver <role…> [--config FILE] [--endpoints DIR]
roles: ${ROLES.join(', ')}, all (every role), standalone (npm start: every role but the
controller, endpoints from --endpoints DIR, a local redis-server unless REDIS_URL is set)`;

function parseRoles(positionals: string[]): { roles: Role[]; standalone: boolean } {
  if (positionals.length === 0) throw new Error(`no role given\n${USAGE}`);
  if (positionals.includes('standalone')) return { roles: ['ingest', 'dispatcher', 'api'], standalone: true };
  if (positionals.includes('all')) return { roles: [...ROLES], standalone: false };
  for (const r of positionals) if (!(ROLES as readonly string[]).includes(r)) throw new Error(`unknown role "${r}"\n${USAGE}`);
  return { roles: positionals as Role[], standalone: false };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: 'string' }, endpoints: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const { roles, standalone } = parseRoles(positionals);
  const config = loadConfig({
    env: process.env,
    ...(values.config ? { file: values.config } : {}),
    overrides: values.endpoints ? { endpointsDir: values.endpoints } : {},
  });
  // Pretty at a terminal, JSON lines in containers and pipes (unless logFormat says otherwise).
  const format = config.logFormat === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : config.logFormat;
  const log = createLog({ level: config.logLevel, format });
  const running = await startProcess({ config, roles, standalone, log });
  const summary = startupSummary({ url: running.url, roles, standalone, endpoints: running.shared.endpoints.all(), apiKeys: config.apiKeys });
  // At a terminal the text says it all; in JSON the same facts are fields too.
  log.info(format === 'pretty' ? {} : summary.fields, summary.text);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Start-up errors (bad config, missing redis-server) are the user's to fix: say what, plainly.
  console.error(`redeliver: ${isAppError(err) || err instanceof Error ? errorMessage(err) : String(err)}`);
  process.exit(1);
});
