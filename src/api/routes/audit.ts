// The audit log (operator scope): who did what, when, through which door (API key or dashboard
// session). A team-scoped key sees the entries about its own endpoints only.
import type Router from '@koa/router';
import { listAudit, type StoredAuditEntry } from '../../store/audit.ts';
import { canSee, caller, requireOperator, type ApiDeps } from '../deps.ts';
import { decodeCursor, encodeCursor, readLimit, readQuery } from '../http.ts';

const MAX_SCANNED = 5000;

export function auditRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/audit', async (ctx) => {
    requireOperator(ctx, 'the audit log');
    const q = readQuery(ctx, ['cursor', 'limit']);
    const limit = readLimit(q);
    const c = caller(ctx);
    const sees = (e: StoredAuditEntry) => !c.namespaces || (typeof e.detail?.endpoint === 'string' && canSee(c, e.detail.endpoint));
    let before = decodeCursor('audit', q.cursor)?.sid;
    const items: StoredAuditEntry[] = [];
    let more = true;
    // A team key's page skips other teams' entries; a bounded number are examined per page.
    for (let scanned = 0; items.length < limit && more && scanned < MAX_SCANNED;) {
      const page = await listAudit(deps.redis, deps.keys, before, limit);
      scanned += page.items.length;
      for (const e of page.items) {
        before = e.id;
        if (sees(e)) items.push(e);
        if (items.length >= limit) break;
      }
      more = page.more || before !== page.items.at(-1)?.id;
    }
    ctx.body = { items, next_cursor: more && before ? encodeCursor('audit', { sid: before }) : null };
  });
}
