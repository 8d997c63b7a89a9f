// API keys and scopes. Keys come from config (`apiKeys`: `scope:key` entries) and/or a mounted
// Secret file (`apiKeysFile`: one `scope:key` per line, `#` comments), are hashed (sha256) on
// load and never kept in plain text, and are compared in constant time. A key is known by its id,
// a fingerprint of its hash (`key_<12 hex>`): that is what logs and the audit log show.
// A team-scoped key names its namespaces after the scope (`operator@team-a,team-b:<key>`): it
// sees and acts on the endpoints of those namespaces only (deps.ts `canSee`).
// A key must be strong (domain/api-key.ts): a short or repetitive key is refused at load with the
// key's id and the rule, never the key itself.
// The file is re-read when it changes (Kubernetes updates a mounted Secret in place), so keys
// can be rotated without a restart; a file that became unreadable or invalid keeps the old keys.
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { ApiScope } from '../config/index.ts';
import { weakKeyMessage } from '../domain/api-key.ts';
import { ValidationError, errorMessage } from '../errors/index.ts';
import { sha256 } from '../lib/crypto.ts';
import type { Log } from '../lib/log.ts';

export const SCOPES: readonly ApiScope[] = ['read', 'operator'];

export interface Caller {
  id: string;
  scope: ApiScope;
  /** Team-scoped key: the only namespaces it sees. Absent: every namespace. */
  namespaces?: readonly string[];
}

export interface ApiKey extends Caller {
  hash: Buffer;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `read`, `operator`, or either followed by `@ns1,ns2`; undefined when malformed. */
function parseScope(text: string): { scope: ApiScope; namespaces?: string[] } | undefined {
  const [scope = '', team] = text.split('@', 2);
  if (!(SCOPES as readonly string[]).includes(scope)) return undefined;
  if (team === undefined) return { scope: scope as ApiScope };
  const namespaces = team.split(',').map((n) => n.trim());
  if (namespaces.some((n) => !NAMESPACE.test(n))) return undefined;
  return { scope: scope as ApiScope, namespaces };
}

/** One `scope:key` entry; throws a ValidationError naming `field` (and the key id, never the key). */
export function parseKeyEntry(entry: string, field: string, source?: string): ApiKey {
  const i = entry.indexOf(':');
  const parsed = parseScope(entry.slice(0, Math.max(i, 0)).trim());
  const key = entry.slice(i + 1).trim();
  if (i < 0 || !parsed || key === '') {
    throw new ValidationError(field, 'must be "read:<key>" or "operator:<key>" (optionally "operator@namespace,…:<key>")', source);
  }
  const hash = sha256(key);
  const id = keyId(hash);
  const weak = weakKeyMessage(key);
  if (weak) throw new ValidationError(field, weak, source);
  return { id, hash, ...parsed };
}

export const keyId = (hash: Buffer) => `key_${hash.toString('hex').slice(0, 12)}`;

/** The lines of a keys file: `scope:key`, blank lines and `#` comments ignored. */
export function parseKeyFile(text: string, source: string): ApiKey[] {
  const keys: ApiKey[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    keys.push(parseKeyEntry(line, `line ${n + 1}`, source));
  }
  return keys;
}

/** The presented key: `X-API-Key`, else `Authorization: Bearer <key>`. */
export function presentedKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x.trim();
  const auth = headers['authorization'];
  const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m?.[1]?.trim() || undefined;
}

/** Finds the key in constant time with respect to which key (if any) matches. */
export function matchKey(keys: readonly ApiKey[], presented: string): Caller | undefined {
  const hash = sha256(presented);
  let found: ApiKey | undefined;
  for (const k of keys) {
    // Every key is compared, so the time does not tell which one matched.
    if (timingSafeEqual(hash, k.hash) && !found) found = k;
  }
  return found ? callerOf(found) : undefined;
}

const callerOf = (k: ApiKey): Caller => ({ id: k.id, scope: k.scope, ...(k.namespaces ? { namespaces: k.namespaces } : {}) });

export interface ApiAuth {
  identify(presented: string | undefined): Caller | undefined;
  /** The key with this id as it is configured now (a session follows its key's changes and removal). */
  byId(id: string): Caller | undefined;
  /** How many keys are configured (0: the API refuses every request). */
  count(): number;
  /** Loads the file (throws when it cannot) and starts watching it. */
  start(): void;
  close(): void;
}

export function createApiAuth(opts: { apiKeys: readonly string[]; apiKeysFile: string; log: Log; reloadMs?: number }): ApiAuth {
  const fromConfig = opts.apiKeys.map((e, i) => parseKeyEntry(e, `apiKeys[${i}]`));
  let fromFile: ApiKey[] = [];
  let fileText: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  const readFile = () => {
    let text: string;
    try {
      text = readFileSync(opts.apiKeysFile, 'utf8');
    } catch (err) {
      throw new ValidationError('apiKeysFile', `cannot read the API keys file: ${errorMessage(err)}`, opts.apiKeysFile);
    }
    if (text === fileText) return false;
    fromFile = parseKeyFile(text, opts.apiKeysFile);
    fileText = text;
    return true;
  };
  const reload = () => {
    try {
      if (readFile()) opts.log.info({ file: opts.apiKeysFile, keys: fromFile.length }, 'API keys reloaded');
    } catch (err) {
      opts.log.error({ file: opts.apiKeysFile, err: errorMessage(err) }, 'API keys file unreadable or invalid; keeping the keys loaded before');
    }
  };
  const all = () => [...fromConfig, ...fromFile];

  return {
    identify: (presented) => (presented === undefined ? undefined : matchKey(all(), presented)),
    byId: (id) => {
      const k = all().find((x) => x.id === id);
      return k ? callerOf(k) : undefined;
    },
    count: () => all().length,
    start() {
      if (opts.apiKeysFile) {
        readFile();
        timer = setInterval(reload, opts.reloadMs ?? 5000);
        timer.unref();
      }
      if (all().length === 0) {
        opts.log.warn('the management API has no keys (set apiKeys or apiKeysFile): it refuses every request with 401');
      } else {
        opts.log.info({ keys: all().map(callerOf) }, 'API keys loaded');
      }
    },
    close() {
      clearInterval(timer);
    },
  };
}
