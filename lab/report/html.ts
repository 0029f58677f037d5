import path from 'node:path';
import { type VerdictChange } from '../model/matrix-result.ts';
import { type MatrixCellResult, type MatrixResult, type MatrixSweepResult } from '../model/matrix-result.ts';
import { FETCH_HINT, missingSources } from './missing-sources.ts';
import { thresholdText } from '../scenarios/sweep.ts';
import { findScenario } from '../scenarios/registry.ts';
import { notPackable } from '../scenarios/portable.ts';
import { escapeXml as esc } from './escape.ts';

const VERDICT_COLORS: Record<string, string> = {
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
table.grid td.cell{text-align:center;min-width:84px}table.grid th{max-width:220px;overflow-wrap:anywhere}table.grid{font-size:13px}
.v{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;font-weight:600;font-size:12px;text-decoration:none}
.unexpected{outline:3px solid #d50000;outline-offset:-3px}
.note{font-size:11px;color:#555}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
.reg{color:#b71c1c;font-weight:600}.ok{color:#1b5e20}
details{margin:6px 0;border:1px solid #e0e0e0;padding:4px 10px}summary{cursor:pointer}
.sweeps{display:flex;flex-wrap:wrap;gap:12px}.sweepbox{flex:1 1 620px;max-width:760px}.sweep svg{max-width:100%;height:auto}
`;

export interface HtmlInputs {
  /** Directory the HTML file is written to: evidence links are relative to it. */
  htmlDir: string;
  /** Sweep SVGs by path, inlined so the page stands alone. */
  svgs: Map<string, string>;
  /** Sweep SVGs that could not be read, with why: said in the report, never a silent blank. */
  svgsMissing?: Map<string, string>;
}

const cellAnchor = (c: { target: string; scenario: string }) => `cell-${c.target}-${c.scenario}`.replace(/[^A-Za-z0-9_-]/g, '_');

function link(abs: string | undefined, label: string, htmlDir: string): string {
  if (!abs) return '';
  const rel = path.relative(htmlDir, abs).split(path.sep).map(encodeURIComponent).join('/');
  return `<a href="${esc(rel)}">${esc(label)}</a>`;
}

const OUTCOME_COLORS: Record<string, string> = { PASS: '#2e7d32', FAIL: '#c62828', ERROR: '#e65100' };

function badge(verdict: string, href?: string, color = VERDICT_COLORS[verdict]): string {
  const style = `background:${color ?? '#555'}`;
  return href ? `<a class="v" style="${style}" href="${esc(href)}">${esc(verdict)}</a>` : `<span class="v" style="${style}">${esc(verdict)}</span>`;
}

function gridCell(c: MatrixCellResult | undefined): string {
  if (!c) return '<td class="cell muted">—</td>';
  if (c.status === 'skipped') return `<td class="cell" title="${esc(c.summary)}">${badge('SKIPPED')}</td>`;
  const verdict = c.verdict ?? 'ERROR';
  const rate = c.rate ? `${c.rate.reproduced}/${c.rate.repeats}` : '';
  const exp = c.expected ? (c.asExpected ? '<span class="ok">as expected</span>' : `<span class="reg">expected ${esc(c.expected)}</span>`) : '<span class="reg">no expectation</span>';
  return `<td class="cell${c.asExpected ? '' : ' unexpected'}" data-verdict="${esc(verdict)}">${badge(verdict, `#${cellAnchor(c)}`)}<div class="note">${rate}${c.retried ? ' · retried' : ''}<br>${exp}</div></td>`;
}

function grid(r: MatrixResult): string {
  const byId = new Map(r.cells.map((c) => [`${c.target}/${c.scenario}`, c]));
  const bugOf = (s: string) => r.cells.find((c) => c.scenario === s)?.bug ?? '';
  const head = `<tr><th>target</th>${r.plan.scenarios.map((s) => `<th>${esc(s)}<div class="note">${esc(bugOf(s))}</div></th>`).join('')}</tr>`;
  const rows = r.plan.targets.map((t) => {
    const target = r.targets.find((x) => x.target === t);
    const sub = target?.status === 'ran' ? `${target.boots} boot(s)${target.buildSeconds !== undefined ? `, build ${target.buildSeconds.toFixed(1)} s` : ''}` : target ? `${target.status === 'skipped' ? 'skipped: sources missing' : target.status} (below)` : 'not in this shard';
    return `<tr><th>${esc(t)}<div class="note">${esc(sub)}</div></th>${r.plan.scenarios.map((s) => gridCell(byId.get(`${t}/${s}`))).join('')}</tr>`;
  });
  return `<table class="grid" id="verdict-grid"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function changes(r: MatrixResult): string {
  const c = r.comparison;
  if (!c) return '<p class="muted">No previous run to compare with (give one with --compare PREVIOUS.json).</p>';
  const list = (title: string, cls: string, xs: VerdictChange[]) =>
    xs.length ? `<h3 class="${cls}">${esc(title)} (${xs.length})</h3><ul>${xs.map((x) => `<li><a href="#${cellAnchor(x)}">${esc(x.target)} · ${esc(x.scenario)}</a>: ${badge(x.before)} → ${badge(x.after)}${x.nowExpected ? ' <span class="note">(new verdict is the expected one)</span>' : ''}</li>`).join('')}</ul>` : '';
  return [
    `<p>Against <code>${esc(c.previous.file)}</code> (${esc(c.previous.startedAt)}): <span class="${c.regressions.length ? 'reg' : 'ok'}">${c.regressions.length} regression(s)</span>, ${c.recovered.length} recovered, ${c.added.length} new, ${c.dropped.length} no longer run, ${c.unchanged} unchanged.</p>`,
    list('Regressions: verdicts that changed', 'reg', c.regressions),
    list('Recovered from ERROR', 'ok', c.recovered),
    list('New cells', '', c.added),
    list('No longer run', 'muted', c.dropped),
  ].join('\n');
}

/** How to hand a judged cell over (a repro pack), or why it cannot travel yet. */
function handOver(c: MatrixCellResult): string {
  if (!c.verdict || c.verdict === 'ERROR' || !c.evidenceDir) return '';
  const s = findScenario(c.scenario);
  const why = s ? notPackable(s) : undefined;
  if (why) return `<p class="note">No repro pack for ${esc(c.scenario)} yet: ${esc(why)}.</p>`;
  return `<p class="note">Hand it over: <code>reprolab${s?.definition?.builtin === false || !s ? ' --scenario-dir DIR' : ''} repro pack ${esc(c.evidenceDir)}</code> writes a tar.gz that reproduces this cell with only QEMU and sh.</p>`;
}

function detail(c: MatrixCellResult, htmlDir: string): string {
  if (c.status === 'skipped') return '';
  const variants = c.variants
    .map((v) => `<tr><td>${esc(v.role)}</td><td>${esc(v.variant)}</td><td>${badge(v.outcome, undefined, OUTCOME_COLORS[v.outcome])}</td><td>${esc(v.symptom)}</td><td>${(v.evidence ?? []).map((e) => link(e, path.basename(e), htmlDir)).join('<br>')}</td></tr>`)
    .join('');
  const key = Object.entries(c.key).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`).join('');
  const digests = Object.entries(c.digests ?? {}).map(([k, v]) => `<tr><td>${esc(k)}</td><td><code>${esc(v)}</code></td></tr>`).join('');
  const attempts = c.attempts.length > 1 ? `<p class="reg">Retried: ${esc(c.retried ?? '')}</p><ol>${c.attempts.map((a) => `<li>${badge(a.verdict)} ${(a.durationMs / 1000).toFixed(1)} s ${a.error ? esc(a.error.split('\n')[0]!) : ''} ${link(a.evidenceDir, 'evidence', htmlDir)}</li>`).join('')}</ol>` : '';
  return `<details id="${cellAnchor(c)}"${c.asExpected ? '' : ' open'}><summary>${badge(c.verdict ?? 'ERROR')} <b>${esc(c.target)}</b> · ${esc(c.scenario)} (${esc(c.bug)}) — ${esc(c.summary)}</summary>
<p>${esc(c.title)}. Expected: ${c.expected ? `${esc(c.expected)} — <span class="note">${esc(c.expectedNote ?? '')}</span>` : 'no expectation recorded'}. ${c.rate ? `Unpatched showed the symptom in ${c.rate.reproduced}/${c.rate.repeats} repeat(s).` : ''} ${(c.durationMs / 1000).toFixed(1)} s.</p>
${attempts}
<table><tr><th>role</th><th>variant</th><th>outcome</th><th>symptom</th><th>evidence</th></tr>${variants}</table>
${key ? `<h3>Measured</h3><table>${key}</table>` : ''}
<p>${[link(c.resultFile, 'result.json', htmlDir), link(c.evidenceDir, 'evidence directory', htmlDir), link(c.consoleLog, 'console log', htmlDir)].filter(Boolean).join(' · ')}</p>
${handOver(c)}
${c.uname ? `<p class="note">${esc(c.uname)}</p>` : ''}
${c.qemu ? `<h3>QEMU command line</h3><pre>${esc(c.qemu)}</pre>` : ''}
${digests ? `<h3>Digests</h3><table>${digests}</table>` : ''}
</details>`;
}

function sweep(s: MatrixSweepResult, inputs: HtmlInputs): string {
  const head = `<h3>${esc(s.scenario)} on ${esc(s.target)}: ${esc(s.axis)} ${esc(s.range)}</h3>`;
  if (s.status === 'skipped') return `<div class="sweepbox">${head}<p class="muted">not run: the target was skipped (see "Targets not run")</p></div>`;
  if (s.status !== 'ran') return `<div class="sweepbox">${head}<p class="reg">ERROR: ${esc(s.error ?? '')}</p></div>`;
  const svg = s.svg ? inputs.svgs.get(s.svg)?.replace(/^<\?xml[^>]*>\s*/, '') : undefined;
  const threshold = esc(thresholdText(s));
  const patched = s.patchedFailures.length ? `<span class="reg">patched did not pass at ${s.patchedFailures.join(', ')}</span>` : '<span class="ok">patched passed at every value</span>';
  return `<div class="sweepbox">${head}<p>${threshold}; ${patched}. ${link(s.json, 'sweep.json', inputs.htmlDir)}</p><div class="sweep">${svg ?? (s.svg ? `<p class="reg">plot missing: ${esc(s.svg)} could not be read (${esc(inputs.svgsMissing?.get(s.svg) ?? 'not given to the report')})</p>` : '')}</div></div>`;
}

/** The USB enumeration stall rate per target over the kept runs: a retry that happens most nights is a number here, not a habit. */
function usbStallsHtml(r: MatrixResult): string {
  const rows = (r.usbStalls ?? []).filter((u) => u.bursts > 0);
  if (!rows.length) return '';
  const cell = (u: (typeof rows)[number]) => `<tr><td>${esc(u.target)}</td><td class="${u.stalls ? 'reg' : 'ok'}">${u.stalls} of ${u.bursts} (${((100 * u.stalls) / u.bursts).toFixed(0)}%)</td><td>${u.runs}</td></tr>`;
  return `<h2>USB enumeration stalls</h2><p class="note">uevent USB bursts (one per repeat) lost because the guest's USB stack stalled — each such cell was retried on a fresh boot — over this run and the runs kept before it.</p><table id="usb-stalls"><tr><th>target</th><th>stalled bursts</th><th>runs</th></tr>${rows.map(cell).join('')}</table>`;
}

/** Each missing archive once, with the targets that need it and the one command that fetches them. */
function missingHtml(r: MatrixResult): string {
  const missing = missingSources(r);
  if (!missing.length) return '';
  const items = missing.map((m) => `<li><code>${esc(m.archive)}</code>, needed by ${m.targets.map(esc).join(', ')}<div class="note">${esc(m.fix)}</div></li>`).join('');
  return `<p id="missing-sources">Missing sources — fetch them with <code>${esc(FETCH_HINT)}</code> (on a machine with a network, or with <code>--mirror URL</code>), or put them where each line says:</p><ul>${items}</ul>`;
}

/** The morning page: what changed, the verdict grid, skipped targets, sweeps, and every cell's evidence. */
export function matrixHtml(r: MatrixResult, inputs: HtmlInputs): string {
  const ran = r.cells.filter((c) => c.status === 'ran');
  const unexpected = ran.filter((c) => !c.asExpected);
  const skippedTargets = r.targets.filter((t) => t.status !== 'ran');
  const summary = `${ran.length} cell(s) judged, ${ran.length - unexpected.length} as expected, <span class="${unexpected.length ? 'reg' : 'ok'}">${unexpected.length} not as expected</span>, ${ran.filter((c) => c.verdict === 'ERROR').length} ERROR, ${r.cells.length - ran.length} skipped`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reprolab matrix ${esc(r.startedAt)}</title><style>${REPORT_CSS}</style></head>
<body>
<h1>reprolab matrix</h1>
<p class="muted">Started ${esc(r.startedAt)}, wall time ${(r.durationMs / 1000).toFixed(0)} s, ${r.jobs} VM(s) at once on ${esc(r.host.hostname)} (${r.host.cpus} cores, ${r.host.memGiB} GiB)${(r.timeoutMultiplier ?? 1) !== 1 ? `, timeouts ×${r.timeoutMultiplier}` : ''}; shards ${r.shards.map((s) => `${s.index}/${s.count}`).join(', ')}; repeat ${r.plan.repeat}.</p>
<p id="summary">${summary}.</p>
<h2>Changed since the previous run</h2>
${changes(r)}
<h2>Verdicts</h2>
${grid(r)}
<p class="note">CONFIRMED: the unpatched variant shows the field symptom and the patched one does not. NOT_REPRODUCED: neither fails here. FIX_INEFFECTIVE: both fail. PATCH_REGRESSION: only the patched one fails. REPRODUCED: the symptom shows on a libc with no patched build. ERROR: the lab could not judge (boot, SSH, timeout). A red outline is a verdict other than the scenario's expect.json records.</p>
${skippedTargets.length ? `<h2>Targets not run</h2><ul>${skippedTargets.map((t) => `<li><b>${esc(t.target)}</b>: ${esc(t.reason ?? t.status)}</li>`).join('')}</ul>${missingHtml(r)}` : ''}
${usbStallsHtml(r)}
${r.sweeps.length ? `<h2>Sweeps</h2><div class="sweeps">${r.sweeps.map((s) => sweep(s, inputs)).join('\n')}</div>` : ''}
<h2>Cells</h2>
${ran.map((c) => detail(c, inputs.htmlDir)).join('\n')}
</body></html>
`;
}
