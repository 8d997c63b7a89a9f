// Events on changes only (src/k8s/events.ts): an identical repeat of an object's last Event is
// dropped; a change back and forth is recorded every time; other objects are independent. An API
// server that fails for a moment is asked again; one that refuses is not.
import { expect } from 'chai';
import type { KubeClient } from '../../src/k8s/client.ts';
import { createEventRecorder } from '../../src/k8s/events.ts';
import type { KubeObject } from '../../src/k8s/resources.ts';
import { createLog } from '../../src/lib/log.ts';

const obj = (uid: string): KubeObject => ({ apiVersion: 'redeliver.io/v1alpha1', kind: 'WebhookEndpoint', metadata: { name: uid, namespace: 'ns', uid } }) as KubeObject;

describe('event recorder', function () {
  it('records changes, not repeats', async function () {
    const created: string[] = [];
    const client = { createEvent: async (e: { reason: string; involved: { uid: string } }) => void created.push(`${e.involved.uid}:${e.reason}`) } as unknown as KubeClient;
    const rec = createEventRecorder({ client, component: 'test', instance: 'i', log: createLog({ level: 'silent' }) });
    await rec.record(obj('a'), 'Warning', 'Blocked', 'partition 0 blocked');
    await rec.record(obj('a'), 'Warning', 'Blocked', 'partition 0 blocked');
    await rec.record(obj('b'), 'Warning', 'Blocked', 'partition 0 blocked');
    await rec.record(obj('a'), 'Normal', 'Unblocked', 'no ordering scope is blocked any more');
    await rec.record(obj('a'), 'Warning', 'Blocked', 'partition 0 blocked');
    await rec.record(obj('a'), 'Warning', 'Blocked', 'partition 1 blocked');
    expect(created).to.deep.equal(['a:Blocked', 'b:Blocked', 'a:Unblocked', 'a:Blocked', 'a:Blocked']);
  });

  it('tries again while the API server is busy or away, and not when it refuses', async function () {
    const failWith = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify({ message: `status ${code}` }) });
    const answers: Array<Error | undefined> = [failWith(500), Object.assign(new Error('socket hang up'), {}), undefined, failWith(403), failWith(429), failWith(503), failWith(503), failWith(503)];
    const tried: string[] = [];
    const client = {
      createEvent: async (e: { reason: string }) => {
        tried.push(e.reason);
        const a = answers.shift();
        if (a) throw a;
      },
    } as unknown as KubeClient;
    const warned: Array<Record<string, unknown>> = [];
    const log = { ...createLog({ level: 'silent' }), warn: (o: Record<string, unknown>) => void warned.push(o) } as unknown as ReturnType<typeof createLog>;
    const rec = createEventRecorder({ client, component: 'test', instance: 'i', log, retryDelaysMs: [1, 1, 1] });
    await rec.record(obj('a'), 'Normal', 'Unblocked', 'no ordering scope is blocked any more');
    expect(tried).to.deep.equal(['Unblocked', 'Unblocked', 'Unblocked']);
    expect(warned).to.have.length(0);
    await rec.record(obj('a'), 'Warning', 'Forbidden', 'refused');
    expect(tried.slice(3)).to.deep.equal(['Forbidden']);
    expect(warned.map((w) => [w.reason, w.tries, w.err])).to.deep.equal([['Forbidden', 1, 'status 403']]);
    await rec.record(obj('a'), 'Warning', 'Busy', 'throttled then down');
    expect(tried.slice(4)).to.deep.equal(['Busy', 'Busy', 'Busy', 'Busy']);
    expect(warned.map((w) => [w.reason, w.tries])).to.deep.equal([['Forbidden', 1], ['Busy', 4]]);
  });
});
