// planEndpoint, the pure WebhookEndpoint reconcile: resource + observation in, actions out.
import { expect } from 'chai';
import type { EndpointSpec, ResolvedEndpoint } from '../../src/domain/endpoint.ts';
import type { EndpointObserved, EndpointAction } from '../../src/controller/endpoint-plan.ts';
import { planEndpoint } from '../../src/controller/endpoint-plan.ts';
import type { QueueObservation } from '../../src/controller/endpoint-observe.ts';
import type { Condition, WebhookEndpointObject } from '../../src/k8s/resources.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const OPTS = { refreshMs: 10_000, layoutQuietMs: 15_000 };

function spec(over: Partial<EndpointSpec> = {}): EndpointSpec {
  return {
    source: { provider: 'github', secretRef: { name: 'gh', keys: ['token'] }, toleranceSeconds: 300, maxBodyBytes: 1_048_576, dedupeWindowSeconds: 259_200 },
    destination: { url: 'http://svc.example/hook', timeoutSeconds: 30 },
    ordering: { mode: 'key', key: '/id', partitions: 8, concurrency: 10 },
    retry: { maxAttempts: 8, backoff: { initialSeconds: 1, maxSeconds: 3600, multiplier: 2, jitter: 0.2 } },
    retention: { seconds: 604_800 },
    paused: false,
    state: 'active',
    ...over,
  };
}

function resource(over: { spec?: EndpointSpec; generation?: number; finalizers?: string[]; deletion?: boolean; conditions?: Condition[] } = {}): WebhookEndpointObject {
  return {
    apiVersion: 'redeliver.io/v1alpha1',
    kind: 'WebhookEndpoint',
    metadata: {
      name: 'orders', namespace: 'shop', uid: 'u-1', generation: over.generation ?? 1, resourceVersion: '10',
      finalizers: over.finalizers ?? ['redeliver.io/finalizer'],
      ...(over.deletion ? { deletionTimestamp: '2026-03-01T11:59:00Z' } : {}),
    },
    spec: over.spec ?? spec(),
    ...(over.conditions ? { status: { conditions: over.conditions } } : {}),
  };
}

const queues = (over: Partial<QueueObservation> = {}): QueueObservation => ({ backlog: 0, blocked: [], deadLettered: 0, ...over });

function observed(over: Partial<EndpointObserved> = {}): EndpointObserved {
  return { now: NOW, schemaProblems: [], secrets: new Map([['gh', { data: { token: 'secret-1' } }]]), queues: queues(), ...over };
}

function storedFrom(res: WebhookEndpointObject, over: Partial<ResolvedEndpoint> = {}): ResolvedEndpoint {
  return {
    id: 'shop/orders', namespace: 'shop', name: 'orders', generation: res.metadata.generation ?? 1, spec: res.spec,
    sourceSecrets: ['secret-1'], updatedAt: '2026-03-01T11:00:00.000Z', ...over,
  };
}

const ofType = <T extends EndpointAction['type']>(actions: EndpointAction[], type: T) => actions.filter((a) => a.type === type) as Array<Extract<EndpointAction, { type: T }>>;
const statusOf = (actions: EndpointAction[]) => ofType(actions, 'status')[0]?.status;
const cond = (actions: EndpointAction[], type: string) => statusOf(actions)?.conditions?.find((c) => c.type === type);

describe('planEndpoint (pure WebhookEndpoint reconcile)', function () {
  it('adds the finalizer, registers a new endpoint with its resolved secrets, writes status and asks for a refresh', function () {
    const plan = planEndpoint(resource({ finalizers: [] }), observed(), OPTS);
    expect(plan.actions.map((a) => a.type)).to.deep.equal(['addFinalizer', 'put', 'event', 'status']);
    const put = ofType(plan.actions, 'put')[0]!;
    expect(put.endpoint).to.include({ id: 'shop/orders', generation: 1 });
    expect(put.endpoint.sourceSecrets).to.deep.equal(['secret-1']);
    expect(statusOf(plan.actions)).to.include({ observedGeneration: 1, ingestPath: '/in/shop/orders', backlog: 0, oldestPendingSeconds: 0, oldestPendingAge: '0s' });
    expect(cond(plan.actions, 'Ready')).to.include({ status: 'True', reason: 'Registered', observedGeneration: 1, lastTransitionTime: '2026-03-01T12:00:00Z' });
    expect(cond(plan.actions, 'Blocked')).to.include({ status: 'False', reason: 'NotBlocked' });
    expect(cond(plan.actions, 'DestinationHealthy')).to.include({ status: 'Unknown', reason: 'NoDeliveries' });
    expect(plan.requeueAfterMs).to.equal(10_000);
  });

  it('does nothing when Redis and the status are already as planned', function () {
    const first = planEndpoint(resource(), observed(), OPTS);
    const res = { ...resource(), status: statusOf(first.actions)! };
    const again = planEndpoint(res, observed({ stored: storedFrom(res), now: new Date(NOW.getTime() + 60_000) }), OPTS);
    expect(again.actions).to.deep.equal([]);
  });

  it('archives, records it, and removes the finalizer on deletion; nothing without the finalizer', function () {
    const plan = planEndpoint(resource({ deletion: true }), observed(), OPTS);
    expect(plan.actions.map((a) => a.type)).to.deep.equal(['archive', 'event', 'removeFinalizer']);
    expect(ofType(plan.actions, 'archive')[0]).to.deep.equal({ type: 'archive', id: 'shop/orders' });
    expect(planEndpoint(resource({ deletion: true, finalizers: ['other.io/keep'] }), observed(), OPTS).actions).to.deep.equal([]);
  });

  it('refuses a CEL-rule violation with InvalidSpec naming the field, writes nothing, and warns once', function () {
    const res = resource({ spec: spec({ ordering: { mode: 'key', partitions: 8, concurrency: 10 } }) });
    const plan = planEndpoint(res, observed(), OPTS);
    expect(ofType(plan.actions, 'put')).to.have.length(0);
    expect(cond(plan.actions, 'Ready')).to.include({ status: 'False', reason: 'InvalidSpec' });
    expect(cond(plan.actions, 'Ready')?.message).to.match(/^spec\.ordering\.key: is required when spec\.ordering\.mode is "key"; nothing was registered$/);
    expect(ofType(plan.actions, 'event')).to.deep.equal([{ type: 'event', eventType: 'Warning', reason: 'InvalidSpec', message: cond(plan.actions, 'Ready')!.message }]);
    // Already reported: no second event; the last good generation is named.
    const again = planEndpoint({ ...res, status: statusOf(plan.actions)! }, observed({ stored: storedFrom(resource()) }), OPTS);
    expect(ofType(again.actions, 'event')).to.have.length(0);
    expect(cond(again.actions, 'Ready')?.message).to.include('generation 1 stays in effect');
  });

  it('reports schema problems (what the API server checks) the same way', function () {
    const plan = planEndpoint(resource(), observed({ schemaProblems: [{ field: 'spec.destination.url', message: 'must match pattern "^https?://"' }] }), OPTS);
    expect(cond(plan.actions, 'Ready')?.message).to.include('spec.destination.url: must match pattern');
    expect(ofType(plan.actions, 'put')).to.have.length(0);
  });

  it('reports a missing or unreadable Secret (SecretMissing, retry with backoff)', function () {
    const missing = planEndpoint(resource(), observed({ secrets: new Map() }), OPTS);
    expect(missing.retry).to.equal(true);
    expect(cond(missing.actions, 'Ready')).to.include({ status: 'False', reason: 'SecretMissing' });
    expect(cond(missing.actions, 'Ready')?.message).to.include('spec.source.secretRef: Secret "shop/gh" not found');
    expect(ofType(missing.actions, 'event')[0]).to.include({ eventType: 'Warning', reason: 'SecretMissing' });
    const forbidden = planEndpoint(resource(), observed({ secrets: new Map([['gh', { error: 'forbidden: no' }]]) }), OPTS);
    expect(cond(forbidden.actions, 'Ready')?.message).to.include('cannot read Secret "shop/gh": forbidden');
    const noKey = planEndpoint(resource(), observed({ secrets: new Map([['gh', { data: { other: 'x' } }]]) }), OPTS);
    expect(cond(noKey.actions, 'Ready')?.message).to.include('has none of the keys token');
  });

  describe('ordering layout changes', function () {
    const old = resource();
    const changed = resource({ generation: 2, spec: spec({ ordering: { mode: 'key', key: '/id', partitions: 4, concurrency: 10 }, destination: { url: 'http://svc.example/v2', timeoutSeconds: 30 } }) });

    it('keeps the stored layout of an active endpoint but applies the rest, with OrderingChangeRefused', function () {
      const plan = planEndpoint(changed, observed({ stored: storedFrom(old) }), OPTS);
      const put = ofType(plan.actions, 'put')[0]!;
      expect(put.endpoint.spec.ordering.partitions).to.equal(8);
      expect(put.endpoint.spec.destination.url).to.equal('http://svc.example/v2');
      expect(put.endpoint.generation).to.equal(2);
      expect(cond(plan.actions, 'Ready')).to.include({ status: 'True', reason: 'OrderingChangeRefused' });
      expect(cond(plan.actions, 'Ready')?.message).to.include('from (mode key, 8 partitions, key /id) to (mode key, 4 partitions, key /id)');
      expect(ofType(plan.actions, 'event').map((e) => e.reason)).to.include('OrderingChangeRefused');
    });

    it('treats a mode change and a key change as layout changes too', function () {
      for (const ordering of [{ mode: 'strict' as const, partitions: 8, concurrency: 10 }, { mode: 'key' as const, key: '/customer', partitions: 8, concurrency: 10 }]) {
        const plan = planEndpoint(resource({ generation: 2, spec: spec({ ordering }) }), observed({ stored: storedFrom(old) }), OPTS);
        expect(cond(plan.actions, 'Ready')?.reason).to.equal('OrderingChangeRefused');
      }
    });

    it('waits for the quiet period of a disabled, drained endpoint, then applies the new layout', function () {
      const disabled = storedFrom(old, { spec: { ...old.spec, state: 'disabled' }, updatedAt: new Date(NOW.getTime() - 5000).toISOString() });
      const early = planEndpoint(changed, observed({ stored: disabled }), OPTS);
      expect(early.requeueAfterMs).to.equal(10_000);
      expect(cond(early.actions, 'Ready')?.message).to.include('waiting 10s more');
      const later = planEndpoint(changed, observed({ stored: disabled, now: new Date(NOW.getTime() + 11_000) }), OPTS);
      expect(ofType(later.actions, 'put')[0]!.endpoint.spec.ordering.partitions).to.equal(4);
      expect(cond(later.actions, 'Ready')?.reason).to.equal('Registered');
    });

    it('keeps the layout of a disabled endpoint that still has a backlog', function () {
      const disabled = storedFrom(old, { spec: { ...old.spec, state: 'disabled' } });
      const plan = planEndpoint(changed, observed({ stored: disabled, queues: queues({ backlog: 3 }) }), OPTS);
      expect(ofType(plan.actions, 'put')[0]!.endpoint.spec.ordering.partitions).to.equal(8);
      expect(cond(plan.actions, 'Ready')?.message).to.include('the backlog is 3');
    });
  });

  it('reports backlog, age, blocked partitions and a failing head, with Blocked and DestinationUnhealthy events', function () {
    const q = queues({
      backlog: 5, oldestPendingAt: NOW.getTime() - 200_000, deadLettered: 2, lastDeliveredAt: '2026-03-01T11:50:00.000Z',
      blocked: [{ partition: 3, deliveryId: 'd-9' }, { partition: 5, deliveryId: 'd-7' }],
      headFailure: { deliveryId: 'd-9', partition: 3, attempts: 8, classification: 'consumer_5xx', statusCode: '503' },
    });
    const plan = planEndpoint(resource(), observed({ queues: q }), OPTS);
    expect(statusOf(plan.actions)).to.include({ backlog: 5, deadLettered: 2, oldestPendingSeconds: 200, oldestPendingAge: '3m20s', lastDeliveredAt: '2026-03-01T11:50:00.000Z', blockedDelivery: 'd-9' });
    expect(cond(plan.actions, 'Blocked')).to.include({ status: 'True', reason: 'DeliveryExhausted' });
    expect(cond(plan.actions, 'Blocked')?.message).to.include('delivery d-9 used all its attempts and holds partition 3 (and 1 more partition)');
    expect(cond(plan.actions, 'DestinationHealthy')).to.include({ status: 'False', reason: 'AttemptsFailing' });
    expect(cond(plan.actions, 'DestinationHealthy')?.message).to.include('attempt 8 failed: consumer_5xx, HTTP 503');
    expect(ofType(plan.actions, 'event').map((e) => `${e.eventType}/${e.reason}`)).to.include.members(['Warning/Blocked', 'Warning/DestinationUnhealthy']);
  });

  it('records Unblocked and DestinationHealthy when they recover, keeping transition times of unchanged conditions', function () {
    const bad = planEndpoint(resource(), observed({ queues: queues({ blocked: [{ partition: 0, deliveryId: 'd-1' }], headFailure: { deliveryId: 'd-1', partition: 0, attempts: 3, classification: 'connection_refused', statusCode: '' } }) }), OPTS);
    const res = { ...resource(), status: statusOf(bad.actions)! };
    const later = new Date(NOW.getTime() + 60_000);
    const good = planEndpoint(res, observed({ now: later, stored: storedFrom(res), queues: queues({ lastDeliveredAt: later.toISOString() }) }), OPTS);
    expect(ofType(good.actions, 'event').map((e) => `${e.eventType}/${e.reason}`)).to.deep.equal(['Normal/Unblocked', 'Normal/DestinationHealthy']);
    expect(cond(good.actions, 'Blocked')?.lastTransitionTime).to.equal('2026-03-01T12:01:00Z');
    expect(cond(good.actions, 'Ready')?.lastTransitionTime).to.equal('2026-03-01T12:00:00Z');
  });

  it('says Disabled / Archived / paused in Ready', function () {
    expect(cond(planEndpoint(resource({ spec: spec({ state: 'disabled' }) }), observed(), OPTS).actions, 'Ready')).to.include({ status: 'False', reason: 'Disabled' });
    expect(cond(planEndpoint(resource({ spec: spec({ state: 'archived' }) }), observed(), OPTS).actions, 'Ready')).to.include({ status: 'False', reason: 'Archived' });
    expect(cond(planEndpoint(resource({ spec: spec({ paused: true }) }), observed(), OPTS).actions, 'Ready')?.message).to.include('paused');
  });
});
