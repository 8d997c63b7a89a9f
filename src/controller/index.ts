// The controller role: reconciles WebhookEndpoint and ReplayRequest resources into Redis.
//
//   informers (list + watch, both kinds, cluster-wide) ──keys──▶ work queues ──▶ reconcilers
//                                                                   ▲ paused unless leading
//   Lease redeliver-controller (config.namespace) ──▶ leader elector
//
// Every replica watches (so a new leader starts with a warm cache), but only the Lease holder runs
// the queues and the replay engine. Losing the Lease pauses the queues and closes the engine;
// gaining it enqueues every cached object and resumes Running replays. The data plane never waits
// on any of this: it reads Redis only, so ingest and delivery go on while the API server is away,
// and the informers catch up (re-watch or re-list) when it returns.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RoleHandle, Shared } from '../lib/runtime.ts';
import { createKubeClient, type KubeClient } from '../k8s/client.ts';
import { createEventRecorder } from '../k8s/events.ts';
import { createResourceWatch, type ResourceWatch } from '../k8s/informer.ts';
import { createLeaderElector } from '../k8s/leader.ts';
import { ENDPOINT_KIND, GROUP, objectKey, REPLAY_KIND, VERSION, type Kind, type KubeObject, type ReplayRequestObject, type WebhookEndpointObject } from '../k8s/resources.ts';
import { createValidator } from '../k8s/schema.ts';
import { createSecretReader } from '../k8s/secrets.ts';
import { createReplayEngine, type ReplayEngine } from '../replay/engine.ts';
import { createEndpointReconciler } from './endpoint-reconciler.ts';
import { createControllerMetrics } from './metrics.ts';
import { createWorkQueue, type Handler, type WorkQueue } from './queue.ts';
import { createReplayReconciler } from './replay-reconciler.ts';

export interface ControllerOptions {
  /** Read by the entry wiring (KUBECONFIG or in-cluster) and passed down. */
  kubeConfig: KubeConfig;
  /** Identity in the Lease (default: host name + random suffix). */
  identity?: string;
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** How often an endpoint's status is refreshed from Redis (default 10 s). */
  refreshMs?: number;
  /** How often a Running replay's status is refreshed (default 1 s). */
  replayPollMs?: number;
  /** How long a stored endpoint must be inactive before its ordering layout may change (default 15 s). */
  layoutQuietMs?: number;
  secretTtlMs?: number;
  requestTimeoutMs?: number;
  /** Full resync of the informer caches into the queues (default 5 min). */
  resyncMs?: number;
  /** Replaces the Kubernetes client (tests). */
  client?: KubeClient;
}

export interface Controller extends RoleHandle {
  isLeader(): boolean;
}

/** What changes of an object deserve a reconcile: not our own status writes. */
const signature = (o: KubeObject) => JSON.stringify([o.metadata.generation, o.metadata.deletionTimestamp, o.metadata.finalizers, o.metadata.uid]);

export function createController(shared: Shared, opts: ControllerOptions): Controller {
  const log = shared.log.child({ role: 'controller' });
  const identity = opts.identity ?? `${hostname()}_${randomUUID().slice(0, 8)}`;
  const client = opts.client ?? createKubeClient(opts.kubeConfig, { ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}) });
  const events = createEventRecorder({ client, component: 'redeliver-controller', instance: identity, log });
  const metrics = createControllerMetrics(shared.metrics.registry);
  let engine: ReplayEngine | undefined;
  let transition: Promise<void> = Promise.resolve();
  let closed = false;

  const watches: Array<ResourceWatch<KubeObject>> = [];
  const queues: WorkQueue[] = [];

  const setUp = <T extends KubeObject>(kind: Kind, reconcile: (get: (ns: string, name: string) => T | undefined) => Handler) => {
    const seen = new Map<string, string>();
    // `watch` is created below; the handler only runs once it exists.
    const handler = reconcile((ns, name) => watch.get(ns, name));
    const queue = createWorkQueue({
      name: kind.plural,
      log,
      handler: async (key) => {
        const end = metrics.reconcileDuration.startTimer({ kind: kind.kind });
        try {
          const r = await handler(key);
          metrics.reconciles.inc({ kind: kind.kind, outcome: r?.retry ? 'retry' : 'ok' });
          return r;
        } catch (err) {
          metrics.reconciles.inc({ kind: kind.kind, outcome: 'error' });
          throw err;
        } finally {
          end();
        }
      },
    });
    const watch = createResourceWatch<T>({
      kubeConfig: opts.kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/${kind.plural}`,
      list: () => client.listObjects<T>(kind),
      log,
      resyncMs: opts.resyncMs ?? 300_000,
      onResync: (o) => queue.add(objectKey(o)),
      onChange: (o, verb) => {
        const key = objectKey(o);
        const sig = signature(o);
        if (verb === 'delete') seen.delete(key);
        else if (verb === 'update' && seen.get(key) === sig) return;
        else seen.set(key, sig);
        queue.add(key);
      },
    });
    watches.push(watch as unknown as ResourceWatch<KubeObject>);
    queues.push(queue);
  };

  setUp<WebhookEndpointObject>(ENDPOINT_KIND, (get) => createEndpointReconciler({
    client, log, events, get,
    registry: shared.registry,
    redis: shared.redis,
    keys: shared.keys,
    validator: createValidator('webhookendpoints.yaml', 'WebhookEndpoint'),
    secrets: createSecretReader(client, { ...(opts.secretTtlMs ? { ttlMs: opts.secretTtlMs } : {}) }),
    plan: { refreshMs: opts.refreshMs ?? 10_000, layoutQuietMs: opts.layoutQuietMs ?? 15_000 },
  }));
  setUp<ReplayRequestObject>(REPLAY_KIND, (get) => createReplayReconciler({
    client, log, events, get,
    validator: createValidator('replayrequests.yaml', 'ReplayRequest'),
    engine: () => engine,
    pollMs: opts.replayPollMs ?? 1000,
    onFinished: (phase) => metrics.replaysFinished.inc({ phase }),
  }));

  const startLeading = async () => {
    if (closed) return;
    engine = createReplayEngine({ redis: shared.redis, keys: shared.keys, log, endpoints: shared.endpoints, owner: `controller-${identity}` });
    await engine.resume().catch((err: unknown) => log.warn({ err }, 'could not resume replays yet; the engine keeps sweeping'));
    watches.forEach((w, i) => {
      for (const o of w.list()) queues[i]!.add(objectKey(o));
    });
    for (const q of queues) q.resume();
    metrics.leader.set(1);
  };
  const stopLeading = async () => {
    metrics.leader.set(0);
    await Promise.all(queues.map((q) => q.pause()));
    const e = engine;
    engine = undefined;
    await e?.close();
  };
  // Leadership changes run one after the other, never interleaved.
  const serially = (step: () => Promise<void>) => {
    transition = transition.then(step).catch((err: unknown) => log.error({ err }, 'leadership change failed'));
  };

  const elector = createLeaderElector({
    client, log, identity,
    namespace: shared.config.namespace,
    name: opts.leaseName ?? 'redeliver-controller',
    ...(opts.leaseDurationMs ? { leaseDurationMs: opts.leaseDurationMs } : {}),
    ...(opts.renewDeadlineMs ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
    ...(opts.retryPeriodMs ? { retryPeriodMs: opts.retryPeriodMs } : {}),
    onStartedLeading: () => serially(startLeading),
    onStoppedLeading: () => serially(stopLeading),
  });

  return {
    isLeader: () => elector.isLeader(),
    async start() {
      // Not awaited: the process (and its data plane) must come up even when the API server is
      // unreachable; the watches keep retrying and the queues fill once they get through.
      for (const w of watches) void w.start();
      elector.start();
      log.info({ identity, lease: `${shared.config.namespace}/${opts.leaseName ?? 'redeliver-controller'}` }, 'controller started');
    },
    async close() {
      if (closed) return;
      closed = true;
      // Finish the reconciles in flight before the Lease is released, so the next leader never
      // works on an object at the same time as this one.
      serially(stopLeading);
      await transition;
      await Promise.all(queues.map((q) => q.close()));
      await elector.close();
      await transition;
      await Promise.all(watches.map((w) => w.stop()));
    },
  };
}
