// Where Redis is and how to reach it, from the config: a single node (`redisUrl`) or a cluster
// (`redisClusterNodes`), with AUTH (username, password or a password file such as a mounted
// Secret) and TLS (CA, client certificate and key files). The files are read here, once at start;
// a file that cannot be read stops the start with the field named.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import type { Config } from '../config/index.ts';
import { ValidationError } from '../errors/index.ts';
import type { ReplicaAck, RedisTarget } from './redis.ts';

type RedisConfig = Pick<Config, 'redisUrl' | 'redisClusterNodes' | 'redisUsername' | 'redisPassword' | 'redisPasswordFile'
  | 'redisTls' | 'redisTlsCaFile' | 'redisTlsCertFile' | 'redisTlsKeyFile' | 'redisWaitReplicas' | 'redisWaitTimeoutMs'>;

function readField(field: keyof RedisConfig, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(field, `cannot read "${path}": ${(err as Error).message}`);
  }
}

function tlsOptions(c: RedisConfig): ConnectionOptions | undefined {
  const wanted = c.redisTls || c.redisUrl.startsWith('rediss://') || c.redisTlsCaFile !== '' || c.redisTlsCertFile !== '';
  if (!wanted) return undefined;
  const tls: ConnectionOptions = {};
  if (c.redisTlsCaFile) tls.ca = readField('redisTlsCaFile', c.redisTlsCaFile);
  if (c.redisTlsCertFile) tls.cert = readField('redisTlsCertFile', c.redisTlsCertFile);
  if (c.redisTlsKeyFile) tls.key = readField('redisTlsKeyFile', c.redisTlsKeyFile);
  for (const [field, pem] of [['redisTlsCaFile', tls.ca], ['redisTlsCertFile', tls.cert], ['redisTlsKeyFile', tls.key]] as const) {
    if (typeof pem === 'string' && !pem.includes('-----BEGIN')) throw new ValidationError(field, 'is not a PEM file');
  }
  return tls;
}

/**
 * The connection settings of every client (`url` is the one given, or the standalone child's).
 * Outside standalone mode one of `redisUrl` and `redisClusterNodes` is required.
 */
export function redisTarget(c: RedisConfig, url = c.redisUrl): RedisTarget {
  if (!url && c.redisClusterNodes.length === 0) {
    throw new ValidationError('redisUrl', 'REDIS_URL (or REDELIVER_REDIS_URL), or REDELIVER_REDIS_CLUSTER_NODES, is required outside standalone mode');
  }
  const connection: RedisOptions = {};
  if (c.redisUsername) connection.username = c.redisUsername;
  if (c.redisPassword) connection.password = c.redisPassword;
  if (c.redisPasswordFile) {
    const password = readField('redisPasswordFile', c.redisPasswordFile).replace(/\r?\n$/, '');
    if (!password) throw new ValidationError('redisPasswordFile', `"${c.redisPasswordFile}" is empty`);
    connection.password = password;
  }
  const tls = tlsOptions(c);
  if (tls) connection.tls = tls;
  const clusterNodes = c.redisClusterNodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
  const ack: ReplicaAck | undefined = c.redisWaitReplicas > 0 ? { replicas: c.redisWaitReplicas, timeoutMs: c.redisWaitTimeoutMs } : undefined;
  return { ...(clusterNodes.length ? { clusterNodes } : { url }), connection, ...(ack ? { ack } : {}) };
}
