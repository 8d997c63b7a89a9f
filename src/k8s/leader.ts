// Leader election through a coordination.k8s.io/v1 Lease, the way client-go does it, so that of
// several controller replicas exactly one acts at a time.
//
// - Every `retryPeriod` each candidate reads the Lease. A holder's claim is trusted for
//   `leaseDuration` counted from when WE last saw the record change (our own clock, never the
//   holder's timestamps: clocks of different machines may disagree, elapsed time on one machine
//   does not). An empty or expired claim is taken by replacing the Lease with its
//   resourceVersion, so of two candidates racing for it only one write succeeds (409 for the other).
// - The leader renews every `retryPeriod`. If it has not renewed successfully for `renewDeadline`
//   (< leaseDuration) it stops leading at once — a watchdog timer, so a hung request cannot delay
//   it — before any other candidate can consider the lease expired.
// - close() releases the Lease (empty holder, duration 1 s) so a successor takes over right away
//   instead of waiting out the lease.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Log } from '../lib/log.ts';
import { apiMessage, httpStatus, type KubeClient } from './client.ts';

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log: Log;
  now?: () => number;
}

export interface LeaderElector {
  start(): void;
  isLeader(): boolean;
  /** Stops campaigning and releases the Lease if held. Idempotent. */
  close(): Promise<void>;
}

interface Observed {
  holder: string;
  renewTime: string;
  resourceVersion: string;
  at: number;
}

export function createLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  const leaseDuration = opts.leaseDurationMs ?? 15_000;
  const renewDeadline = opts.renewDeadlineMs ?? 10_000;
  const retryPeriod = opts.retryPeriodMs ?? 2_000;
  if (renewDeadline >= leaseDuration) throw new Error('renewDeadline must be shorter than leaseDuration');
  const now = opts.now ?? Date.now;
  const { client, namespace, name, identity, log } = opts;
  let leader = false;
  let closed = false;
  let loopTimer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let observed: Observed | undefined;
  let running: Promise<void> = Promise.resolve();

  const spec = (old: V1Lease['spec'] | undefined, holder: string, durationS: number) => {
    const t = new V1MicroTime(now());
    const same = old?.holderIdentity === holder;
    return {
      holderIdentity: holder,
      leaseDurationSeconds: durationS,
      acquireTime: same && old?.acquireTime ? old.acquireTime : t,
      renewTime: t,
      leaseTransitions: (old?.leaseTransitions ?? 0) + (same ? 0 : 1),
    };
  };

  const stepDown = (why: string) => {
    clearTimeout(watchdog);
    if (!leader) return;
    leader = false;
    log.warn({ lease: `${namespace}/${name}`, identity, why }, 'stopped leading');
    opts.onStoppedLeading();
  };

  const renewed = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => stepDown(`no successful renewal for ${renewDeadline} ms`), renewDeadline);
    watchdog.unref();
    if (leader) return;
    leader = true;
    log.info({ lease: `${namespace}/${name}`, identity }, 'started leading');
    opts.onStartedLeading();
  };

  /** Notes when the record last changed, by our clock; returns how long the holder's claim runs from then. */
  const observe = (lease: V1Lease): number => {
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = String(lease.spec?.renewTime ?? '');
    const rv = lease.metadata?.resourceVersion ?? '';
    if (!observed || observed.holder !== holder || observed.renewTime !== renewTime || observed.resourceVersion !== rv) {
      observed = { holder, renewTime, resourceVersion: rv, at: now() };
    }
    return observed.at + (lease.spec?.leaseDurationSeconds ?? Math.ceil(leaseDuration / 1000)) * 1000;
  };

  /** One read-and-maybe-write of the Lease. True when we hold it afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const lease = await client.getLease(namespace, name);
    const durationS = Math.ceil(leaseDuration / 1000);
    if (!lease) {
      await client.createLease(namespace, { metadata: { name, namespace }, spec: spec(undefined, identity, durationS) });
      return true;
    }
    const validUntil = observe(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && validUntil > now()) return false;
    const body: V1Lease = { metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion ?? '' }, spec: spec(lease.spec, identity, durationS) };
    await client.replaceLease(namespace, name, body);
    return true;
  };

  const tick = async () => {
    try {
      if (await tryAcquireOrRenew()) renewed();
      else stepDown('another replica holds the lease');
    } catch (err) {
      // 409: someone else wrote the Lease first; anything else: keep trying until the watchdog fires.
      if (httpStatus(err) !== 409) log.debug({ lease: `${namespace}/${name}`, err: apiMessage(err) }, 'lease update failed');
      if (httpStatus(err) === 409 && leader) stepDown('the lease was taken over');
    }
  };

  const loop = () => {
    if (closed) return;
    running = tick().finally(() => {
      if (!closed) loopTimer = setTimeout(loop, retryPeriod);
    });
  };

  return {
    start: loop,
    isLeader: () => leader,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(loopTimer);
      await running;
      if (!leader) return;
      stepDown('shutting down');
      try {
        const lease = await client.getLease(namespace, name);
        if (lease?.spec?.holderIdentity === identity) {
          await client.replaceLease(namespace, name, { metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion ?? '' }, spec: { ...spec(lease.spec, '', 1), holderIdentity: '' } });
        }
      } catch (err) {
        log.debug({ err: apiMessage(err) }, 'could not release the lease; it expires by itself');
      }
    },
  };
}
