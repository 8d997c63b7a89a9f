// The `api` role: the management API app (mounted under /api/) with the dashboard (at / and
// /ui/), its keys and sessions, the live feed, and the replay engine, which resumes every Running
// replay when the role starts.
import type { RoleHandle, Shared } from '../lib/runtime.ts';
import { createReplayEngine } from '../replay/engine.ts';
import { createSessionStore } from '../store/sessions.ts';
import { API_PREFIX, DASHBOARD_PATHS, createApiApp } from './app.ts';
import { createApiAuth } from './auth.ts';
import { createLiveHub } from './live.ts';

/** How long a dashboard session lasts (sign in again after it). */
const SESSION_TTL_SECONDS = 8 * 3600;

export function createApiRole(shared: Shared): RoleHandle {
  const auth = createApiAuth({ apiKeys: shared.config.apiKeys, apiKeysFile: shared.config.apiKeysFile, log: shared.log });
  const replays = createReplayEngine({ redis: shared.redis, keys: shared.keys, log: shared.log, endpoints: shared.endpoints });
  const sessions = createSessionStore(shared.redis, shared.keys, SESSION_TTL_SECONDS);
  const live = createLiveHub({ redis: shared.redis, keys: shared.keys, endpoints: shared.endpoints, log: shared.log });
  const app = createApiApp({ ...shared, auth, replays, sessions, live });
  let closed = false;
  return {
    http: { prefix: API_PREFIX, app, also: DASHBOARD_PATHS },
    async start() {
      auth.start();
      await replays.resume();
    },
    async close() {
      if (closed) return;
      closed = true;
      live.close();
      auth.close();
      await replays.close();
    },
  };
}
