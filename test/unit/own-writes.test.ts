// Read-your-own-writes over a lagging informer cache (src/controller/own-writes.ts): while the
// cache still shows a version this controller replaced, plans see the status it wrote; the write
// arriving, or anyone's newer change, ends that.
import { expect } from 'chai';
import { createOwnWrites } from '../../src/controller/own-writes.ts';
import type { KubeObject } from '../../src/k8s/resources.ts';

type Obj = KubeObject & { status?: { phase: string } };
const obj = (rv: string, phase?: string): Obj => ({
  apiVersion: 'redeliver.io/v1alpha1', kind: 'ReplayRequest',
  metadata: { name: 'r', namespace: 'ns', uid: 'u1', resourceVersion: rv },
  ...(phase ? { status: { phase } } : {}),
} as Obj);

describe('own writes over the informer cache', function () {
  it('uses the written status while the cache shows a replaced version, then the cache again', function () {
    const w = createOwnWrites<Obj>();
    w.wrote(obj('1', 'Pending'), obj('2', 'Running'));
    expect(w.fresh(obj('1', 'Pending')).status).to.deep.equal({ phase: 'Running' });
    expect(w.fresh(obj('1', 'Pending')).metadata.resourceVersion).to.equal('1');
    // The watch delivered the write: the cache is used, and the memory dropped.
    expect(w.fresh(obj('2', 'Running')).status).to.deep.equal({ phase: 'Running' });
    expect(w.fresh(obj('1', 'Pending')).status).to.deep.equal({ phase: 'Pending' });
  });

  it('treats its own earlier write as stale once it wrote again, and yields to changes by others', function () {
    const w = createOwnWrites<Obj>();
    w.wrote(obj('1'), obj('2', 'Pending'));
    w.wrote(obj('2', 'Pending'), obj('3', 'Running'));
    expect(w.fresh(obj('2', 'Pending')).status).to.deep.equal({ phase: 'Running' });
    expect(w.fresh(obj('7', 'Failed')).status).to.deep.equal({ phase: 'Failed' });
  });

  it('ignores a write that returned nothing (the object was gone)', function () {
    const w = createOwnWrites<Obj>();
    w.wrote(obj('1', 'Pending'), undefined);
    expect(w.fresh(obj('1', 'Pending')).status).to.deep.equal({ phase: 'Pending' });
  });
});
