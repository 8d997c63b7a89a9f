// The audit log of management writes: one entry per write request that passed authentication
// (successful or refused), in the `audit` stream, newest last, capped at about 100,000 entries.
// `who` is the caller's key id (a fingerprint of the key), never the key itself.
import { fieldsOf } from './fields.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

const MAX_ENTRIES = 100_000;

export interface AuditEntry {
  who: string;
  scope: string;
  /** e.g. delivery.resend, endpoint.unblock, replay.create */
  action: string;
  /** e.g. delivery/<id>, endpoint/<ns>/<name>, replay/<id> */
  target: string;
  /** HTTP status of the answer. */
  status: number;
  /** 'ok' or the error code. */
  result: string;
  detail?: Record<string, unknown>;
}

export interface StoredAuditEntry extends AuditEntry {
  id: string;
  at: string;
}

export async function appendAudit(redis: RedisClient, keys: Keys, e: AuditEntry, now = new Date()): Promise<void> {
  await redis.xadd(keys.audit, 'MAXLEN', '~', MAX_ENTRIES, '*', 'at', now.toISOString(), 'who', e.who, 'scope', e.scope,
    'action', e.action, 'target', e.target, 'status', e.status, 'result', e.result, 'detail', JSON.stringify(e.detail ?? {}));
}

/** Newest first, strictly older than `before` (a stream id) when given. Returns the page and whether more follow. */
export async function listAudit(redis: RedisClient, keys: Keys, before: string | undefined, limit: number): Promise<{ items: StoredAuditEntry[]; more: boolean }> {
  const entries = await redis.xrevrange(keys.audit, before ? `(${before}` : '+', '-', 'COUNT', limit + 1);
  const items = entries.slice(0, limit).map(([id, flat]) => {
    const f = fieldsOf(flat);
    let detail: Record<string, unknown> = {};
    try {
      detail = JSON.parse(f.detail ?? '{}') as Record<string, unknown>;
    } catch {
      detail = {};
    }
    return { id, at: f.at ?? '', who: f.who ?? '', scope: f.scope ?? '', action: f.action ?? '', target: f.target ?? '',
      status: Number(f.status ?? 0), result: f.result ?? '', detail };
  });
  return { items, more: entries.length > limit };
}
