// planReplay, the pure ReplayRequest reconcile: resource + the engine's record in, actions out.
import { expect } from 'chai';
import { planReplay, type ReplayAction, type ReplayObserved } from '../../src/controller/replay-plan.ts';
import type { ReplayRequestObject, ReplaySpec, ReplayStatus } from '../../src/k8s/resources.ts';
import type { ReplayStatus as EngineStatus } from '../../src/replay/status.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const OPTS = { pollMs: 1000 };

function request(over: { spec?: Partial<ReplaySpec>; status?: ReplayStatus; finalizers?: string[]; deletion?: boolean; generation?: number } = {}): ReplayRequestObject {
  return {
    apiVersion: 'redeliver.io/v1alpha1',
    kind: 'ReplayRequest',
    metadata: {
      name: 'r1', namespace: 'shop', uid: 'uid-1', generation: over.generation ?? 1, resourceVersion: '5',
      finalizers: over.finalizers ?? ['redeliver.io/finalizer'],
      ...(over.deletion ? { deletionTimestamp: '2026-03-01T12:00:00Z' } : {}),
    },
    spec: { endpointRef: { name: 'orders' }, selector: { statuses: ['FAILED'] }, pauseLive: false, ...over.spec },
    ...(over.status ? { status: over.status } : {}),
  };
}

function engine(over: Partial<EngineStatus> = {}): EngineStatus {
  return {
    id: 'uid-1', endpoint: 'shop/orders', spec: { endpoint: 'shop/orders', selector: { statuses: ['FAILED'] }, pauseLive: false },
    phase: 'Running', message: '', matched: 10, enqueued: 4, skipped: 0, delivered: 3, failed: 0, enqueueDone: false,
    scannedThrough: undefined, pauseLive: false, createdAt: '2026-03-01T11:59:00.000Z', startedAt: '2026-03-01T11:59:00.000Z',
    completedAt: undefined, updatedAt: '2026-03-01T11:59:30.000Z', ...over,
  };
}

const observed = (over: Partial<ReplayObserved> = {}): ReplayObserved => ({ now: NOW, schemaProblems: [], ...over });
const types = (a: ReplayAction[]) => a.map((x) => x.type);
const statusOf = (a: ReplayAction[]) => (a.find((x) => x.type === 'status') as Extract<ReplayAction, { type: 'status' }> | undefined)?.status;
const events = (a: ReplayAction[]) => a.filter((x) => x.type === 'event').map((x) => `${(x as { eventType: string }).eventType}/${(x as { reason: string }).reason}`);

describe('planReplay (pure ReplayRequest reconcile)', function () {
  it('adds the finalizer and starts the replay under the request uid, endpoint in its own namespace', function () {
    const plan = planReplay(request({ finalizers: [] }), observed(), OPTS);
    expect(types(plan.actions)).to.deep.equal(['addFinalizer', 'start']);
    expect(plan.actions[1]).to.deep.equal({ type: 'start', id: 'uid-1', spec: { endpoint: 'shop/orders', selector: { statuses: ['FAILED'] }, pauseLive: false } });
  });

  it('fails a request naming another namespace, or with from after to, without starting it', function () {
    for (const spec of [{ endpointRef: { name: 'orders', namespace: 'other' } }, { selector: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } }]) {
      const plan = planReplay(request({ spec }), observed(), OPTS);
      expect(types(plan.actions)).to.not.include('start');
      expect(statusOf(plan.actions)).to.include({ phase: 'Failed' });
      expect(statusOf(plan.actions)?.conditions?.[0]).to.include({ type: 'Complete', status: 'True', reason: 'InvalidSpec' });
      expect(statusOf(plan.actions)?.message).to.match(/spec\.(endpointRef\.namespace|selector\.from)/);
      expect(events(plan.actions)).to.deep.equal(['Warning/Failed']);
    }
  });

  it('stays Pending (retry) when the engine refuses for a reason that may pass, Failed when it never will', function () {
    const pending = planReplay(request(), observed({ startError: { code: 'endpoint_not_found', message: 'no endpoint "shop/orders"' } }), OPTS);
    expect(pending.retry).to.equal(true);
    expect(statusOf(pending.actions)).to.include({ phase: 'Pending', message: 'no endpoint "shop/orders"; retrying' });
    expect(statusOf(pending.actions)?.conditions?.[0]).to.include({ status: 'False', reason: 'EndpointNotFound' });
    const failed = planReplay(request(), observed({ startError: { code: 'invalid_field', message: 'destinationOverride.url: must be an http or https URL' } }), OPTS);
    expect(failed.retry).to.equal(undefined);
    expect(statusOf(failed.actions)).to.include({ phase: 'Failed' });
  });

  it('copies phase and counters from the engine while it runs, polling, with a Started event once', function () {
    const plan = planReplay(request(), observed({ engine: engine() }), OPTS);
    expect(statusOf(plan.actions)).to.include({ phase: 'Running', matched: 10, enqueued: 4, delivered: 3, failed: 0, observedGeneration: 1, startedAt: '2026-03-01T11:59:00.000Z' });
    expect(statusOf(plan.actions)?.message).to.equal('3 of 10 delivered, 0 failed, 4 enqueued');
    expect(plan.requeueAfterMs).to.equal(1000);
    expect(events(plan.actions)).to.deep.equal(['Normal/Started']);
    const again = planReplay(request({ status: statusOf(plan.actions)! }), observed({ engine: engine({ delivered: 4 }) }), OPTS);
    expect(events(again.actions)).to.deep.equal([]);
    expect(statusOf(again.actions)?.delivered).to.equal(4);
  });

  it('finishes with the engine: Succeeded, Complete=True, no more polling', function () {
    const plan = planReplay(request(), observed({ engine: engine({ phase: 'Succeeded', message: '10 replayed deliveries delivered', enqueued: 10, delivered: 10, enqueueDone: true, completedAt: '2026-03-01T12:00:00.000Z' }) }), OPTS);
    expect(statusOf(plan.actions)).to.include({ phase: 'Succeeded', delivered: 10, completedAt: '2026-03-01T12:00:00.000Z' });
    expect(statusOf(plan.actions)?.conditions?.[0]).to.include({ type: 'Complete', status: 'True', reason: 'Succeeded' });
    expect(plan.requeueAfterMs).to.equal(undefined);
    expect(events(plan.actions)).to.deep.equal(['Normal/Succeeded']);
  });

  it('ignores a spec change after the start, with a SpecChangeIgnored condition and one warning', function () {
    const res = request({ generation: 2, spec: { selector: { eventTypes: ['x'] } } });
    const plan = planReplay(res, observed({ engine: engine() }), OPTS);
    expect(types(plan.actions)).to.not.include('start');
    const c = statusOf(plan.actions)?.conditions?.find((x) => x.type === 'SpecChangeIgnored');
    expect(c).to.include({ status: 'True', reason: 'SpecImmutable' });
    expect(statusOf(plan.actions)?.observedGeneration).to.equal(2);
    expect(events(plan.actions)).to.include('Warning/SpecChangeIgnored');
    const again = planReplay({ ...res, status: statusOf(plan.actions)! }, observed({ engine: engine() }), OPTS);
    expect(events(again.actions)).to.deep.equal([]);
  });

  it('cancels a running replay on deletion, then removes the finalizer; a finished one is just let go', function () {
    expect(types(planReplay(request({ deletion: true }), observed({ engine: engine() }), OPTS).actions)).to.deep.equal(['cancel', 'event', 'removeFinalizer']);
    expect(types(planReplay(request({ deletion: true }), observed({ engine: engine({ phase: 'Succeeded' }) }), OPTS).actions)).to.deep.equal(['removeFinalizer']);
    expect(planReplay(request({ deletion: true, finalizers: [] }), observed(), OPTS).actions).to.deep.equal([]);
  });

  it('never starts a replay twice: a started request whose engine state is gone fails; a finished one stays as it is', function () {
    const lost = planReplay(request({ status: { phase: 'Running' } }), observed(), OPTS);
    expect(types(lost.actions)).to.not.include('start');
    expect(statusOf(lost.actions)).to.include({ phase: 'Failed' });
    expect(statusOf(lost.actions)?.conditions?.[0]?.reason).to.equal('StateLost');
    expect(planReplay(request({ status: { phase: 'Succeeded' } }), observed(), OPTS).actions).to.deep.equal([]);
  });
});
