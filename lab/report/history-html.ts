/**
 * history.html: the kept runs on one page — regressions first, then a grid of cells × runs (one coloured
 * mark per verdict, the matrix report's colours), ERRORs, and per target its retries, USB stalls and
 * durations. Self-contained: no scripts, no external resources; every value enters through `html`.
 */
import path from 'node:path';
import type { CellHistory, HistoryMark, HistoryPoint, HistoryRegression, HistoryResult, HistoryRun, TargetHistory } from '../model/history-result.ts';
import { runPlot } from './history-plot.ts';
import { badge, REPORT_CSS, VERDICT_COLORS } from './html.ts';
import { html, trusted, type Markup } from './markup.ts';

/** One letter per mark, so two verdicts of one colour (CONFIRMED and REPRODUCED) still read apart. */
const LETTER: Record<HistoryMark, string> = {
  CONFIRMED: 'C',
  NOT_REPRODUCED: 'N',
  FIX_INEFFECTIVE: 'F',
  PATCH_REGRESSION: 'P',
  REPRODUCED: 'R',
  ERROR: 'E',
  SKIPPED: 'S',
  NOT_RUN: '·',
};

const HISTORY_CSS = `
table.hist{table-layout:fixed;width:100%;font-size:12px}
table.hist th,table.hist td{padding:2px 1px;text-align:center;overflow:hidden}
table.hist th.name{text-align:left;padding:2px 6px;overflow-wrap:anywhere;font-weight:normal}
table.hist tr.tgt th{text-align:left;background:#f5f5f5;padding:3px 6px;font-weight:600}
table.hist th.runno{font-size:10px;color:#666;font-weight:normal}
table.hist td.side{text-align:left;padding:2px 6px;font-size:11px}
.mk{position:relative;display:block;margin:0 auto;max-width:20px;height:18px;line-height:18px;border-radius:3px;color:#fff;font-weight:600;font-size:11px}
.mk.x{outline:2px solid #d50000;outline-offset:1px}
.mk.rt::after{content:"";position:absolute;top:1px;right:1px;width:5px;height:5px;border-radius:50%;background:#ffeb3b}
.mk.none{color:#bbb;border:1px dashed #ddd;height:16px;line-height:16px}
.flaky{display:inline-block;background:#6a1b9a;color:#fff;border-radius:3px;padding:0 4px;font-weight:600}
tr.active th.name{color:#b71c1c;font-weight:600}
.legend .mk{display:inline-block;width:20px;vertical-align:middle;margin-right:4px}.legend span.item{margin-right:12px;white-space:nowrap}
svg.plot{display:block}
`;

const COLOR: Record<HistoryMark, string> = { ...(VERDICT_COLORS as Record<HistoryMark, string>), NOT_RUN: '#fff' };
const day = (iso: string) => iso.replace('T', ' ').slice(0, 16);
const pct = (x: number) => `${Math.round(100 * x)}%`;
const secs = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);

function runLabel(runs: HistoryRun[], index: number | undefined): Markup {
  const r = runs[(index ?? 0) - 1];
  return r ? html`<span title="${r.name}">#${r.index}</span> <span class="note">${day(r.startedAt)}</span>` : html`—`;
}

function mark(p: HistoryPoint, run: HistoryRun): Markup {
  if (p.mark === 'NOT_RUN') return html`<td><span class="mk none" data-mark="NOT_RUN" title="${`#${run.index} ${day(run.startedAt)}: not in this run's plan`}">·</span></td>`;
  const expected = p.expected ? (p.unexpected ? ` (expected ${p.expected})` : ' (as expected)') : p.mark === 'SKIPPED' ? '' : ' (no expectation)';
  const summary = (p.summary ?? '').length > 300 ? `${p.summary!.slice(0, 300)}…` : (p.summary ?? '');
  const title = `#${run.index} ${day(run.startedAt)}: ${p.mark}${expected}${p.retried ? ' · retried' : ''}\n${summary}`;
  const cls = `mk${p.unexpected ? ' x' : ''}${p.retried ? ' rt' : ''}`;
  return html`<td><span class="${cls}" data-mark="${p.mark}" style="${`background:${COLOR[p.mark]}`}" title="${title}">${LETTER[p.mark]}</span></td>`;
}

function flakyCell(c: CellHistory): Markup {
  const why = `${c.flips} change(s) over ${c.judged} judged run(s): rate ${c.flips}/${Math.max(c.judged - 1, 0)}`;
  if (c.flaky) return html`<td class="side"><span class="flaky" title="${why}">flaky ${pct(c.flakyRate)}</span></td>`;
  return html`<td class="side note" title="${why}">${c.flips === 1 ? '1 change' : ''}</td>`;
}

function regressionCell(active: HistoryRegression | undefined): Markup {
  if (!active) return html`<td class="side"></td>`;
  return html`<td class="side reg" title="${`${active.from} → ${active.latest}`}">since #${active.startedRun}</td>`;
}

/** The grid: one row per cell under its target, one column per run (oldest left), then flakiness and an active regression. */
function grid(h: HistoryResult): Markup {
  const activeBy = new Map(h.regressions.filter((r) => r.active).map((r) => [`${r.target}/${r.scenario}`, r]));
  const cols = html`<colgroup><col style="width:200px">${h.runs.map(() => html`<col>`)}<col style="width:84px"><col style="width:84px"></colgroup>`;
  const head = html`<thead><tr><th class="name">cell</th>${h.runs.map((r) => html`<th class="runno" title="${`${r.name}: ${r.judged} of ${r.cells} cell(s) judged, wall ${secs(r.durationMs)}`}">${r.index}</th>`)}<th class="runno">flaky</th><th class="runno">regression</th></tr></thead>`;
  const rows: Markup[] = [];
  let target = '';
  for (const c of h.cells) {
    if (c.target !== target) {
      target = c.target;
      rows.push(html`<tr class="tgt"><th colspan="${h.runs.length + 3}">${c.target}</th></tr>`);
    }
    const active = activeBy.get(`${c.target}/${c.scenario}`);
    rows.push(html`<tr data-cell="${`${c.target}/${c.scenario}`}"${active ? html` class="active"` : ''}><th class="name">${c.scenario} <span class="note">${c.bug}</span></th>${c.series.map((p, i) => mark(p, h.runs[i]!))}${flakyCell(c)}${regressionCell(active)}</tr>`);
  }
  return html`<table class="hist" id="history-grid">${cols}${head}<tbody>${rows}</tbody></table>`;
}

function legend(): Markup {
  const item = (m: HistoryMark, label: string) => html`<span class="item"><span class="mk${m === 'NOT_RUN' ? ' none' : ''}" style="${`background:${COLOR[m]}`}">${LETTER[m]}</span>${label}</span>`;
  return html`<p class="legend note">${(Object.keys(LETTER) as HistoryMark[]).map((m) => item(m, m === 'NOT_RUN' ? 'not in the run' : m))}<span class="item"><span class="mk x" style="background:#9e9e9e"></span>not the expected verdict</span><span class="item"><span class="mk rt" style="background:#9e9e9e"></span>retried on a fresh boot</span></p>`;
}

export interface HistoryHtmlInputs {
  /** Where the page is written: the links to each run's report are relative to it. */
  htmlDir: string;
}

const cellName = (x: { target: string; scenario: string }) => html`<b>${x.target}</b> · ${x.scenario}`;

/** A cell's regressions in one row: the newest stretch, and the earlier ones in a note. */
function regressionRow(h: HistoryResult, eps: HistoryRegression[]): Markup {
  const [r, ...earlier] = [...eps].sort((a, b) => b.startedRun - a.startedRun);
  const moved = html`${badge(r!.from)} → ${badge(r!.to)}${r!.latest !== r!.to ? html` → ${badge(r!.latest)}` : ''}`;
  const against = r!.against === 'expected' ? 'its expectation' : 'its stable verdict (no expectation)';
  const started = html`${runLabel(h.runs, r!.startedRun)}${r!.sinceOldest ? html` <span class="note">or earlier (the first kept run that judged it)</span>` : ''}`;
  const active = r!.active ? html`<span class="reg">yes</span>` : html`no — back in ${runLabel(h.runs, r!.endedRun)}`;
  const before = earlier.length > 0 && html`<div class="note">${earlier.length} earlier: ${earlier.map((e) => `#${e.startedRun}–${e.endedRun !== undefined ? `#${e.endedRun}` : 'now'}`).join(', ')}</div>`;
  return html`<tr><td>${cellName(r!)}</td><td>${moved}</td><td class="note">${against}</td><td>${started}</td><td>${active}${before}</td></tr>`;
}

/** Still-active regressions in the open, ended ones folded. */
function regressionsHtml(h: HistoryResult): Markup {
  if (!h.regressions.length) return html`<p class="ok">No verdict moved away from its expectation (or from its stable verdict) in these runs.</p>`;
  const byCell = new Map<string, HistoryRegression[]>();
  for (const r of h.regressions) byCell.set(`${r.target}/${r.scenario}`, [...(byCell.get(`${r.target}/${r.scenario}`) ?? []), r]);
  const groups = [...byCell.values()];
  const isActive = (eps: HistoryRegression[]) => eps.some((e) => e.active);
  const head = html`<tr><th>cell</th><th>verdict</th><th>against</th><th>started in run</th><th>still active</th></tr>`;
  const table = (gs: HistoryRegression[][]) => html`<table>${head}${gs.map((g) => regressionRow(h, g))}</table>`;
  const active = groups.filter(isActive);
  const ended = groups.filter((g) => !isActive(g));
  return html`${active.length ? html`<div id="regressions-active">${table(active)}</div>` : html`<p class="ok">None still active.</p>`}
${ended.length > 0 && html`<details id="regressions-ended"${ended.length <= 5 ? html` open` : ''}><summary>${ended.length} cell(s) whose regression ended</summary>${table(ended)}</details>`}`;
}

/** ERROR stretches: the ones still ERROR, and those a later run recovered from (folded when many). */
function errorsHtml(h: HistoryResult): Markup | undefined {
  if (!h.errors.length) return undefined;
  const row = (e: HistoryResult['errors'][number]) => {
    const short = e.error.length > 140 ? `${e.error.slice(0, 140)}…` : e.error;
    const after = e.recoveredRun !== undefined ? html`${runLabel(h.runs, e.recoveredRun)} → ${badge(e.recoveredTo!)}` : html`<span class="reg">still ERROR</span>`;
    return html`<tr><td>${cellName(e)}</td><td>${runLabel(h.runs, e.startedRun)}</td><td>${e.runs}</td><td>${after}</td><td class="note" title="${e.error}">${short}</td></tr>`;
  };
  const recovered = h.errors.filter((e) => e.recoveredRun !== undefined).length;
  return html`<h2>ERRORs</h2><details id="errors"${h.errors.length <= 10 ? html` open` : ''}><summary>${recovered} recovered, ${h.errors.length - recovered} still ERROR — the lab could not judge the cell (boot, SSH, timeout, USB stall)</summary>
<table><tr><th>cell</th><th>ERROR from run</th><th>runs</th><th>recovered in run</th><th>first error</th></tr>${[...h.errors].sort((a, b) => b.startedRun - a.startedRun).map(row)}</table></details>`;
}

function retriesCell(t: TargetHistory): Markup {
  if (!t.retries.length) return html`<td class="ok">0</td>`;
  return html`<td><details><summary class="reg">${t.retries.length} retried</summary><ul>${t.retries.map((r) => html`<li>#${r.run} ${r.scenario}: <span class="note">${r.reason}</span></li>`)}</ul></details></td>`;
}

function usbCell(t: TargetHistory): Markup {
  if (!t.usb.bursts) return html`<td class="muted">no burst</td>`;
  const runs = t.usb.runsWithStalls.length > 0 && html`<div class="note">in run ${t.usb.runsWithStalls.map((r) => `#${r}`).join(', ')}</div>`;
  return html`<td class="${t.usb.stalls ? 'reg' : 'ok'}">${t.usb.stalls} of ${t.usb.bursts} (${pct(t.usb.stalls / t.usb.bursts)})${runs}</td>`;
}

const CELLS_COLOR = '#1565c0';
const BUILD_COLOR = '#ef6c00';

/** Per target: retried cells, USB stalls, and its cells' and build's time per run as a plot on the runs' common x axis. */
function targetsHtml(h: HistoryResult): Markup {
  const n = h.runs.length;
  const wall = runPlot([{ color: '#555', points: h.runs.map((r) => ({ run: r.index, value: r.durationMs, title: `#${r.index} ${day(r.startedAt)}: wall ${secs(r.durationMs)}` })) }], n, secs, 'wall time per run');
  const rows = h.targets.map((t) => {
    const title = (d: TargetHistory['durations'][number]) => `#${d.run}: cells ${secs(d.cellsMs)}, build ${d.buildMs !== undefined ? secs(d.buildMs) : '—'}, ${d.boots} boot(s)`;
    const cells = { color: CELLS_COLOR, points: t.durations.map((d) => ({ run: d.run, value: d.cellsMs, title: title(d) })) };
    const build = { color: BUILD_COLOR, points: t.durations.filter((d) => d.buildMs !== undefined).map((d) => ({ run: d.run, value: d.buildMs!, title: title(d) })) };
    return html`<tr><td><b>${t.target}</b></td>${retriesCell(t)}${usbCell(t)}<td>${runPlot([build, cells], n, secs, `${t.target}: time per run`)}</td></tr>`;
  });
  const key = html`<span style="${`color:${CELLS_COLOR}`}">cells</span> and <span style="${`color:${BUILD_COLOR}`}">build</span> per run, runs 1–${n} (hover a point; ▲ above the scale)`;
  return html`<table id="targets"><tr><th>target</th><th>retried cells</th><th>USB bursts stalled</th><th>${key}</th></tr>
<tr><td class="muted">whole run (wall)</td><td></td><td></td><td>${wall}</td></tr>${rows}</table>`;
}

/** The runs read (folded) and the ones that could not be read (in the open: a gap in the grid is explained here). */
function runsHtml(h: HistoryResult, htmlDir: string): Markup {
  const rel = (file: string) => path.relative(htmlDir, path.join(path.dirname(file), 'report.html')).split(path.sep).map(encodeURIComponent).join('/');
  const bad = h.unreadable.length > 0 && html`<p class="reg">Not read:</p><ul id="unreadable">${h.unreadable.map((u) => html`<li><code>${u.name}</code>: ${u.reason}</li>`)}</ul>`;
  const rows = h.runs.map((r) => html`<tr><td>#${r.index}</td><td><a href="${rel(r.file)}">${r.name}</a></td><td>${day(r.startedAt)}</td><td>${secs(r.durationMs)}</td><td>${r.judged} of ${r.cells}</td></tr>`);
  return html`${bad}<details id="runs"><summary>${h.runs.length} run(s) read from <code>${h.runsDir}</code></summary><table><tr><th>run</th><th>directory (its report)</th><th>started</th><th>wall</th><th>cells judged</th></tr>${rows}</table></details>`;
}

function summary(h: HistoryResult): Markup {
  const active = h.regressions.filter((r) => r.active).length;
  const flaky = h.cells.filter((c) => c.flaky).length;
  const recovered = h.errors.filter((e) => e.recoveredRun !== undefined).length;
  return html`<p id="summary"><span class="${active ? 'reg' : 'ok'}">${active} regression(s) still active</span>, ${h.regressions.length - active} ended · <span class="${flaky ? 'reg' : 'ok'}">${flaky} flaky cell(s)</span> · ${recovered} ERROR stretch(es) recovered, ${h.errors.length - recovered} still ERROR · ${h.unreadable.length ? html`<span class="reg">${h.unreadable.length} run(s) unreadable</span>` : '0 runs unreadable'}</p>`;
}

/** The page of the kept runs. */
export function historyHtml(h: HistoryResult, inputs: HistoryHtmlInputs): string {
  const first = h.runs[0];
  const last = h.runs.at(-1);
  const span = first && last ? `, ${day(first.startedAt)} → ${day(last.startedAt)}` : '';
  const targets = new Set(h.cells.map((c) => c.target)).size;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reprolab history: ${h.runs.length} runs</title><style>${trusted(REPORT_CSS)}${trusted(HISTORY_CSS)}</style></head>
<body>
<h1>reprolab history</h1>
<p class="muted">${h.runs.length} run(s) read from <code>${h.runsDir}</code>${span} (oldest left, newest right); ${h.cells.length} cell(s) on ${targets} target(s).</p>
${summary(h)}
<h2>Regressions</h2>
${regressionsHtml(h)}
<h2>Verdicts over the runs</h2>
${legend()}
${h.runs.length ? grid(h) : html`<p class="muted">No run could be read.</p>`}
<p class="note">Flaky: the cell's outcome (a verdict, or ERROR) changed and changed again over the runs that judged it; its rate is changes / (runs judged − 1). A regression: a verdict (not ERROR) other than the cell's expect.json verdict — or, with no expectation, other than the verdict it last held two judged runs in a row — from the run where it started until a run judges it back. Hover a mark for its run and summary.</p>
${errorsHtml(h)}
<h2>Targets: retries, USB stalls, durations</h2>
${targetsHtml(h)}
<h2>Runs</h2>
${runsHtml(h, inputs.htmlDir)}
</body></html>
`.text;
}
