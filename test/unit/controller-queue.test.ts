// The controller's keyed work queue and Lease leader election, without an API server: a handler
// that records calls, and an in-memory Lease with resourceVersion conflicts like the real one.
import { expect } from 'chai';
import type { V1Lease } from '@kubernetes/client-node';
import { createWorkQueue } from '../../src/controller/queue.ts';
import type { KubeClient } from '../../src/k8s/client.ts';
import { createLeaderElector } from '../../src/k8s/leader.ts';
import { createLog } from '../../src/lib/log.ts';

const log = createLog({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, p: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!p()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

describe('controller work queue', function () {
  it('runs one reconcile per key at a time, and once more for a change that came in meanwhile', async function () {
    const running = new Set<string>();
    const calls: string[] = [];
    let overlap = false;
    let release: (() => void) | undefined;
    const q = createWorkQueue({
      name: 't', log, concurrency: 4,
      handler: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        calls.push(key);
        if (calls.length === 1) await new Promise<void>((ok) => (release = ok));
        running.delete(key);
      },
    });
    q.resume();
    q.add('a');
    await until('first call', () => calls.length === 1);
    q.add('a');
    q.add('a');
    q.add('b');
    await until('b', () => calls.includes('b'));
    expect(calls.filter((c) => c === 'a')).to.have.length(1);
    release!();
    await until('a again', () => calls.filter((c) => c === 'a').length === 2);
    await sleep(30);
    expect(calls).to.deep.equal(['a', 'b', 'a']);
    expect(overlap).to.equal(false);
    await q.close();
  });

  it('retries a failing key with growing delays, and honours requeueAfter', async function () {
    const times: number[] = [];
    let n = 0;
    const q = createWorkQueue({
      name: 't', log, baseDelayMs: 20,
      handler: async () => {
        times.push(Date.now());
        if (++n <= 3) throw new Error('boom');
        return n === 4 ? { requeueAfterMs: 30 } : {};
      },
    });
    q.resume();
    q.add('k');
    await until('5 calls', () => times.length === 5);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).to.be.at.least(18);
    expect(gaps[1]).to.be.at.least(38);
    expect(gaps[2]).to.be.at.least(78);
    // The upper bound only shows the delay was reset (not 160 ms); generous for a loaded CI machine.
    expect(gaps[3]).to.be.at.least(28).and.below(150);
    await q.close();
  });

  it('holds keys while paused and runs them on resume', async function () {
    const calls: string[] = [];
    const q = createWorkQueue({ name: 't', log, handler: async (k) => void calls.push(k) });
    q.add('x');
    await sleep(30);
    expect(calls).to.deep.equal([]);
    q.resume();
    await until('x', () => calls.length === 1);
    await q.pause();
    q.add('y');
    await sleep(30);
    expect(calls).to.deep.equal(['x']);
    q.resume();
    await until('y', () => calls.length === 2);
    await q.close();
  });
});

/** An in-memory Lease store with the API server's optimistic concurrency (409 on a stale write). */
function fakeLeases() {
  let lease: V1Lease | undefined;
  let rv = 0;
  const down = new Set<string>();
  const conflict = () => Object.assign(new Error('Conflict'), { code: 409 });
  const client = (who: string): KubeClient => {
    const check = () => {
      if (down.has(who)) throw new Error('connect ECONNREFUSED');
    };
    const api: Pick<KubeClient, 'getLease' | 'createLease' | 'replaceLease'> = {
      getLease: async () => (check(), lease && structuredClone(lease)),
      createLease: async (_ns, body) => {
        check();
        if (lease) throw conflict();
        lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
        return lease;
      },
      replaceLease: async (_ns, _name, body) => {
        check();
        if (!lease || body.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw conflict();
        lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
        return lease;
      },
    };
    return api as KubeClient;
  };
  return { client, holder: () => lease?.spec?.holderIdentity, cut: (who: string) => down.add(who), restore: (who: string) => down.delete(who) };
}

describe('Lease leader election', function () {
  const timings = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 50 };

  it('elects one leader; on a cut-off leader it steps down before the other takes over; close() hands over at once', async function () {
    const store = fakeLeases();
    const leading = new Set<string>();
    let overlap = false;
    const elector = (id: string) => createLeaderElector({
      client: store.client(id), namespace: 'ns', name: 'lease', identity: id, log, ...timings,
      onStartedLeading: () => {
        if (leading.size > 0) overlap = true;
        leading.add(id);
      },
      onStoppedLeading: () => leading.delete(id),
    });
    const a = elector('a');
    a.start();
    await until('a leads', () => a.isLeader());
    const b = elector('b');
    b.start();
    await sleep(300);
    expect([a.isLeader(), b.isLeader(), store.holder()]).to.deep.equal([true, false, 'a']);

    const t0 = Date.now();
    store.cut('a');
    await until('a steps down', () => !a.isLeader());
    const down = Date.now() - t0;
    await until('b leads', () => b.isLeader());
    const up = Date.now() - t0;
    expect(down).to.be.below(timings.renewDeadlineMs + 1500);
    expect(up).to.be.above(down).and.below(timings.leaseDurationMs + 2000);

    store.restore('a');
    await sleep(300);
    expect(a.isLeader()).to.equal(false);
    const t1 = Date.now();
    await b.close();
    await until('a leads again', () => a.isLeader());
    expect(Date.now() - t1).to.be.below(timings.leaseDurationMs);
    expect(overlap).to.equal(false);
    await a.close();
    expect(store.holder()).to.equal('');
  });
});
