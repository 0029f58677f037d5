import path from 'node:path';
import { type VerdictChange } from '../model/matrix-result.ts';
import { type MatrixCellResult, type MatrixResult, type MatrixSweepResult } from '../model/matrix-result.ts';
import { FETCH_HINT, missingSources } from './missing-sources.ts';
import { thresholdText } from '../scenarios/sweep.ts';
import { findScenario } from '../scenarios/registry.ts';
import { notPackable } from '../scenarios/portable.ts';
import { html, join, trusted, type Markup } from './markup.ts';

export const VERDICT_COLORS: Record<string, string> = {
  CONFIRMED: '#1b5e20',
  REPRODUCED: '#1b5e20',
  NOT_REPRODUCED: '#37474f',
  FIX_INEFFECTIVE: '#b71c1c',
  PATCH_REGRESSION: '#b71c1c',
  ERROR: '#e65100',
  SKIPPED: '#9e9e9e',
};

export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px;color:#212121;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#666}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
table.grid td.cell{text-align:center;min-width:76px}table.grid tbody th{min-width:10em;overflow-wrap:normal}table.grid th{max-width:220px;overflow-wrap:anywhere}table.grid{font-size:13px}
.v{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px;text-decoration:none}
.unexpected{outline:3px solid #d50000;outline-offset:-3px}
.note{font-size:11px;color:#555}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
.reg{color:#b71c1c;font-weight:600}.ok{color:#1b5e20}
details{margin:6px 0;border:1px solid #e0e0e0;padding:4px 10px}summary{cursor:pointer}
.sweeps{display:flex;flex-wrap:wrap;gap:12px}.sweepbox{flex:1 1 620px;max-width:760px}.sweep img{max-width:100%;height:auto}
`;

export interface HtmlInputs {
  /** Directory the HTML file is written to: evidence links are relative to it. */
  htmlDir: string;
  /** Sweep SVGs by path, shown as images (a plot is a picture, never markup of the page: a script in it does not run). */
  svgs: Map<string, string>;
  /** Sweep SVGs that could not be read, with why: said in the report, never a silent blank. */
  svgsMissing?: Map<string, string>;
  /** The history page of the runs directory this run is kept in, relative to the page (`reprolab report history` writes it). */
  historyHref?: string;
}

const cellAnchor = (c: { target: string; scenario: string }) => `cell-${c.target}-${c.scenario}`.replace(/[^A-Za-z0-9_-]/g, '_');

function link(abs: string | undefined, label: string, htmlDir: string): Markup | undefined {
  if (!abs) return undefined;
  const rel = path.relative(htmlDir, abs).split(path.sep).map(encodeURIComponent).join('/');
  return html`<a href="${rel}">${label}</a>`;
}

const OUTCOME_COLORS: Record<string, string> = { PASS: '#2e7d32', FAIL: '#c62828', ERROR: '#e65100' };

export function badge(verdict: string, href?: string, color = VERDICT_COLORS[verdict]): Markup {
  const style = `background:${color ?? '#555'}`;
  // A line may break after an underscore (NOT_ REPRODUCED): the grid keeps to the window as scenarios are added.
  const text = join(verdict.split('_'), html`_<wbr>`);
  return href ? html`<a class="v" style="${style}" href="${href}">${text}</a>` : html`<span class="v" style="${style}">${text}</span>`;
}

function gridCell(c: MatrixCellResult | undefined): Markup {
  if (!c) return html`<td class="cell muted">—</td>`;
  if (c.status === 'skipped') return html`<td class="cell" title="${c.summary}">${badge('SKIPPED')}</td>`;
  const verdict = c.verdict ?? 'ERROR';
  const rate = c.rate ? `${c.rate.reproduced}/${c.rate.repeats}` : '';
  const exp = c.expected ? (c.asExpected ? html`<span class="ok">as expected</span>` : html`<span class="reg">expected ${c.expected}</span>`) : html`<span class="reg">no expectation</span>`;
  return html`<td class="cell${c.asExpected ? '' : ' unexpected'}" data-verdict="${verdict}">${badge(verdict, `#${cellAnchor(c)}`)}<div class="note">${rate}${c.retried ? ' · retried' : ''}<br>${exp}</div></td>`;
}

function grid(r: MatrixResult): Markup {
  const byId = new Map(r.cells.map((c) => [`${c.target}/${c.scenario}`, c]));
  const bugOf = (s: string) => r.cells.find((c) => c.scenario === s)?.bug ?? '';
  const head = html`<tr><th>target</th>${r.plan.scenarios.map((s) => html`<th>${s}<div class="note">${bugOf(s)}</div></th>`)}</tr>`;
  const rows = r.plan.targets.map((t) => {
    const target = r.targets.find((x) => x.target === t);
    const sub = target?.status === 'ran' ? `${target.boots} boot(s)${target.buildSeconds !== undefined ? `, build ${target.buildSeconds.toFixed(1)} s` : ''}` : target ? `${target.status === 'skipped' ? 'skipped: sources missing' : target.status} (below)` : 'not in this shard';
    return html`<tr><th>${t}<div class="note">${sub}</div></th>${r.plan.scenarios.map((s) => gridCell(byId.get(`${t}/${s}`)))}</tr>`;
  });
  return html`<table class="grid" id="verdict-grid"><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

function changes(r: MatrixResult): Markup {
  const c = r.comparison;
  if (!c) return html`<p class="muted">No previous run to compare with (give one with --compare PREVIOUS.json).</p>`;
  const list = (title: string, cls: string, xs: VerdictChange[]) =>
    xs.length > 0 && html`<h3 class="${cls}">${title} (${xs.length})</h3><ul>${xs.map((x) => html`<li><a href="#${cellAnchor(x)}">${x.target} · ${x.scenario}</a>: ${badge(x.before)} → ${badge(x.after)}${x.nowExpected && html` <span class="note">(new verdict is the expected one)</span>`}</li>`)}</ul>`;
  return join(
    [
      html`<p>Against <code>${c.previous.file}</code> (${c.previous.startedAt}): <span class="${c.regressions.length ? 'reg' : 'ok'}">${c.regressions.length} regression(s)</span>, ${c.recovered.length} recovered, ${c.added.length} new, ${c.dropped.length} no longer run, ${c.unchanged} unchanged.</p>`,
      list('Regressions: verdicts that changed', 'reg', c.regressions),
      list('Recovered from ERROR', 'ok', c.recovered),
      list('New cells', '', c.added),
      list('No longer run', 'muted', c.dropped),
    ].map((x) => x || ''),
    '\n',
  );
}

/** How to hand a judged cell over (a repro pack), or why it cannot travel yet. */
function handOver(c: MatrixCellResult): Markup | undefined {
  if (!c.verdict || c.verdict === 'ERROR' || !c.evidenceDir) return undefined;
  const s = findScenario(c.scenario);
  const why = s ? notPackable(s) : undefined;
  if (why) return html`<p class="note">No repro pack for ${c.scenario} yet: ${why}.</p>`;
  return html`<p class="note">Hand it over: <code>reprolab${s?.definition?.builtin === false || !s ? ' --scenario-dir DIR' : ''} repro pack ${c.evidenceDir}</code> writes a tar.gz that reproduces this cell with only QEMU and sh.</p>`;
}

function detail(c: MatrixCellResult, htmlDir: string): Markup | undefined {
  if (c.status === 'skipped') return undefined;
  const variants = c.variants.map(
    (v) => html`<tr><td>${v.role}</td><td>${v.variant}</td><td>${badge(v.outcome, undefined, OUTCOME_COLORS[v.outcome])}</td><td>${v.symptom}</td><td>${join((v.evidence ?? []).map((e) => link(e, path.basename(e), htmlDir)), html`<br>`)}</td></tr>`,
  );
  const key = Object.entries(c.key).map(([k, v]) => html`<tr><td>${k}</td><td>${String(v)}</td></tr>`);
  const digests = Object.entries(c.digests ?? {}).map(([k, v]) => html`<tr><td>${k}</td><td><code>${v}</code></td></tr>`);
  const attempts = c.attempts.length > 1 && html`<p class="reg">Retried: ${c.retried ?? ''}</p><ol>${c.attempts.map((a) => html`<li>${badge(a.verdict)} ${(a.durationMs / 1000).toFixed(1)} s ${a.error ? a.error.split('\n')[0]! : ''} ${link(a.evidenceDir, 'evidence', htmlDir)}</li>`)}</ol>`;
  const links = [link(c.resultFile, 'result.json', htmlDir), link(c.evidenceDir, 'evidence directory', htmlDir), link(c.consoleLog, 'console log', htmlDir)].filter((l) => l !== undefined);
  return html`<details id="${cellAnchor(c)}"${c.asExpected ? '' : html` open`}><summary>${badge(c.verdict ?? 'ERROR')} <b>${c.target}</b> · ${c.scenario} (${c.bug}) — ${c.summary}</summary>
<p>${c.title}. Expected: ${c.expected ? html`${c.expected} — <span class="note">${c.expectedNote ?? ''}</span>` : 'no expectation recorded'}. ${c.rate ? `Unpatched showed the symptom in ${c.rate.reproduced}/${c.rate.repeats} repeat(s).` : ''} ${(c.durationMs / 1000).toFixed(1)} s.</p>
${attempts}
<table><tr><th>role</th><th>variant</th><th>outcome</th><th>symptom</th><th>evidence</th></tr>${variants}</table>
${key.length > 0 && html`<h3>Measured</h3><table>${key}</table>`}
<p>${join(links, ' · ')}</p>
${handOver(c)}
${c.uname && html`<p class="note">${c.uname}</p>`}
${c.qemu && html`<h3>QEMU command line</h3><pre>${c.qemu}</pre>`}
${digests.length > 0 && html`<h3>Digests</h3><table>${digests}</table>`}
</details>`;
}

function sweep(s: MatrixSweepResult, inputs: HtmlInputs): Markup {
  const head = html`<h3>${s.scenario} on ${s.target}: ${s.axis} ${s.range}</h3>`;
  if (s.status === 'skipped') return html`<div class="sweepbox">${head}<p class="muted">not run: the target was skipped (see "Targets not run")</p></div>`;
  if (s.status !== 'ran') return html`<div class="sweepbox">${head}<p class="reg">ERROR: ${s.error ?? ''}</p></div>`;
  const svg = s.svg ? inputs.svgs.get(s.svg) : undefined;
  // A data: image, not inline markup: the plot's text is the lab's or a shard's, and neither runs in this page.
  const plot = svg !== undefined
    ? html`<img alt="${`${s.scenario} on ${s.target}: sweep over ${s.axis}`}" src="${`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`}">`
    : s.svg && html`<p class="reg">plot missing: ${s.svg} could not be read (${inputs.svgsMissing?.get(s.svg) ?? 'not given to the report'})</p>`;
  const patched = s.patchedFailures.length ? html`<span class="reg">patched did not pass at ${s.patchedFailures.join(', ')}</span>` : html`<span class="ok">patched passed at every value</span>`;
  return html`<div class="sweepbox">${head}<p>${thresholdText(s)}; ${patched}. ${link(s.json, 'sweep.json', inputs.htmlDir)}</p><div class="sweep">${plot}</div></div>`;
}

/** The USB enumeration stall rate per target over the kept runs: a retry that happens most nights is a number here, not a habit. */
function usbStallsHtml(r: MatrixResult): Markup | undefined {
  const rows = (r.usbStalls ?? []).filter((u) => u.bursts > 0);
  if (!rows.length) return undefined;
  const cell = (u: (typeof rows)[number]) => html`<tr><td>${u.target}</td><td class="${u.stalls ? 'reg' : 'ok'}">${u.stalls} of ${u.bursts} (${((100 * u.stalls) / u.bursts).toFixed(0)}%)</td><td>${u.runs}</td></tr>`;
  return html`<h2>USB enumeration stalls</h2><p class="note">uevent USB bursts (one per repeat) lost because the guest's USB stack stalled — each such cell was retried on a fresh boot — over this run and the runs kept before it.</p><table id="usb-stalls"><tr><th>target</th><th>stalled bursts</th><th>runs</th></tr>${rows.map(cell)}</table>`;
}

/** Each missing archive once, with the targets that need it and the one command that fetches them. */
function missingHtml(r: MatrixResult): Markup | undefined {
  const missing = missingSources(r);
  if (!missing.length) return undefined;
  const items = missing.map((m) => html`<li><code>${m.archive}</code>, needed by ${m.targets.join(', ')}<div class="note">${m.fix}</div></li>`);
  return html`<p id="missing-sources">Missing sources — fetch them with <code>${FETCH_HINT}</code> (on a machine with a network, or with <code>--mirror URL</code>), or put them where each line says:</p><ul>${items}</ul>`;
}

/** The morning page: what changed, the verdict grid, skipped targets, sweeps, and every cell's evidence. */
export function matrixHtml(r: MatrixResult, inputs: HtmlInputs): string {
  const ran = r.cells.filter((c) => c.status === 'ran');
  const unexpected = ran.filter((c) => !c.asExpected);
  const skippedTargets = r.targets.filter((t) => t.status !== 'ran');
  // A cell skipped on a target that ran says its own reason (a scenario LAVA cannot run); the others are the target's.
  const ranTargets = new Set(r.targets.filter((t) => t.status === 'ran').map((t) => t.target));
  const skippedCells = r.cells.filter((c) => c.status === 'skipped' && ranTargets.has(c.target));
  const summary = html`${ran.length} cell(s) judged, ${ran.length - unexpected.length} as expected, <span class="${unexpected.length ? 'reg' : 'ok'}">${unexpected.length} not as expected</span>, ${ran.filter((c) => c.verdict === 'ERROR').length} ERROR, ${r.cells.length - ran.length} skipped`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reprolab matrix ${r.startedAt}</title><style>${trusted(REPORT_CSS)}</style></head>
<body>
<h1>reprolab matrix</h1>
<p class="muted">Started ${r.startedAt}, wall time ${(r.durationMs / 1000).toFixed(0)} s, ${r.jobs} VM(s) at once on ${r.host.hostname} (${r.host.cpus} cores, ${r.host.memGiB} GiB)${(r.timeoutMultiplier ?? 1) !== 1 ? `, timeouts ×${r.timeoutMultiplier}` : ''}; shards ${r.shards.map((s) => `${s.index}/${s.count}`).join(', ')}; repeat ${r.plan.repeat}.${inputs.historyHref && html` <a href="${inputs.historyHref}">History of the kept runs</a> (written by <code>reprolab report history</code>).`}</p>
<p id="summary">${summary}.</p>
<h2>Changed since the previous run</h2>
${changes(r)}
<h2>Verdicts</h2>
${grid(r)}
<p class="note">CONFIRMED: the unpatched variant shows the field symptom and the patched one does not. NOT_REPRODUCED: neither fails here. FIX_INEFFECTIVE: both fail. PATCH_REGRESSION: only the patched one fails. REPRODUCED: the symptom shows on a libc with no patched build. ERROR: the lab could not judge (boot, SSH, timeout). A red outline is a verdict other than the scenario's expect.json records.</p>
${skippedTargets.length > 0 && html`<h2>Targets not run</h2><ul>${skippedTargets.map((t) => html`<li><b>${t.target}</b>: ${t.reason ?? t.status}</li>`)}</ul>${missingHtml(r)}`}
${skippedCells.length > 0 && html`<h2>Cells not run</h2><ul>${skippedCells.map((c) => html`<li><b>${c.target}</b> · ${c.scenario}${c.bug ? ` (${c.bug})` : ''}: ${c.summary}</li>`)}</ul>`}
${usbStallsHtml(r)}
${r.sweeps.length > 0 && html`<h2>Sweeps</h2><div class="sweeps">${join(r.sweeps.map((s) => sweep(s, inputs)), '\n')}</div>`}
<h2>Cells</h2>
${join(ran.map((c) => detail(c, inputs.htmlDir)), '\n')}
</body></html>
`.text;
}
