/** A small inline SVG of numbers per run (a target's durations): drawn from numbers only, text through `html`. */
import { html, type Markup } from './markup.ts';

export interface PlotPoint {
  /** 1-based run index: every plot of a page spans the same runs, so their x positions line up. */
  run: number;
  value: number;
  /** The point's tooltip. */
  title: string;
}

export interface PlotSeries {
  color: string;
  points: PlotPoint[];
}

const W = 560;
const H = 46;
const PAD = 5;
/** Room on the right for the scale's label. */
const LABEL = 70;
/** A value this many times the median is drawn at the top as a triangle (a cold build must not flatten every other night). */
const CLIP = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
}

/** The top of the scale: the largest value, or CLIP × the median when an outlier would flatten the rest. */
export function plotScale(values: number[]): { top: number; clipped: boolean } {
  const max = Math.max(...values, 0);
  const cap = CLIP * median(values.filter((v) => v > 0));
  return cap > 0 && max > cap ? { top: cap, clipped: true } : { top: max || 1, clipped: false };
}

/** Series over runs 1..runCount on one scale (labelled), a tooltip on each point; values above the scale are triangles at its top. */
export function runPlot(series: PlotSeries[], runCount: number, unit: (v: number) => string, label: string): Markup {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return html`<span class="muted">no run</span>`;
  const { top, clipped } = plotScale(all.map((p) => p.value));
  const x = (run: number) => (PAD + ((run - 1) / Math.max(runCount - 1, 1)) * (W - 2 * PAD - LABEL)).toFixed(1);
  const y = (v: number) => (H - PAD - (Math.min(v, top) / top) * (H - 2 * PAD)).toFixed(1);
  const lines = series.map((s) => {
    const dots = s.points.map((p) =>
      p.value > top
        ? html`<path d="${`M${x(p.run)} ${PAD - 3}l4 7h-8z`}" fill="#c62828"><title>${p.title}</title></path>`
        : html`<circle cx="${x(p.run)}" cy="${y(p.value)}" r="2.5" fill="${s.color}"><title>${p.title}</title></circle>`,
    );
    return html`<polyline points="${s.points.map((p) => `${x(p.run)},${y(p.value)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5"/>${dots}`;
  });
  return html`<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="${`0 0 ${W} ${H}`}" role="img" aria-label="${label}"><title>${label}</title>
<line x1="${PAD}" y1="${H - PAD}" x2="${W - LABEL}" y2="${H - PAD}" stroke="#bbb"/><line x1="${PAD}" y1="${PAD}" x2="${W - LABEL}" y2="${PAD}" stroke="#eee"/>${lines}
<text x="${W - LABEL + 4}" y="${PAD + 8}" font-size="10" fill="#555">${clipped ? '▲ > ' : ''}${unit(top)}</text><text x="${W - LABEL + 4}" y="${H - PAD}" font-size="10" fill="#555">0</text></svg>`;
}
