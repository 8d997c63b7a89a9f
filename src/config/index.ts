// Configuration is read once at start: defaults in code → optional file (YAML or JSON, from
// `--config` or REDELIVER_CONFIG) → REDELIVER_* environment variables. It is validated with
// messages that name the field, then frozen and passed down. No module reads process.env.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { weakKeyMessage } from '../domain/api-key.ts';
import { ValidationError } from '../errors/index.ts';

export type Fsync = 'everysec' | 'always';
export type ApiScope = 'read' | 'operator';

export interface Config {
  /** Redis to use; empty in standalone mode means "start a redis-server child". */
  redisUrl: string;
  /** Prefix of every Redis key (tests use a random one). */
  redisPrefix: string;
  /**
   * Redis Cluster seed nodes (`host:port`, a few are enough: the rest are discovered). When set,
   * every connection is a cluster client and `redisUrl` is not used.
   */
  redisClusterNodes: string[];
  /** Redis ACL user and password (a password in `redisUrl` works too; the file wins over both). */
  redisUsername: string;
  redisPassword: string;
  /** File holding the password (a mounted Secret), read once at start; trailing newline ignored. */
  redisPasswordFile: string;
  /** TLS to Redis (also on with a `rediss://` URL). The files are PEM, read once at start. */
  redisTls: boolean;
  redisTlsCaFile: string;
  redisTlsCertFile: string;
  redisTlsKeyFile: string;
  /**
   * Replicated acknowledgement: ingest answers 2xx only after this many replicas acknowledged
   * the write (Redis WAIT). 0 = off: the master's own AOF is the durability.
   */
  redisWaitReplicas: number;
  /** How long ingest waits for those replicas before answering 503; below redisTimeoutMs. */
  redisWaitTimeoutMs: number;
  host: string;
  port: number;
  logLevel: string;
  /** `auto`: pretty at a terminal, JSON lines otherwise (containers, pipes). */
  logFormat: 'auto' | 'json' | 'pretty';
  /** 32-byte key (base64) that encrypts endpoint secrets in Redis. Empty: standalone makes one. */
  secretKey: string;
  /** Standalone mode: folder of WebhookEndpoint/Secret YAML, watched for changes. */
  endpointsDir: string;
  /** Standalone mode: where the child redis-server keeps its AOF. */
  dataDir: string;
  /** AOF fsync policy of the child redis-server. */
  fsync: Fsync;
  /** CIDRs that outbound destinations may resolve to despite the SSRF guard (e.g. 127.0.0.0/8). */
  allowedDestinations: string[];
  /** Ownership lease of a dispatch partition. */
  leaseTtlMs: number;
  /** API keys: `scope:key` pairs (plain) — hashed on load, never kept in plain text. */
  apiKeys: string[];
  apiKeysFile: string;
  /** Kubernetes namespace the controller holds its Lease in. */
  namespace: string;
  /** Deadline of the Redis work behind one HTTP request: past it, ingest answers 503 (never a hang). */
  redisTimeoutMs: number;
  /** Time a client has to send its request headers (slow clients are cut with 408). */
  headersTimeoutMs: number;
  /** Time a client has to send its whole request, body included. */
  requestTimeoutMs: number;
  /** Bytes of request bodies that ingest buffers at once before their signature is checked. */
  maxPendingBodyBytes: number;
}

export const DEFAULTS: Config = Object.freeze({
  redisUrl: '',
  redisPrefix: 'rd',
  redisClusterNodes: [],
  redisUsername: '',
  redisPassword: '',
  redisPasswordFile: '',
  redisTls: false,
  redisTlsCaFile: '',
  redisTlsCertFile: '',
  redisTlsKeyFile: '',
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: 500,
  host: '0.0.0.0',
  port: 8080,
  logLevel: 'info',
  logFormat: 'auto',
  secretKey: '',
  endpointsDir: 'examples/endpoints',
  dataDir: '.data',
  fsync: 'everysec',
  allowedDestinations: [],
  leaseTtlMs: 5_000,
  apiKeys: [],
  apiKeysFile: '',
  namespace: 'redeliver-system',
  redisTimeoutMs: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxPendingBodyBytes: 64 * 1024 * 1024,
});

type Env = Readonly<Record<string, string | undefined>>;

/** Env var name for each field: REDELIVER_ + SCREAMING_SNAKE of the field name. */
export function envName(field: string): string {
  return 'REDELIVER_' + field.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

export function loadConfig(opts: { env: Env; file?: string; overrides?: Partial<Config> }): Readonly<Config> {
  const merged: Record<string, unknown> = { ...DEFAULTS };
  const file = opts.file ?? opts.env.REDELIVER_CONFIG;
  if (file) Object.assign(merged, readConfigFile(file));
  for (const field of Object.keys(DEFAULTS)) {
    const raw = opts.env[envName(field)];
    if (raw !== undefined) merged[field] = fromEnv(field, raw);
  }
  if (opts.env.REDIS_URL && opts.env[envName('redisUrl')] === undefined) merged.redisUrl = opts.env.REDIS_URL;
  Object.assign(merged, opts.overrides);
  return Object.freeze(validate(merged));
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError('config', `cannot read config file: ${(err as Error).message}`, path);
  }
  const doc: unknown = parseYaml(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ValidationError('config', 'must be a mapping of settings', path);
  }
  for (const key of Object.keys(doc)) {
    if (!(key in DEFAULTS)) throw new ValidationError(key, 'unknown setting', path);
  }
  return doc as Record<string, unknown>;
}

function fromEnv(field: string, raw: string): unknown {
  const def = DEFAULTS[field as keyof Config];
  if (Array.isArray(def)) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof def === 'boolean') {
    if (!/^(true|false|1|0)$/.test(raw.trim())) throw new ValidationError(envName(field), `must be true or false, got "${raw}"`);
    return /^(true|1)$/.test(raw.trim());
  }
  if (typeof def === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ValidationError(envName(field), `must be a number, got "${raw}"`);
    return n;
  }
  return raw;
}

function validate(c: Record<string, unknown>): Config {
  const str = (f: string) => {
    if (typeof c[f] !== 'string') throw new ValidationError(f, 'must be a string');
  };
  const int = (f: string, min: number, max: number) => {
    const v = c[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ValidationError(f, `must be an integer between ${min} and ${max}`);
    }
  };
  const list = (f: string) => {
    const v = c[f];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ValidationError(f, 'must be a list of strings');
  };
  for (const f of ['redisUrl', 'redisPrefix', 'host', 'logLevel', 'secretKey', 'endpointsDir', 'dataDir', 'apiKeysFile', 'namespace',
    'redisUsername', 'redisPassword', 'redisPasswordFile', 'redisTlsCaFile', 'redisTlsCertFile', 'redisTlsKeyFile']) str(f);
  int('port', 0, 65535);
  int('leaseTtlMs', 1000, 600_000);
  int('redisWaitReplicas', 0, 16);
  int('redisWaitTimeoutMs', 1, 60_000);
  int('redisTimeoutMs', 50, 60_000);
  int('headersTimeoutMs', 100, 600_000);
  int('requestTimeoutMs', 100, 3_600_000);
  int('maxPendingBodyBytes', 1024, 2 ** 40);
  if ((c.headersTimeoutMs as number) > (c.requestTimeoutMs as number)) {
    throw new ValidationError('headersTimeoutMs', `must not exceed requestTimeoutMs (${String(c.requestTimeoutMs)})`);
  }
  list('allowedDestinations');
  list('apiKeys');
  (c.apiKeys as string[]).forEach((entry, i) => {
    // Only the strength here (before anything starts); the API parses the scope part.
    const weak = weakKeyMessage(entry.slice(entry.indexOf(':') + 1).trim());
    if (weak && entry.includes(':')) throw new ValidationError(`apiKeys[${i}]`, weak);
  });
  list('redisClusterNodes');
  validateRedis(c);
  if (c.fsync !== 'everysec' && c.fsync !== 'always') throw new ValidationError('fsync', 'must be "everysec" or "always"');
  if (!['auto', 'json', 'pretty'].includes(c.logFormat as string)) throw new ValidationError('logFormat', 'must be "auto", "json" or "pretty"');
  if (!/^[A-Za-z0-9_.-]+$/.test(c.redisPrefix as string)) throw new ValidationError('redisPrefix', 'may hold only letters, digits, "_", "." and "-"');
  if (c.secretKey !== '' && Buffer.from(c.secretKey as string, 'base64').length !== 32) {
    throw new ValidationError('secretKey', 'must be 32 bytes, base64-encoded');
  }
  return c as unknown as Config;
}

/** The Redis connection settings that depend on each other (files are read in store/connection.ts). */
function validateRedis(c: Record<string, unknown>): void {
  if ((c.redisWaitReplicas as number) > 0 && (c.redisWaitTimeoutMs as number) >= (c.redisTimeoutMs as number)) {
    // Past redisTimeoutMs ingest answers 503 anyway: a longer wait would only hold the request.
    throw new ValidationError('redisWaitTimeoutMs', `must be below redisTimeoutMs (${String(c.redisTimeoutMs)})`);
  }
  if (typeof c.redisTls !== 'boolean') throw new ValidationError('redisTls', 'must be true or false');
  for (const node of c.redisClusterNodes as string[]) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(node)) throw new ValidationError('redisClusterNodes', `"${node}" must be host:port`);
  }
  if (c.redisUrl !== '' && !/^rediss?:\/\//.test(c.redisUrl as string)) throw new ValidationError('redisUrl', 'must start with redis:// or rediss://');
  if ((c.redisTlsCertFile === '') !== (c.redisTlsKeyFile === '')) {
    throw new ValidationError(c.redisTlsCertFile === '' ? 'redisTlsCertFile' : 'redisTlsKeyFile', 'a client certificate needs both redisTlsCertFile and redisTlsKeyFile');
  }
}
