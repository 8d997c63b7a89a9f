// The stored delivery record is compact (src/store/delivery-record.ts): ids come from the key and
// times are epoch ms. Read back, it is the record of seed 001 with ISO times; a record written by
// an earlier version (ids and ISO times stored) reads the same.
import { expect } from 'chai';
import { decodeDelivery, encodeAttempt, isoOfMs } from '../../src/store/delivery-record.ts';

describe('delivery record', function () {
  const t0 = Date.UTC(2026, 10, 30, 12, 0, 0, 5);

  it('fills the ids in from the key and turns epoch-ms fields into ISO times', function () {
    const d = decodeDelivery({
      event_id: 'e1', status: 'PENDING', attempts: '1', created_ms: String(t0), last_attempt_ms: String(t0 + 1000),
      next_attempt_ms: String(t0 + 6000), updated_ms: String(t0 + 1500),
    }, 'default/orders', 'd1')!;
    expect(d).to.deep.equal({
      id: 'd1', endpoint_id: 'default/orders', event_id: 'e1', status: 'PENDING', attempts: '1',
      created_at: '2026-11-30T12:00:00.005Z', last_attempt_at: '2026-11-30T12:00:01.005Z',
      next_attempt_at: '2026-11-30T12:00:06.005Z', updated_at: '2026-11-30T12:00:01.505Z',
    });
  });

  it('reads updated_at as the latest of its times (a delivered record keeps delivered_ms only)', function () {
    const d = decodeDelivery({ status: 'DELIVERED', created_ms: String(t0), delivered_ms: String(t0 + 20) }, 'ns/ep', 'd2')!;
    expect(d.updated_at).to.equal(new Date(t0 + 20).toISOString());
    expect(d.delivered_at).to.equal(new Date(t0 + 20).toISOString());
    expect(d).to.not.have.property('next_attempt_at');
  });

  it('reads the last answer of a delivery delivered at its only, inline attempt from that attempt', function () {
    const a1 = encodeAttempt({ attempt: 1, started_at: new Date(t0).toISOString(), duration_ms: 3, status_code: 204, classification: 'consumer_2xx', response_body: 'ok' });
    const d = decodeDelivery({ status: 'DELIVERED', attempts: '1', created_ms: String(t0), delivered_ms: String(t0 + 3), a1 }, 'ns/ep', 'd5')!;
    expect(d).to.include({ last_response_status: '204', last_response_body: 'ok' });
    expect(d).to.not.have.property('a1');
    // Stored fields win (a later attempt's answer, or a record of the earlier layout).
    const stored = decodeDelivery({ status: 'DELIVERED', attempts: '2', last_response_status: '200', a1 }, 'ns/ep', 'd6')!;
    expect(stored.last_response_status).to.equal('200');
    expect(stored).to.not.have.property('last_response_body');
    // Not delivered: a1 is not necessarily the last answer.
    const retrying = decodeDelivery({ status: 'PENDING', attempts: '1', a1 }, 'ns/ep', 'd7')!;
    expect(retrying).to.not.have.property('last_response_status');
  });

  it('reads a script\'s flat field list, and nothing for an empty (expired) hash', function () {
    expect(decodeDelivery(['status', 'PENDING', 'created_ms', String(t0)], 'ns/ep', 'd3')).to.include({ id: 'd3', created_at: isoOfMs(String(t0)) });
    expect(decodeDelivery({}, 'ns/ep', 'gone')).to.equal(undefined);
    expect(decodeDelivery([], 'ns/ep', 'gone')).to.equal(undefined);
  });

  it('reads a record of the earlier layout (ids and ISO times stored) the same way', function () {
    const iso = new Date(t0).toISOString();
    const d = decodeDelivery({ id: 'd4', endpoint_id: 'ns/ep', status: 'FAILED', created_at: iso, updated_at: iso, next_attempt_at: '' }, 'ns/ep', 'd4')!;
    expect(d).to.include({ id: 'd4', endpoint_id: 'ns/ep', status: 'FAILED', created_at: iso, updated_at: iso });
  });
});
