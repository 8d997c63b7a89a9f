// The strength rule for API keys, in one place: config validation refuses weak `apiKeys` at load,
// and the API's key-file reader (api/auth.ts) refuses weak lines. A key is named by its id — a
// fingerprint of its sha256 — never by its value.
import { createHash } from 'node:crypto';

export const MIN_KEY_LENGTH = 32;
export const MIN_KEY_DISTINCT = 10;

/** `key_` + the first 12 hex digits of the key's sha256. */
export const apiKeyId = (key: string) => `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

/** Why a key is too weak to accept, or undefined when it is strong enough. */
export function keyWeakness(key: string): string | undefined {
  if (key.length < MIN_KEY_LENGTH) return `is too weak: an API key needs at least ${MIN_KEY_LENGTH} characters (this one has ${key.length})`;
  if (new Set(key).size < MIN_KEY_DISTINCT) return `is too weak: an API key needs at least ${MIN_KEY_DISTINCT} different characters`;
  return undefined;
}

/** The full refusal for a weak key (undefined when strong), naming the key by its id. */
export function weakKeyMessage(key: string): string | undefined {
  const weak = keyWeakness(key);
  return weak ? `key ${apiKeyId(key)} ${weak}; make one with \`openssl rand -hex 32\`` : undefined;
}
