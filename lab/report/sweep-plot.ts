import fs from 'node:fs/promises';
import path from 'node:path';
import type { SweepResult } from '../scenarios/sweep.ts';
import { escapeXml } from './escape.ts';

const COLORS = { PASS: '#2e7d32', FAIL: '#c62828', ERROR: '#757575' } as const;

const esc = escapeXml;

/** The key number the sweep plots beside the outcomes (what the kernel did at each value). */
export function measureOf(s: SweepResult): string | undefined {
  const keys = s.points.flatMap((p) => Object.keys(p.key));
  for (const k of ['firstChunkBytes', 'firstLinkChunkBytes', 'unpatchedLost', 'readOnce', 'maxChunkBytes']) if (keys.includes(k)) return k;
  return undefined;
}

/**
 * A self-contained SVG: one strip of outcome markers per variant along the swept
 * axis, the threshold marked, and the measured key number as a line.
 */
export function sweepSvg(s: SweepResult): string {
  const W = 760;
  const H = 320;
  const left = 90;
  const right = 130;
  const plotW = W - left - right;
  const values = s.points.map((p) => p.value);
  const lo = Math.min(...values, 0);
  const hi = Math.max(...values, lo + 1);
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * plotW;
  const rows: ['unpatched' | 'patched', number][] = [['unpatched', 70], ['patched', 110]];
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(`${s.scenario} on ${s.target}: sweep over ${s.axis}`)}</text>`);
  for (const [role, y] of rows) {
    if (role === 'patched' && !s.points.some((p) => p.patched)) continue;
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${role}</text>`);
    for (const p of s.points) {
      const o = role === 'unpatched' ? p.unpatched : p.patched;
      if (!o) continue;
      const sym = role === 'unpatched' ? p.unpatchedSymptom : p.patchedSymptom;
      parts.push(`<circle cx="${x(p.value).toFixed(1)}" cy="${y}" r="5" fill="${COLORS[o]}"><title>${esc(`${s.axis}=${p.value}: ${o} ${sym ?? ''}`)}</title></circle>`);
    }
  }
  if (s.threshold !== undefined) {
    const tx = x(s.threshold);
    parts.push(`<line x1="${tx}" y1="45" x2="${tx}" y2="${H - 40}" stroke="#c62828" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${tx + 4}" y="52" font-size="12" fill="#c62828">threshold ${s.threshold}</text>`);
  }
  const measure = measureOf(s);
  const top = 140;
  const bottom = H - 40;
  if (measure) {
    const ys = s.points.map((p) => Number(p.key[measure] ?? 0));
    const max = Math.max(...ys, 1);
    const y = (v: number) => bottom - (v / max) * (bottom - top);
    const path = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.value).toFixed(1)},${y(ys[i]!).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="#1565c0" stroke-width="2"/>`);
    parts.push(`<text x="${left - 8}" y="${top + 4}" text-anchor="end" font-size="11">${max}</text>`);
    parts.push(`<text x="${left - 8}" y="${bottom + 4}" text-anchor="end" font-size="11">0</text>`);
    parts.push(`<text x="${W - right + 6}" y="${top + 4}" font-size="11" fill="#1565c0">${esc(measure)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${W - right}" y2="${bottom}" stroke="#333"/>`);
  for (const v of [lo, Math.round((lo + hi) / 2), hi]) parts.push(`<text x="${x(v)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${v}</text>`);
  parts.push(`<text x="${left + plotW / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${esc(s.axis)}</text>`);
  parts.push(
    `<text x="${W - right}" y="${H - 6}" text-anchor="end" font-size="10"><tspan fill="${COLORS.PASS}">● PASS</tspan> <tspan fill="${COLORS.FAIL}">● FAIL</tspan> <tspan fill="${COLORS.ERROR}">● ERROR</tspan></text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** Writes <outDir>/sweep.svg beside the sweep's sweep.json and returns its path. */
export async function writeSweepPlot(outDir: string, s: SweepResult): Promise<string> {
  const file = path.join(outDir, 'sweep.svg');
  await fs.writeFile(file, sweepSvg(s));
  return file;
}
