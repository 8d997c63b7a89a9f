// The Redis connection settings: read from REDELIVER_* env, refused at start with the field named,
// and turned into one client target for a single node or a cluster (no I/O: no files named here).
import { expect } from 'chai';
import { loadConfig } from '../../src/config/index.ts';
import { redisTarget } from '../../src/store/connection.ts';

const load = (env: Record<string, string>) => loadConfig({ env });
const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as { field?: string }).field ?? `no field: ${(err as Error).message}`;
  }
  return 'no error';
};

describe('config: Redis connection', function () {
  it('reads cluster seed nodes, TLS and replicated-ack settings from the environment', function () {
    const c = load({ REDELIVER_REDIS_CLUSTER_NODES: 'redis-0.redis:6379, 10.0.0.2:7000', REDELIVER_REDIS_TLS: 'true',
      REDELIVER_REDIS_WAIT_REPLICAS: '1', REDELIVER_REDIS_WAIT_TIMEOUT_MS: '250', REDELIVER_REDIS_USERNAME: 'redeliver', REDELIVER_REDIS_PASSWORD: 'pw' });
    expect(c.redisClusterNodes).to.deep.equal(['redis-0.redis:6379', '10.0.0.2:7000']);
    const t = redisTarget(c);
    expect(t.clusterNodes).to.deep.equal([{ host: 'redis-0.redis', port: 6379 }, { host: '10.0.0.2', port: 7000 }]);
    expect(t.url).to.equal(undefined);
    expect(t.connection).to.deep.include({ username: 'redeliver', password: 'pw' });
    expect(t.connection?.tls).to.deep.equal({});
    expect(t.ack).to.deep.equal({ replicas: 1, timeoutMs: 250 });
  });

  it('keeps a single node when no seed nodes are given; TLS from a rediss:// URL; no ack by default', function () {
    const t = redisTarget(load({ REDIS_URL: 'rediss://:secret@redis.example:6380' }));
    expect(t).to.include({ url: 'rediss://:secret@redis.example:6380' });
    expect(t.clusterNodes).to.equal(undefined);
    expect(t.connection?.tls).to.deep.equal({});
    expect(t.ack).to.equal(undefined);
    expect(redisTarget(load({ REDIS_URL: 'redis://r:6379' })).connection?.tls).to.equal(undefined);
  });

  it('refuses bad settings naming the field', function () {
    expect(fieldOf(() => load({ REDELIVER_REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1' }))).to.equal('redisClusterNodes');
    expect(fieldOf(() => load({ REDELIVER_REDIS_TLS: 'yes' }))).to.equal('REDELIVER_REDIS_TLS');
    expect(fieldOf(() => load({ REDELIVER_REDIS_WAIT_REPLICAS: '-1' }))).to.equal('redisWaitReplicas');
    expect(fieldOf(() => load({ REDELIVER_REDIS_WAIT_TIMEOUT_MS: '0' }))).to.equal('redisWaitTimeoutMs');
    expect(fieldOf(() => load({ REDELIVER_REDIS_WAIT_REPLICAS: '1', REDELIVER_REDIS_WAIT_TIMEOUT_MS: '1000', REDELIVER_REDIS_TIMEOUT_MS: '1000' })))
      .to.equal('redisWaitTimeoutMs');
    expect(fieldOf(() => load({ REDELIVER_REDIS_TLS_CERT_FILE: '/etc/tls/tls.crt' }))).to.equal('redisTlsKeyFile');
    expect(fieldOf(() => load({ REDELIVER_REDIS_TLS_KEY_FILE: '/etc/tls/tls.key' }))).to.equal('redisTlsCertFile');
    expect(fieldOf(() => load({ REDIS_URL: 'http://r:6379' }))).to.equal('redisUrl');
    expect(fieldOf(() => redisTarget(load({})))).to.equal('redisUrl');
  });
});
