// The pure parts of the replay engine: the spec's time range as stream ids, the selector, and how
// a scan window is cut into batches so the cursor never passes an event that was not enqueued.
import { expect } from 'chai';
import { chunkSize, compileSelector, parseEndpointRef, planChunks, scanRange } from '../../src/replay/spec.ts';
import { toStatus } from '../../src/replay/status.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code: string }).code, status: (err as { status: number }).status, field: (err as { details?: { field?: string } }).details?.field };
  }
  throw new Error('expected an error');
};

describe('replay spec (unit)', function () {
  it('maps the time range to events-stream ids: from inclusive, to exclusive', function () {
    expect(scanRange({ endpoint: 'a/b', selector: {} })).to.deep.equal({ start: '-', endBound: '+' });
    const from = Date.parse('2026-01-15T00:00:00Z');
    const to = Date.parse('2026-01-16T00:00:00.500Z');
    expect(scanRange({ endpoint: 'a/b', selector: { from: '2026-01-15T00:00:00Z', to: '2026-01-16T00:00:00.500Z' } })).to.deep.equal({ start: `${from}-0`, endBound: `(${to}-0` });
    expect(scanRange({ endpoint: 'a/b', selector: { from: '2026-01-15T01:00:00+01:00' } }).start).to.equal(`${from}-0`);
  });

  it('refuses a reversed range, a bad time, a bad override URL, a zero rate and an unknown status, naming the field', function () {
    expect(code(() => scanRange({ endpoint: 'a/b', selector: { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' } })))
      .to.deep.equal({ code: 'invalid_time_range', status: 400, field: 'selector.from' });
    expect(code(() => scanRange({ endpoint: 'a/b', selector: { to: '2026-13-01' } }))).to.include({ code: 'invalid_field', field: 'selector.to' });
    expect(code(() => scanRange({ endpoint: 'a/b', selector: {}, destinationOverride: { url: 'file:///etc/passwd' } }))).to.include({ field: 'destinationOverride.url' });
    expect(code(() => scanRange({ endpoint: 'a/b', selector: {}, rateLimit: { perSecond: 0 } }))).to.include({ field: 'rateLimit.perSecond' });
    expect(code(() => scanRange({ endpoint: 'a/b', selector: { statuses: ['LOST' as 'FAILED'] } }))).to.include({ field: 'selector.statuses' });
    expect(code(() => parseEndpointRef('no-slash'))).to.include({ code: 'invalid_field', field: 'endpoint' });
    expect(parseEndpointRef('default/stripe-billing')).to.equal('default/stripe-billing');
  });

  it('matches on every given criterion; an empty selector matches everything', function () {
    const e = { id: 'e1', type: 'invoice.paid', latestStatus: 'FAILED' };
    expect(compileSelector({})(e)).to.equal(true);
    expect(compileSelector({ statuses: ['FAILED'], eventTypes: ['invoice.paid'], eventIds: ['e1', 'e2'] })(e)).to.equal(true);
    expect(compileSelector({ statuses: ['DELIVERED'] })(e)).to.equal(false);
    expect(compileSelector({ eventTypes: ['invoice.created'] })(e)).to.equal(false);
    expect(compileSelector({ eventIds: ['e2'] })(e)).to.equal(false);
    expect(compileSelector({ statuses: ['FAILED'] })({ ...e, latestStatus: '' })).to.equal(false);
  });

  it('cuts a window into batches whose cursors cover exactly what they enqueue', function () {
    const w = ['1-0', '2-0', '3-0', '4-0', '5-0'].map((sid) => ({ sid }));
    const chunks = planChunks(w, [w[0]!, w[2]!, w[3]!], 2, '0-5');
    expect(chunks.map((c) => [c.items.map((i) => i.sid), c.cursor])).to.deep.equal([[['1-0', '3-0'], '3-0'], [['4-0'], '5-0']]);
    expect(planChunks(w, [], 2, '0-5')).to.deep.equal([{ items: [], cursor: '5-0' }]);
    expect(planChunks([], [], 2, '0-5')).to.deep.equal([{ items: [], cursor: '0-5' }]);
    expect([chunkSize(500, undefined), chunkSize(500, 2000), chunkSize(500, 5), chunkSize(500, 0.5), chunkSize(500, 1e6)]).to.deep.equal([500, 200, 1, 1, 500]);
  });

  it('reports progress from the state hash', function () {
    const s = toStatus({ id: 'r1', endpoint_id: 'a/b', spec: '{"endpoint":"a/b","selector":{}}', phase: 'Running', matched: '7', enqueued: '5', skipped: '2',
      delivered: '3', failed: '1', cursor: '1767225600000-3', pause_live: '1', created_at: 't', started_at: 't', updated_at: 't' });
    expect(s).to.include({ id: 'r1', endpoint: 'a/b', phase: 'Running', matched: 7, enqueued: 5, skipped: 2, delivered: 3, failed: 1, enqueueDone: false, pauseLive: true });
    expect(s.scannedThrough).to.equal('2026-01-01T00:00:00.000Z');
    expect(toStatus({ id: 'r2', cursor: '' }).scannedThrough).to.equal(undefined);
  });
});
