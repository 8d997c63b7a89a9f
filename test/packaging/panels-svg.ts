// Draws dashboard panels as a small-multiples SVG from Prometheus range-query results (Grafana is
// not available here): one chart per panel, a line per series, its legend, and the y range.
export interface PanelSeries { title: string; unit: string; series: Array<{ label: string; points: Array<[number, number]> }> }

const COLORS = ['#3274d9', '#e02f44', '#56a64b', '#ff9830', '#a352cc', '#8ab8ff'];
const W = 420;
const H = 230;
const PAD = { left: 56, right: 12, top: 28, bottom: 58 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number, unit: string): string {
  if (unit === 's') return v >= 1 ? `${v.toFixed(1)} s` : `${(v * 1000).toFixed(v < 0.01 ? 2 : 0)} ms`;
  if (unit === 'percentunit') return `${(v * 100).toFixed(0)} %`;
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit === 'reqps' || unit === 'ops' ? `${s}/s` : s;
}

function chart(p: PanelSeries, x0: number, y0: number): string {
  const all = p.series.flatMap((s) => s.points);
  const tMin = Math.min(...all.map((q) => q[0]));
  const tMax = Math.max(...all.map((q) => q[0]));
  const vMax = Math.max(...all.map((q) => q[1]), 0) || 1;
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const sx = (t: number) => x0 + PAD.left + ((t - tMin) / Math.max(1, tMax - tMin)) * pw;
  const sy = (v: number) => y0 + PAD.top + ph - (v / vMax) * ph;
  const out = [
    `<rect x="${x0 + 4}" y="${y0 + 4}" width="${W - 8}" height="${H - 8}" rx="4" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${x0 + 14}" y="${y0 + 20}" fill="#d8d9da" font-size="13" font-weight="bold">${esc(p.title)}</text>`,
    `<line x1="${x0 + PAD.left}" y1="${sy(0)}" x2="${x0 + W - PAD.right}" y2="${sy(0)}" stroke="#464c54"/>`,
    `<line x1="${x0 + PAD.left}" y1="${sy(vMax)}" x2="${x0 + W - PAD.right}" y2="${sy(vMax)}" stroke="#2c3235" stroke-dasharray="3 3"/>`,
    `<text x="${x0 + PAD.left - 6}" y="${sy(vMax) + 4}" fill="#9fa7b3" font-size="10" text-anchor="end">${esc(fmt(vMax, p.unit))}</text>`,
    `<text x="${x0 + PAD.left - 6}" y="${sy(0) + 4}" fill="#9fa7b3" font-size="10" text-anchor="end">${esc(fmt(0, p.unit))}</text>`,
    `<text x="${x0 + W - PAD.right}" y="${sy(0) + 14}" fill="#9fa7b3" font-size="10" text-anchor="end">${Math.round(tMax - tMin)} s</text>`,
  ];
  p.series.slice(0, COLORS.length).forEach((s, i) => {
    const pts = s.points.map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${COLORS[i]}" stroke-width="1.6" points="${pts}"/>`);
    const lx = x0 + PAD.left + (i % 3) * 118;
    const ly = y0 + H - 30 + Math.floor(i / 3) * 14;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${COLORS[i]}"/><text x="${lx + 14}" y="${ly - 3}" fill="#c7d0d9" font-size="10">${esc(s.label.slice(0, 18))}</text>`);
  });
  return out.join('\n');
}

export function panelsSvg(title: string, panels: PanelSeries[], columns = 3): string {
  const rows = Math.ceil(panels.length / columns);
  const width = columns * W;
  const height = rows * H + 36;
  const body = panels.map((p, i) => chart(p, (i % columns) * W, 36 + Math.floor(i / columns) * H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#111217"/>
<text x="14" y="24" fill="#d8d9da" font-size="16">${esc(title)}</text>
${body}
</svg>
`;
}
