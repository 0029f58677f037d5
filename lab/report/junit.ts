import { type MatrixCellResult, type MatrixResult } from '../model/matrix-result.ts';
import { escapeXml } from './escape.ts';

const attrs = (a: Record<string, string | number>): string =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');

function details(c: MatrixCellResult): string {
  const lines = [`verdict: ${c.verdict ?? 'skipped'}${c.expected ? ` (expected ${c.expected})` : ' (no expectation recorded)'}`];
  if (c.rate) lines.push(`rate: unpatched showed the symptom in ${c.rate.reproduced}/${c.rate.repeats} repeats`);
  for (const v of c.variants) lines.push(`${v.role} ${v.variant}: ${v.outcome} ${v.symptom}${v.evidence?.length ? ` [${v.evidence.join(', ')}]` : ''}`);
  const key = Object.entries(c.key).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  if (key) lines.push(`measured: ${key}`);
  if (c.retried) lines.push(`retried: ${c.retried}`);
  if (c.evidenceDir) lines.push(`evidence: ${c.evidenceDir}`);
  if (c.consoleLog) lines.push(`console: ${c.consoleLog}`);
  return lines.join('\n');
}

function testcase(c: MatrixCellResult, regression: string | undefined): string {
  const head = `    <testcase${attrs({ classname: `reprolab.${c.target}`, name: `${c.scenario} (${c.bug})`, time: (c.durationMs / 1000).toFixed(3) })}>`;
  const body: string[] = [];
  if (c.status === 'skipped') body.push(`      <skipped${attrs({ message: c.summary })}/>`);
  else if (c.verdict === 'ERROR') body.push(`      <error${attrs({ type: 'ERROR', message: c.summary })}>${escapeXml(details(c))}</error>`);
  else if (regression) body.push(`      <failure${attrs({ type: 'REGRESSION', message: regression })}>${escapeXml(details(c))}</failure>`);
  else if (!c.asExpected) {
    const message = c.expected ? `expected ${c.expected}, got ${c.verdict}: ${c.summary}` : `no expectation recorded for ${c.verdict}: ${c.summary}`;
    body.push(`      <failure${attrs({ type: 'UNEXPECTED_VERDICT', message })}>${escapeXml(details(c))}</failure>`);
  }
  if (c.status === 'ran') body.push(`      <system-out>${escapeXml(details(c))}</system-out>`);
  return [head, ...body, '    </testcase>'].join('\n');
}

/**
 * JUnit XML as Jenkins and GitLab read it: a testsuite per target, a testcase
 * per target × scenario; an unexpected verdict or a regression is a failure
 * (its message is the symptom, its body names the evidence), ERROR is an error.
 */
export function matrixJUnit(r: MatrixResult): string {
  const regressions = new Map((r.comparison?.regressions ?? []).map((x) => [`${x.target}/${x.scenario}`, `changed since the previous run: ${x.before} → ${x.after}`]));
  const reg = (c: MatrixCellResult) => regressions.get(`${c.target}/${c.scenario}`);
  const counts = (cells: MatrixCellResult[]) => ({
    tests: cells.length,
    failures: cells.filter((c) => c.status === 'ran' && c.verdict !== 'ERROR' && (!c.asExpected || reg(c))).length,
    errors: cells.filter((c) => c.status === 'ran' && c.verdict === 'ERROR').length,
    skipped: cells.filter((c) => c.status === 'skipped').length,
  });
  const suites = r.plan.targets.map((target) => {
    const cells = r.cells.filter((c) => c.target === target);
    const time = cells.reduce((s, c) => s + c.durationMs, 0) / 1000;
    return [
      `  <testsuite${attrs({ name: target, ...counts(cells), time: time.toFixed(3), timestamp: r.startedAt.replace(/Z$/, '') })}>`,
      ...cells.map((c) => testcase(c, reg(c))),
      '  </testsuite>',
    ].join('\n');
  });
  const total = { ...counts(r.cells), time: (r.durationMs / 1000).toFixed(3) };
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name: 'reprolab matrix', ...total })}>`, ...suites, '</testsuites>', ''].join('\n');
}
