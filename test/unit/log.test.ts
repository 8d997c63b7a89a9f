// The logger's guards against floods: identical warnings are rate-limited (with a count of what
// was held back), and a dependency's outage is one line when it starts and one when it ends.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLog } from '../../src/lib/log.ts';
import { createOutageLog } from '../../src/lib/outage.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('log', function () {
  it('lets one of many identical warnings through per window, then says how many were held back', function () {
    let now = 0;
    const { lines, stream } = capture();
    const log = createLog({ level: 'info', destination: stream, repeatWindowMs: 10_000, now: () => now });
    for (let i = 0; i < 192; i++) log.warn({ err: new Error('ECONNREFUSED'), endpoint: 'default/a' }, 'redis call failed');
    log.warn({ err: new Error('ECONNREFUSED'), endpoint: 'default/b' }, 'redis call failed');
    for (let i = 0; i < 5; i++) log.info({ endpoint: 'default/a' }, 'info is never held back');
    now = 10_001;
    log.warn({ err: new Error('ECONNREFUSED'), endpoint: 'default/a' }, 'redis call failed');
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => [l.endpoint, l.repeatedSinceLastLine])).to.deep.equal([['default/a', undefined], ['default/b', undefined], ['default/a', 191]]);
    expect(lines.filter((l) => l.level === 30)).to.have.length(5);
  });

  it('logs an outage once when it starts and once when it ends', function () {
    const { lines, stream } = capture();
    let t = 0;
    const outage = createOutageLog(createLog({ level: 'info', destination: stream }), 'redis', () => t, 'retrying quietly');
    outage.succeeded();
    for (let i = 0; i < 100; i++) {
      t += 100;
      outage.failed(new Error(`connect ECONNREFUSED (try ${i})`), { partition: i });
    }
    outage.succeeded();
    outage.succeeded();
    expect(lines.map((l) => [l.level, l.msg])).to.deep.equal([[40, 'redis unavailable: retrying quietly'], [30, 'redis available again']]);
    expect(lines[0]).to.include({ partition: 0, err: 'connect ECONNREFUSED (try 0)' });
    expect(lines[1]).to.include({ failedRequests: 100, downMs: 9900 });
  });
});
