// Redis Cluster: every key of one endpoint maps to one hash slot (so every multi-key script runs on
// one shard), and keySlot computes slots as Redis does (reference values from the Redis Cluster
// specification and CLUSTER KEYSLOT).
import { expect } from 'chai';
import { createKeys, type EndpointKeys } from '../../src/store/keys.ts';
import { keySlot } from '../../src/store/slot.ts';

describe('hash slots', function () {
  it('computes the slot of a key, and of its {hash tag}, as Redis does', function () {
    expect(keySlot('foo')).to.equal(12182);
    expect(keySlot('123456789')).to.equal(0x31c3);
    expect(keySlot('{user1000}.following')).to.equal(keySlot('{user1000}.followers'));
    expect(keySlot('{user1000}.following')).to.equal(3443);
    expect(keySlot('foo{}{bar}')).to.not.equal(keySlot('bar')); // `{}` is no tag: the whole key is hashed
    expect(keySlot('foo{{bar}}zap')).to.equal(keySlot('{bar'));
  });

  it('puts every key of one endpoint in the same slot, and different endpoints in different ones', function () {
    const keys = createKeys('rd');
    const slots = (id: string) => {
      const k: EndpointKeys = keys.endpoint(id);
      const all = [k.endpoint, k.events, k.eventIndex, k.deliveryLog, k.stats, k.blocked, k.resendSeq, k.latestDelivery, `${k.base}x`,
        k.dedupe('evt_1'), k.delivery('d1'), k.attempts('d1'), k.queue(0), k.queue(7), k.front(3), k.hold(2), k.replay('r1'),
        k.replayLease('r1'), k.lease(5), k.fence(5)];
      return new Set(all.map(keySlot));
    };
    for (const id of ['default/orders', 'payments/stripe-live', 'a/b']) expect([...slots(id)]).to.have.length(1);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => [...slots(`ns/ep-${i}`)][0]));
    expect(spread.size).to.be.greaterThan(45);
  });
});
