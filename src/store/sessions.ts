// Dashboard sessions: an API key exchanged for a random token carried by an HttpOnly cookie. Only
// the token's sha256 is stored (a leaked Redis dump holds no usable cookie), with the id of the key
// that signed in — never the key. The session expires with its Redis TTL; the API checks on every
// request that its key still exists, so removing a key ends its sessions.
import { randomBytes } from 'node:crypto';
import { sha256 } from '../lib/crypto.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface Session {
  keyId: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionStore {
  /** A new session for the key; returns the cookie token. */
  create(keyId: string): Promise<{ token: string; session: Session }>;
  get(token: string): Promise<Session | undefined>;
  end(token: string): Promise<void>;
  readonly ttlSeconds: number;
}

const hashOf = (token: string) => sha256(token).toString('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function createSessionStore(redis: RedisClient, keys: Keys, ttlSeconds: number, now = () => Date.now()): SessionStore {
  return {
    ttlSeconds,
    async create(keyId) {
      const token = randomBytes(32).toString('base64url');
      const at = now();
      const session = { keyId, createdAt: new Date(at).toISOString(), expiresAt: new Date(at + ttlSeconds * 1000).toISOString() };
      const key = keys.session(hashOf(token));
      await redis.multi().hset(key, 'key_id', keyId, 'created_at', session.createdAt, 'expires_at', session.expiresAt).expire(key, ttlSeconds).exec();
      return { token, session };
    },
    async get(token) {
      if (!TOKEN.test(token)) return undefined;
      const s = await redis.hgetall(keys.session(hashOf(token)));
      if (!s.key_id || !s.expires_at) return undefined;
      return { keyId: s.key_id, createdAt: s.created_at ?? '', expiresAt: s.expires_at };
    },
    async end(token) {
      if (TOKEN.test(token)) await redis.del(keys.session(hashOf(token)));
    },
  };
}
