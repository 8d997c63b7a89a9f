// @ts-check
// A small chart per endpoint: deliveries created per minute and their delivery latency over the
// last hour, from the newest deliveries of that hour (one page of the listing API), drawn by uPlot.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { get, query } from './api.js';
import { html } from './html.js';

/** @param {Array<Record<string, any>>} items @param {number} now */
export function perMinute(items, now) {
  const start = Math.floor((now - 3600_000) / 60_000) * 60;
  const xs = Array.from({ length: 61 }, (_, i) => start + i * 60);
  const counts = xs.map(() => 0);
  /** @type {number[][]} */
  const latencies = xs.map(() => []);
  for (const d of items) {
    const i = Math.floor(Date.parse(d.created_at) / 60_000) * 60 - start;
    const slot = i / 60;
    if (slot < 0 || slot >= xs.length) continue;
    counts[slot] = (counts[slot] ?? 0) + 1;
    if (d.delivered_at) latencies[slot]?.push(Date.parse(d.delivered_at) - Date.parse(d.created_at));
  }
  const lat = latencies.map((l) => (l.length ? l.reduce((a, b) => a + b, 0) / l.length : null));
  return /** @type {uPlot.AlignedData} */ ([xs, counts, lat]);
}

/** @param {{ endpointId: string }} p */
export function EndpointChart({ endpointId }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    /** @type {uPlot | undefined} */
    let plot;
    let stale = false;
    const now = Date.now();
    get(`/deliveries${query({ endpoint: endpointId, from: new Date(now - 3600_000).toISOString(), limit: '200' })}`).then((page) => {
      if (stale || !box.current) return;
      plot = new uPlot({
        width: 180, height: 50, legend: { show: false }, cursor: { show: false },
        axes: [{ show: false }, { show: false }, { show: false, scale: 'ms' }],
        scales: { x: { time: true }, ms: {} },
        series: [{}, { label: 'per minute', stroke: '#1d5fbf', width: 1.5 }, { label: 'latency ms', stroke: '#b15c00', width: 1, scale: 'ms' }],
      }, perMinute(page.items, now), box.current);
    }, () => undefined);
    return () => {
      stale = true;
      plot?.destroy();
    };
  }, [endpointId]);
  return html`<div class="chart" ref=${box} role="img" aria-label="Deliveries per minute (blue) and latency (orange) over the last hour"></div>`;
}
