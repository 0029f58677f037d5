import fs from 'node:fs/promises';
import path from 'node:path';
import type { BisectResult } from '../model/bisect-result.ts';
import { escapeXml as esc } from './escape.ts';
import { REPORT_CSS } from './html.ts';

const STATE_COLORS: Record<string, string> = { symptom: '#c62828', clean: '#2e7d32', skip: '#9e9e9e', error: '#e65100' };
const OUTCOME_COLORS: Record<string, string> = { FOUND: '#1b5e20', AMBIGUOUS: '#e65100', ENDS_ALIKE: '#37474f', ENDS_UNEXPECTED: '#b71c1c', ERROR: '#e65100' };

const badge = (text: string, color: string) => `<span class="v" style="background:${color}">${esc(text)}</span>`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function rel(from: string, abs: string, label: string): string {
  const r = path.relative(from, abs).split(path.sep).map(encodeURIComponent).join('/');
  return `<a href="${esc(r)}">${esc(label)}</a>`;
}

/** The bisection as one page, in the matrix report's style: answer first, then every step, then how it was run. */
export function bisectHtml(r: BisectResult, htmlDir: string): string {
  const c = r.first;
  const answer = c
    ? `<table><tr><th>commit</th><td><code>${esc(c.commit)}</code>${c.mergeItself ? ' <b>(the merge itself: neither side alone behaves like it)</b>' : ''}</td></tr>
<tr><th>title</th><td>${esc(c.title)}</td></tr><tr><th>author</th><td>${esc(c.author)}</td></tr><tr><th>date</th><td>${esc(c.date)}</td></tr>
<tr><th>first release with it</th><td>${esc(c.firstRelease ?? '(none yet: no release tag contains it)')}</td></tr>
<tr><th>last revision before it</th><td>${r.lastOld ? `<code>${esc(r.lastOld.short)}</code> ${esc(r.lastOld.title)}` : ''}</td></tr>
<tr><th>diff</th><td><pre>${esc(c.diffStat)}</pre></td></tr></table>`
    : r.candidates
      ? `<p>One of:</p><ul>${r.candidates.map((x) => `<li><code>${esc(x.short)}</code> ${esc(x.title)}</li>`).join('')}</ul>`
      : '';
  const rows = r.steps
    .map(
      (s) => `<tr><td>${s.n}</td><td>${esc(s.phase)}</td><td><code>${esc(s.commit.short)}</code></td><td>${esc(s.commit.describe ?? '')}</td><td>${esc(s.version ?? '')}</td><td>${esc(s.commit.title)}</td>
<td>${s.built ? (s.builtNow ? 'built' : 'store') : 'no'}</td><td>${badge(s.state, STATE_COLORS[s.state] ?? '#555')}</td><td>${esc(s.rate)}</td><td class="note">${esc(s.detail)}${s.droppedOptions?.length ? `<br>config left out (not in this tree): ${esc(s.droppedOptions.join(' '))}` : ''}</td>
<td>${secs(s.buildMs)}</td><td>${secs(s.runMs)}</td><td>${s.reboots ? `${s.reboots}<br><span class="note">${esc(s.retryReason ?? '')}</span>` : ''}</td><td>${rel(htmlDir, s.evidenceDir, 'evidence')} · ${rel(htmlDir, s.buildLog, 'build log')}</td></tr>`,
    )
    .join('\n');
  const v = r.validation
    ? `<h2>Backport to uClibc 0.9.33.2 (validate-patch)</h2><p>${badge(r.validation.finding, r.validation.finding === 'FIXES' ? '#1b5e20' : '#b71c1c')} ${r.validation.appliesAsIs ? 'the commit applies as is' : 'the commit does <b>not</b> apply as is'} — ${rel(htmlDir, r.validation.patch, path.basename(r.validation.patch))}, ${rel(htmlDir, r.validation.outDir, 'evidence')}</p><pre>${esc(r.validation.detail)}</pre>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reprolab bisect ${esc(r.scenario)} ${esc(r.target)}</title><style>${REPORT_CSS}</style></head>
<body>
<h1>bisect: ${esc(r.scenario)} (${esc(r.bug)}) on ${esc(r.target)}</h1>
<p class="muted">${esc(r.repo)} · ${esc(r.old.describe ?? r.old.short)} → ${esc(r.new.describe ?? r.new.short)} · ${r.direction ? `${r.direction} bisection` : ''} · ${r.repeat} repeats per step · ${r.steps.length} steps, ${r.builds.now} built, ${r.builds.fromStore} from the store, ${r.builds.failed} did not build · ${r.boots} boot(s) · ${secs(r.durationMs)} · ${esc(r.startedAt)}</p>
<h2>Answer</h2>
<p>${badge(r.outcome, OUTCOME_COLORS[r.outcome] ?? '#555')} ${esc(r.message)}</p>
<p class="muted">Symptom rate over the steps that showed it: ${(r.confidence.rate * 100).toFixed(0)}% (95% lower bound p = ${(r.confidence.rateLow * 100).toFixed(0)}%); confidence that no clean step missed it, Π(1-(1-p)^R): ${(r.confidence.confidence * 100).toFixed(1)}%${r.confidence.flaky ? `; ${r.confidence.flaky} flaky step(s)` : ''}.</p>
${answer}
${v}
<h2>Steps</h2>
<table><tr><th>#</th><th>phase</th><th>commit</th><th>describe</th><th>version</th><th>title</th><th>built</th><th>state</th><th>symptom k/R</th><th>what it showed</th><th>build</th><th>run</th><th>reboots</th><th>files</th></tr>
${rows}</table>
<h2>Phases</h2>
<table><tr><th>phase</th><th>from</th><th>to</th><th>revisions</th><th>outcome</th></tr>
${r.phases.map((p) => `<tr><td>${esc(p.kind)}</td><td><code>${esc(p.from.slice(0, 12))}</code></td><td><code>${esc(p.to.slice(0, 12))}</code></td><td>${p.size}</td><td>${esc(p.outcome)}</td></tr>`).join('\n')}</table>
<p class="muted">${rel(htmlDir, path.join(r.outDir, 'bisect.json'), 'bisect.json')}</p>
</body></html>
`;
}

export async function writeBisectHtml(file: string, r: BisectResult): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, bisectHtml(r, path.dirname(file)));
  await fs.rename(tmp, file);
}
