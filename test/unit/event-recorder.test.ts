// Events on changes only (src/k8s/events.ts): an identical repeat of an object's last Event is
// dropped; a change back and forth is recorded every time; other objects are independent.
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
});
