// The `api` role: the management API app (mounted under /api/), its keys, and the replay engine,
// which resumes every Running replay when the role starts.
import type { RoleHandle, Shared } from '../lib/runtime.ts';
import { createReplayEngine } from '../replay/engine.ts';
import { API_PREFIX, createApiApp } from './app.ts';
import { createApiAuth } from './auth.ts';

export function createApiRole(shared: Shared): RoleHandle {
  const auth = createApiAuth({ apiKeys: shared.config.apiKeys, apiKeysFile: shared.config.apiKeysFile, log: shared.log });
  const replays = createReplayEngine({ redis: shared.redis, keys: shared.keys, log: shared.log, endpoints: shared.endpoints });
  const app = createApiApp({ ...shared, auth, replays });
  let closed = false;
  return {
    http: { prefix: API_PREFIX, app },
    async start() {
      auth.start();
      await replays.resume();
    },
    async close() {
      if (closed) return;
      closed = true;
      auth.close();
      await replays.close();
    },
  };
}
